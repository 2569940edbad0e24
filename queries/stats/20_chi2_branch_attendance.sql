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
latest AS (
    SELECT a.org_id, a.month, a.status,
           ROW_NUMBER() OVER (
               PARTITION BY a.meeting_id, a.member_id
               ORDER BY e.occurred_at DESC, e.recorded_at DESC, e.event_id DESC) AS rn
    FROM attendance a
    JOIN live_events e ON e.event_id = a.event_id
),
records AS (
    SELECT org_id, CAST(substr(month, 1, 4) AS BIGINT) AS year, status
    FROM latest
    WHERE rn = 1
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
