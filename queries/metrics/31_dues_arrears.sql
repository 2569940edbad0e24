-- name: dues_arrears
-- title: 党费欠缴
-- description: Members in arrears with their dues, as of the latest month with any live
--   event. months_owed is the run of consecutive unpaid due months ending at (and
--   including) that month — months paid late count as paid, earlier gaps followed by a
--   payment do not count. Read from the member rows of `dues_monthly`, so "due" and "paid"
--   mean exactly what they mean there; only members still due in the as-of month are
--   listed (a member who left earlier owes nothing here). Buckets follow the warning rule
--   (3 months: warning, 6 months: regarded as having given up membership):
--   owing_0, owing_1_2, owing_3_5, owing_6_plus.
--   Rows — one per member (level = member, members = 1, the bucket flags 0/1), and the
--   counts per branch, college and university (level = org kind).
-- grain: member (as of the latest month); org (branch, college, university)
-- schedule: 0 5 * * * *
-- materialise: true
WITH due AS (
    SELECT member_id, org_id AS branch_id, month, members_paid
    FROM dues_monthly
    WHERE level = 'member'
),
per_member AS (
    SELECT member_id, branch_id,
           min(month) AS first_due_month,
           max(month) AS last_due_month,
           max(CASE WHEN members_paid = 1 THEN month END) AS last_paid_period
    FROM due
    GROUP BY member_id, branch_id
),
with_asof AS (
    SELECT *, max(last_due_month) OVER () AS asof_month
    FROM per_member
),
owed AS (
    SELECT member_id, branch_id, asof_month, last_paid_period,
           (CAST(substr(asof_month, 1, 4) AS BIGINT) * 12 + CAST(substr(asof_month, 6, 2) AS BIGINT))
           - CASE WHEN last_paid_period IS NULL
                  THEN CAST(substr(first_due_month, 1, 4) AS BIGINT) * 12 + CAST(substr(first_due_month, 6, 2) AS BIGINT) - 1
                  ELSE CAST(substr(last_paid_period, 1, 4) AS BIGINT) * 12 + CAST(substr(last_paid_period, 6, 2) AS BIGINT)
             END AS months_owed
    FROM with_asof
    WHERE last_due_month = asof_month
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
-- One pass makes both the member rows (kept at the branch level only) and the org rows.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, o.member_id, o.asof_month,
           grouping(o.member_id) AS is_org_row,
           max(o.months_owed) AS months_owed,
           max(o.last_paid_period) AS last_paid_period,
           count(*) AS members,
           sum(CASE WHEN o.months_owed = 0 THEN 1 ELSE 0 END) AS owing_0,
           sum(CASE WHEN o.months_owed BETWEEN 1 AND 2 THEN 1 ELSE 0 END) AS owing_1_2,
           sum(CASE WHEN o.months_owed BETWEEN 3 AND 5 THEN 1 ELSE 0 END) AS owing_3_5,
           sum(CASE WHEN o.months_owed >= 6 THEN 1 ELSE 0 END) AS owing_6_plus
    FROM owed o
    JOIN rollup r ON r.unit_id = o.branch_id
    WHERE r.org_id IS NOT NULL
    GROUP BY GROUPING SETS (
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, o.asof_month),
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, o.member_id, o.asof_month))
    HAVING grouping(o.member_id) = 1 OR r.n = 1
)
SELECT CASE WHEN is_org_row = 1 THEN org_kind ELSE 'member' END AS level,
       org_id, org_name, org_kind, parent_id, member_id,
       asof_month AS month,
       CASE WHEN is_org_row = 1 THEN CAST(NULL AS BIGINT) ELSE CAST(months_owed AS BIGINT) END AS months_owed,
       CASE WHEN is_org_row = 1 THEN CAST(NULL AS VARCHAR) ELSE last_paid_period END AS last_paid_period,
       CAST(members AS BIGINT) AS members,
       CAST(owing_0 AS BIGINT) AS owing_0,
       CAST(owing_1_2 AS BIGINT) AS owing_1_2,
       CAST(owing_3_5 AS BIGINT) AS owing_3_5,
       CAST(owing_6_plus AS BIGINT) AS owing_6_plus
FROM counted
