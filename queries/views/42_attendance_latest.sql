-- name: attendance_latest
-- title: 参会情况（最终记录）
-- description: The attendance that counts: for each meeting and invited member, the latest
--   `meeting.attended` record (a correction is recorded as a new record; the one that
--   occurred last wins, then the one recorded last, then the larger event id). The columns
--   of `attendance`, one row per meeting and member: the meeting's kind, org, time and
--   month when the meeting is known, else the first record's (a correction comes after the
--   meeting). Read with ordered aggregates rather than a window over `attendance`, which
--   keeps a query's memory small. The models and the rules read it (the rules in their
--   session of what had occurred by the evaluation, so there it is the latest record then).
--   A projection: kept as a table from each commit's `meeting.*` events (only the meetings
--   they touch are computed again); `live.attendance_latest` computes it from every event.
-- projection.key: meeting_id
-- projection.events: meeting.%
CREATE VIEW attendance_latest AS
SELECT r.event_id,
       r.meeting_id,
       r.member_id,
       COALESCE(m.org_id, r.org_id) AS org_id,
       r.status,
       m.kind AS meeting_kind,
       COALESCE(m.occurred_at, r.occurred_at) AS occurred_at,
       COALESCE(m.month, r.month) AS month
FROM (
    SELECT member_id,
           meeting_id,
           last_value(event_id ORDER BY occurred_at, recorded_at, event_id) AS event_id,
           last_value(status ORDER BY occurred_at, recorded_at, event_id) AS status,
           first_value(org_id ORDER BY occurred_at, recorded_at, event_id) AS org_id,
           min(occurred_at) AS occurred_at,
           first_value(month ORDER BY occurred_at, recorded_at, event_id) AS month
    FROM live_events
    WHERE event_type = 'meeting.attended'
    GROUP BY member_id, meeting_id
) r
LEFT JOIN meetings m ON m.meeting_id = r.meeting_id
