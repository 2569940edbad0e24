-- name: chi2_branch_attendance
-- title: 支部与参会情况的卡方检验
-- description: Pearson's chi-square test of independence between the branch and the
--   attendance status (present / excused / absent) of meeting invitations, per year
--   (China time), across the branches of each college and across all branches of the
--   university — does attendance depend on the branch? Invitations are counted as in
--   `attendance_rates` (a later record for the same member and meeting replaces an earlier
--   one; a Party group's meetings count for its branch). Fields as `chi2_grade_rating`:
--   chi2, dof, p_value, Cramér's V, n, min_expected, cells_below_5, and reliable (no
--   expected count below 1, at most 20 % of cells below 5). A college with one branch has
--   nothing to compare: chi2, p_value and cramers_v are NULL. Materialised once a day.
-- grain: org (college, university) × year
-- schedule: 0 0 3 * * *
-- materialise: true
WITH
-- Each unit (a branch or a group) with the orgs its figures count for: its college (level 2)
-- and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 2 AND 3
),
records AS (
    SELECT org_id, CAST(substr(month, 1, 4) AS BIGINT) AS year, status
    FROM attendance_latest
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, x.year,
           count(DISTINCT r.branch_id) AS branches,
           count(DISTINCT x.status) AS statuses,
           chi2_test(r.branch_id, x.status) AS t
    FROM records x
    JOIN rollup r ON r.unit_id = x.org_id
    WHERE r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, x.year
)
SELECT org_id, org_name, org_kind, parent_id, year,
       t['n'] AS n,
       CAST(branches AS BIGINT) AS branches,
       CAST(statuses AS BIGINT) AS statuses,
       t['chi2'] AS chi2,
       t['dof'] AS dof,
       t['p_value'] AS p_value,
       t['cramers_v'] AS cramers_v,
       t['min_expected'] AS min_expected,
       t['cells_below_5'] AS cells_below_5,
       t['min_expected'] >= 1 AND t['cells_below_5'] <= 0.2 * branches * statuses AS reliable
FROM tested
