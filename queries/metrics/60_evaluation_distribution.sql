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
WITH -- The org tree from a single read of `orgs` (every read of that view projects the events
-- anew, so self-joins are dear): each branch and Party group (a unit) with its branch,
-- college and university. Window functions partitioned by an ancestor's id hand the
-- ancestor's attributes down to the rows below it.
org_rows AS (
    SELECT org_id, name, kind, parent_id,
           CASE kind WHEN 'group' THEN parent_id WHEN 'branch' THEN org_id END AS branch_id
    FROM orgs
),
with_branch AS (
    SELECT r.*,
           max(CASE WHEN org_id = branch_id THEN name END) OVER (PARTITION BY branch_id) AS b_name,
           max(CASE WHEN org_id = branch_id THEN parent_id END) OVER (PARTITION BY branch_id) AS b_parent
    FROM org_rows r
),
with_college AS (
    SELECT w.*,
           max(CASE WHEN org_id = c_id THEN name END) OVER (PARTITION BY c_id) AS c_name,
           max(CASE WHEN org_id = c_id THEN kind END) OVER (PARTITION BY c_id) AS c_kind,
           max(CASE WHEN org_id = c_id THEN parent_id END) OVER (PARTITION BY c_id) AS c_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN b_parent ELSE org_id END AS c_id
        FROM with_branch
    ) w
),
tree AS (
    SELECT w.*,
           max(CASE WHEN org_id = u_id THEN name END) OVER (PARTITION BY u_id) AS u_name,
           max(CASE WHEN org_id = u_id THEN kind END) OVER (PARTITION BY u_id) AS u_kind,
           max(CASE WHEN org_id = u_id THEN parent_id END) OVER (PARTITION BY u_id) AS u_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN c_parent ELSE org_id END AS u_id
        FROM with_college
    ) w
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT t.org_id AS unit_id, t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (1), (2), (3)) AS l(n)
    WHERE t.kind IN ('branch', 'group')
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
