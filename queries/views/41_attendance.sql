-- name: attendance
-- title: 参会情况
-- description: One row per invited member and meeting (`meeting.attended`): present,
--   excused or absent, with the meeting's kind, org and time when the meeting is known.
CREATE VIEW attendance AS
SELECT a.event_id,
       a.meeting_id,
       a.member_id,
       COALESCE(m.org_id, a.org_id) AS org_id,
       a.status,
       m.kind AS meeting_kind,
       COALESCE(m.occurred_at, a.occurred_at) AS occurred_at,
       COALESCE(m.month, a.month) AS month
FROM live_events a
LEFT JOIN meetings m ON m.meeting_id = a.meeting_id
WHERE a.event_type = 'meeting.attended'
