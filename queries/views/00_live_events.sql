-- name: live_events
-- title: 有效事件
-- description: Every event that has not been retracted by an `event.retracted`, with its
--   local (China Standard Time) date. Every other view reads this, never `events`, so a
--   correction disappears from every figure at once. Retractions are final: retracting
--   a retraction does not bring the event back.
CREATE VIEW live_events AS
SELECT
    e.event_id,
    e.event_type,
    e.occurred_at,
    e.recorded_at,
    e.org_id,
    e.member_id,
    e.actor_id,
    e.payload,
    e.schema_version,
    CAST(e.month AS VARCHAR) AS month,
    china_date(e.occurred_at) AS occurred_on
FROM events e
WHERE e.event_type <> 'event.retracted'
  AND e.event_id NOT IN (
    SELECT json_get_str(r.payload, 'event_id')
    FROM events r
    WHERE r.event_type = 'event.retracted'
      AND json_get_str(r.payload, 'event_id') IS NOT NULL
  )
