-- name: chi2_gender_stage
-- title: 性别与发展阶段的卡方检验
-- description: Pearson's chi-square test of independence between gender and the current
--   development stage (applicant, activist, development_target, probationary,
--   full_member; people registered only are left out, they are not in the pipeline),
--   over the active people of each college and of the university, as of the latest month
--   with any live event (`month`). Fields as `chi2_grade_rating`: chi2, dof, p_value,
--   Cramér's V, n, min_expected, cells_below_5, and reliable (no expected count below 1,
--   at most 20 % of cells below 5). Materialised once a day.
-- grain: org (college, university), as of the latest month
-- schedule: 0 0 3 * * *
-- materialise: true
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
-- The org tree from a single read of `orgs` (every read of that view projects the events
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
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id,
           count(DISTINCT p.gender) AS genders,
           count(DISTINCT p.stage) AS stages,
           chi2_test(p.gender, p.stage) AS t
    FROM people p
    JOIN rollup r ON r.unit_id = p.org_id
    WHERE p.status = 'active' AND p.stage <> 'none' AND r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id
)
SELECT x.org_id, x.org_name, x.org_kind, x.parent_id, a.month,
       x.t['n'] AS n,
       CAST(x.genders AS BIGINT) AS genders,
       CAST(x.stages AS BIGINT) AS stages,
       x.t['chi2'] AS chi2,
       x.t['dof'] AS dof,
       x.t['p_value'] AS p_value,
       x.t['cramers_v'] AS cramers_v,
       x.t['min_expected'] AS min_expected,
       x.t['cells_below_5'] AS cells_below_5,
       x.t['min_expected'] >= 1 AND x.t['cells_below_5'] <= 0.2 * x.genders * x.stages AS reliable
FROM tested x
CROSS JOIN asof a
