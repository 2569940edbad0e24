-- name: meetings
-- title: 三会一课及组织生活
-- description: One row per meeting held (`meeting.held`), with its kind, the local month
--   and quarter it fell in (China Standard Time) — the periods the 支部工作条例 counts in.
--   A projection: kept as a table from each commit's `meeting.*` events (only the meetings
--   they touch are computed again); `live.meetings` computes it from every event.
-- projection.key: meeting_id
-- projection.events: meeting.%
CREATE VIEW meetings AS
SELECT event_id,
       meeting_id,
       org_id,
       kind,
       json_get_str(payload, 'title') AS title,
       json_get_float(payload, 'duration_minutes') AS duration_minutes,
       occurred_at,
       occurred_on,
       month,
       concat(substr(month, 1, 4), '-Q', CAST((CAST(substr(month, 6, 2) AS INT) + 2) / 3 AS VARCHAR)) AS quarter
FROM live_events
WHERE event_type = 'meeting.held'
