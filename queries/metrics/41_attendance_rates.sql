-- name: attendance_rates
-- title: 组织生活参会率
-- description: Attendance at meetings of organisational life, per member and month and per
--   org and month. Every `meeting.attended` record is an invitation; attendance_rate =
--   present / invited, where invited counts present, excused (请假) and absent alike: an
--   excused member was expected and did not take part, so leave lowers the rate (it is
--   shown apart in `excused` so a chart can tell leave from absence). A member recorded
--   twice for one meeting counts once, with the later record (a correction). The month
--   is the meeting's (China time). Meetings of a Party group count for the group's branch.
--   Rows — per member, month and branch of the meeting (level = member), and sums per
--   branch, college and university (level = org kind); months without any invitation
--   have no row.
-- grain: member × month; org (branch, college, university) × month
-- schedule: 0 10 * * * *
-- materialise: true
WITH tree AS (
    SELECT b.org_id AS branch_id,
           b.name AS b_name, b.parent_id AS b_parent,
           c.org_id AS c_id, c.name AS c_name, c.kind AS c_kind, c.parent_id AS c_parent,
           u.org_id AS u_id, u.name AS u_name, u.kind AS u_kind, u.parent_id AS u_parent
    FROM orgs b
    LEFT JOIN orgs c ON c.org_id = b.parent_id
    LEFT JOIN orgs u ON u.org_id = c.parent_id
    WHERE b.kind = 'branch'
),
rollup AS (
    SELECT t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (1), (2), (3)) AS l(n)
),
groups AS (
    SELECT org_id AS group_id, parent_id AS branch_id FROM orgs WHERE kind = 'group'
),
latest AS (
    SELECT a.member_id, a.org_id, a.month, a.status,
           ROW_NUMBER() OVER (
               PARTITION BY a.meeting_id, a.member_id
               ORDER BY e.occurred_at DESC, e.recorded_at DESC, e.event_id DESC) AS rn
    FROM attendance a
    JOIN live_events e ON e.event_id = a.event_id
),
records AS (
    SELECT l.member_id, COALESCE(g.branch_id, l.org_id) AS branch_id, l.month, l.status
    FROM latest l
    LEFT JOIN groups g ON g.group_id = l.org_id
    WHERE l.rn = 1
),
-- One pass makes both the member rows (kept at the branch level only) and the org rows.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, a.member_id, a.month,
           grouping(a.member_id) AS is_org_row,
           count(*) AS invited,
           sum(CASE WHEN a.status = 'present' THEN 1 ELSE 0 END) AS present,
           sum(CASE WHEN a.status = 'excused' THEN 1 ELSE 0 END) AS excused,
           sum(CASE WHEN a.status = 'absent' THEN 1 ELSE 0 END) AS absent
    FROM records a
    JOIN rollup r ON r.branch_id = a.branch_id
    WHERE r.org_id IS NOT NULL
    GROUP BY GROUPING SETS (
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, a.month),
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, a.member_id, a.month))
    HAVING grouping(a.member_id) = 1 OR r.n = 1
)
SELECT CASE WHEN is_org_row = 1 THEN org_kind ELSE 'member' END AS level,
       org_id, org_name, org_kind, parent_id, member_id, month,
       CAST(invited AS BIGINT) AS invited,
       CAST(present AS BIGINT) AS present,
       CAST(excused AS BIGINT) AS excused,
       CAST(absent AS BIGINT) AS absent,
       CAST(present AS DOUBLE) / invited AS attendance_rate
FROM counted
