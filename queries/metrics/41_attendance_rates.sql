-- name: attendance_rates
-- title: 组织生活参会率
-- description: Attendance at meetings of organisational life, per member and month and per
--   org and month. Every `meeting.attended` record is an invitation; attendance_rate =
--   present / invited, where invited counts present, excused (请假) and absent alike: an
--   excused member was expected and did not take part, so leave lowers the rate (it is
--   shown apart in `excused` so a chart can tell leave from absence). A member recorded
--   twice for one meeting counts once, with the later record (a correction). The month
--   is the meeting's (China time). Meetings of a Party group count for the group's branch,
--   and for the group itself.
--   Rows — per member, month and branch of the meeting (level = member), and sums per
--   Party group (its own meetings, level = group), branch, college and university (level =
--   org kind); months without any invitation have no row.
-- grain: member × month; org (group, branch, college, university) × month
-- schedule: 0 10 * * * *
-- materialise: true
WITH
-- Each unit (a branch or a group) with the orgs its figures count for: a group itself
-- (level 0), its branch (1), college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 0 AND 3
),
records AS (
    SELECT member_id, org_id, month, status
    FROM attendance_latest
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
    JOIN rollup r ON r.unit_id = a.org_id
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
