-- name: dues_monthly
-- title: 党费按月缴纳率
-- description: Share of Party members who have paid their dues for each month.
--   A member is due for month m when they are a probationary or full member and m lies
--   between the month of their admission as a probationary member (or, for someone who
--   arrived as a member, the month of their transfer in) and the as-of month — the latest
--   month with any live event — or, for someone who left or transferred out, the month
--   they left (dues are paid to the old branch up to the month of the transfer).
--   Paid means a live `dues.paid` for that member and period, whenever it was paid; paid
--   on time means one was made by the end of the period month (China time).
--   Rows — one per due member and month (level = member, members_due = 1, paid 0/1), and
--   the sums per branch, college and university (level = org kind).
--   paid_share = members_paid / members_due; on_time_share = members_paid_on_time / members_due.
-- grain: member × month; org (branch, college, university) × month
-- schedule: 0 5 * * * *
-- materialise: true
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
members AS (
    SELECT p.member_id,
           p.org_id AS branch_id,
           to_char(china_date(COALESCE(p.probationary_at, p.transferred_in_at)), '%Y-%m') AS first_month,
           CASE WHEN p.status = 'active' THEN a.month
                ELSE least(a.month, to_char(china_date(COALESCE(p.left_at, p.transferred_out_at)), '%Y-%m'))
           END AS last_month
    FROM people p
    CROSS JOIN asof a
    WHERE p.stage IN ('probationary', 'full_member')
      AND COALESCE(p.probationary_at, p.transferred_in_at) IS NOT NULL
),
member_months AS (
    SELECT member_id, branch_id,
           unnest(generate_series(
               CAST(substr(first_month, 1, 4) AS BIGINT) * 12 + CAST(substr(first_month, 6, 2) AS BIGINT) - 1,
               CAST(substr(last_month, 1, 4) AS BIGINT) * 12 + CAST(substr(last_month, 6, 2) AS BIGINT) - 1
           )) AS month_index
    FROM members
),
due AS (
    SELECT member_id, branch_id,
           concat(CAST(month_index / 12 AS VARCHAR), '-', lpad(CAST(month_index % 12 + 1 AS VARCHAR), 2, '0')) AS month
    FROM member_months
),
paid AS (
    SELECT member_id, period,
           max(CASE WHEN to_char(occurred_on, '%Y-%m') <= period THEN 1 ELSE 0 END) AS on_time
    FROM dues
    GROUP BY member_id, period
),
member_rows AS (
    SELECT d.member_id, d.branch_id, d.month,
           CASE WHEN p.member_id IS NULL THEN 0 ELSE 1 END AS paid,
           COALESCE(p.on_time, 0) AS paid_on_time
    FROM due d
    LEFT JOIN paid p ON p.member_id = d.member_id AND p.period = d.month
),
-- One pass makes both the member rows (kept at the branch level only) and the org rows.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month,
           grouping(m.member_id) AS is_org_row,
           count(*) AS members_due,
           sum(m.paid) AS members_paid,
           sum(m.paid_on_time) AS members_paid_on_time
    FROM member_rows m
    JOIN rollup r ON r.unit_id = m.branch_id
    WHERE r.org_id IS NOT NULL
    GROUP BY GROUPING SETS (
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.month),
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month))
    HAVING grouping(m.member_id) = 1 OR r.n = 1
)
SELECT CASE WHEN is_org_row = 1 THEN org_kind ELSE 'member' END AS level,
       org_id, org_name, org_kind, parent_id, member_id, month,
       CAST(members_due AS BIGINT) AS members_due,
       CAST(members_paid AS BIGINT) AS members_paid,
       CAST(members_paid_on_time AS BIGINT) AS members_paid_on_time,
       CAST(members_paid AS DOUBLE) / members_due AS paid_share,
       CAST(members_paid_on_time AS DOUBLE) / members_due AS on_time_share
FROM counted
