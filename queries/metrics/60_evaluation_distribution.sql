-- name: evaluation_distribution
-- title: 民主评议党员结果分布
-- description: The ratings of the democratic evaluation of members (民主评议党员) per org
--   and evaluation year: how many members were rated, the count and share of each rating
--   (excellent 优秀, qualified 合格, basically_qualified 基本合格, unqualified 不合格),
--   and whether excellent stays within the limit of at most ${excellent_share_limit} of
--   those rated (a third by the rules; compared with a 1e-9 tolerance so 1/3 of 3 is
--   within). A later submission for the same member and year replaces an earlier one (the
--   `evaluations` view). A rating counts for the org the event names; a Party group's for
--   its branch. College and university rows pool their branches' ratings, so their flag
--   says whether the pooled share is within the limit.
-- grain: org (branch, college, university) × year
-- schedule: 0 30 2 * * *
-- materialise: true
-- param.excellent_share_limit: 1.0 / 3
WITH
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
ratings AS (
    SELECT org_id, CAST(year AS BIGINT) AS year, rating
    FROM evaluations
),
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, x.year,
           count(*) AS rated,
           sum(CASE WHEN x.rating = 'excellent' THEN 1 ELSE 0 END) AS excellent,
           sum(CASE WHEN x.rating = 'qualified' THEN 1 ELSE 0 END) AS qualified,
           sum(CASE WHEN x.rating = 'basically_qualified' THEN 1 ELSE 0 END) AS basically_qualified,
           sum(CASE WHEN x.rating = 'unqualified' THEN 1 ELSE 0 END) AS unqualified
    FROM ratings x
    JOIN rollup r ON r.unit_id = x.org_id
    WHERE r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, x.year
)
SELECT org_id, org_name, org_kind, parent_id, year,
       CAST(rated AS BIGINT) AS rated,
       CAST(excellent AS BIGINT) AS excellent,
       CAST(qualified AS BIGINT) AS qualified,
       CAST(basically_qualified AS BIGINT) AS basically_qualified,
       CAST(unqualified AS BIGINT) AS unqualified,
       CAST(excellent AS DOUBLE) / rated AS excellent_share,
       CAST(qualified AS DOUBLE) / rated AS qualified_share,
       CAST(basically_qualified AS DOUBLE) / rated AS basically_qualified_share,
       CAST(unqualified AS DOUBLE) / rated AS unqualified_share,
       CAST(excellent AS DOUBLE) <= rated * (${excellent_share_limit}) + 1e-9 AS excellent_within_limit
FROM counted
