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
-- Each unit (a branch or a group) with the orgs its figures count for: a group itself
-- (level 0), its branch (1), college (2) and university (3).
rollup AS (
    SELECT t.org_id AS unit_id, t.branch_id, l.n,
           CASE l.n WHEN 0 THEN CASE WHEN t.kind = 'group' THEN t.org_id END
                    WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 0 THEN t.name WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 0 THEN 'group' WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 0 THEN t.branch_id WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (0), (1), (2), (3)) AS l(n)
    WHERE t.kind IN ('branch', 'group')
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
    SELECT member_id, org_id, month, status
    FROM latest
    WHERE rn = 1
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
