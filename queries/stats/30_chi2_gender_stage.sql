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
-- Each unit (a branch or a group) with the orgs its figures count for: its college (level 2)
-- and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 2 AND 3
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
