-- name: chi2_grade_rating
-- title: 年级与民主评议结果的卡方检验
-- description: Pearson's chi-square test of independence between a member's grade (entry
--   year) and their rating in the democratic evaluation, per evaluation year, for each
--   college (its branches' ratings) and for the university. From `chi2_test`: chi2, dof,
--   p_value, Cramér's V, n, the smallest expected count and the number of cells whose
--   expected count is below 5; grades and ratings count the categories seen (the table is
--   grades × ratings). reliable is the usual rule for the chi-square approximation: no
--   expected count below 1 and at most 20 % of the cells below 5 — small colleges will
--   often fail it, and the cockpit should say so rather than hide the test. Materialised
--   (once a day) like the metrics: the cockpit reads it on every screen, the inputs change
--   slowly, and analysts can still run `chi2_test` live.
-- grain: org (college, university) × year
-- schedule: 0 0 3 * * *
-- materialise: true
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
-- Each unit (a branch or a group) with the orgs its figures count for: its college (level 2)
-- and university (3).
rollup AS (
    SELECT t.org_id AS unit_id, t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (2), (3)) AS l(n)
    WHERE t.kind IN ('branch', 'group')
),
rated AS (
    SELECT e.org_id, CAST(e.year AS BIGINT) AS year, e.rating,
           CAST(p.grade AS VARCHAR) AS grade
    FROM evaluations e
    JOIN people p ON p.member_id = e.member_id
    WHERE p.grade IS NOT NULL
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, x.year,
           count(DISTINCT x.grade) AS grades,
           count(DISTINCT x.rating) AS ratings,
           chi2_test(x.grade, x.rating) AS t
    FROM rated x
    JOIN rollup r ON r.unit_id = x.org_id
    WHERE r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, x.year
)
SELECT org_id, org_name, org_kind, parent_id, year,
       t['n'] AS n,
       CAST(grades AS BIGINT) AS grades,
       CAST(ratings AS BIGINT) AS ratings,
       t['chi2'] AS chi2,
       t['dof'] AS dof,
       t['p_value'] AS p_value,
       t['cramers_v'] AS cramers_v,
       t['min_expected'] AS min_expected,
       t['cells_below_5'] AS cells_below_5,
       t['min_expected'] >= 1 AND t['cells_below_5'] <= 0.2 * grades * ratings AS reliable
FROM tested
