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
WITH tree AS (
    SELECT b.org_id AS branch_id,
           c.org_id AS c_id, c.name AS c_name, c.kind AS c_kind, c.parent_id AS c_parent,
           u.org_id AS u_id, u.name AS u_name, u.kind AS u_kind, u.parent_id AS u_parent
    FROM orgs b
    LEFT JOIN orgs c ON c.org_id = b.parent_id
    LEFT JOIN orgs u ON u.org_id = c.parent_id
    WHERE b.kind = 'branch'
),
rollup AS (
    SELECT t.branch_id,
           CASE l.n WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (2), (3)) AS l(n)
),
groups AS (
    SELECT org_id AS group_id, parent_id AS branch_id FROM orgs WHERE kind = 'group'
),
latest AS (
    SELECT a.org_id, a.month, a.status,
           ROW_NUMBER() OVER (
               PARTITION BY a.meeting_id, a.member_id
               ORDER BY e.occurred_at DESC, e.recorded_at DESC, e.event_id DESC) AS rn
    FROM attendance a
    JOIN live_events e ON e.event_id = a.event_id
),
records AS (
    SELECT COALESCE(g.branch_id, l.org_id) AS branch_id,
           CAST(substr(l.month, 1, 4) AS BIGINT) AS year, l.status
    FROM latest l
    LEFT JOIN groups g ON g.group_id = l.org_id
    WHERE l.rn = 1
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, x.year,
           count(DISTINCT x.branch_id) AS branches,
           count(DISTINCT x.status) AS statuses,
           chi2_test(x.branch_id, x.status) AS t
    FROM records x
    JOIN rollup r ON r.branch_id = x.branch_id
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
