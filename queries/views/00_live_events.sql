-- name: live_events
-- title: 有效事件
-- description: Every event that has not been retracted by an `event.retracted`, with its
--   local (China Standard Time) date. Every other view reads this, never `events`, so a
--   correction disappears from every figure at once. Retractions are final: retracting
--   a retraction does not bring the event back. The typed payload columns of `events`
--   (meeting_id, kind, status, period, amount_fen, resource_id, minutes, quiz_id, score,
--   max_score, stage, year, rating) come along: views read them, not the JSON text.
--   Written as `(retracted ids) RIGHT ANTI JOIN events` so that the join's hash table
--   holds the few retracted ids, not every event id (`e.event_id NOT IN (…)` is a
--   null-aware anti join, which must build on `events`: 780 MB and seconds per read at
--   9M events).
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
    e.meeting_id,
    e.kind,
    e.status,
    e.period,
    e.amount_fen,
    e.resource_id,
    e.minutes,
    e.quiz_id,
    e.score,
    e.max_score,
    e.stage,
    e.year,
    e.rating,
    CAST(e.month AS VARCHAR) AS month,
    china_date(e.occurred_at) AS occurred_on
FROM (
    SELECT DISTINCT r.retracts
    FROM events r
    WHERE r.event_type = 'event.retracted'
      AND r.retracts IS NOT NULL
) retracted
RIGHT ANTI JOIN events e ON e.event_id = retracted.retracts
WHERE e.event_type <> 'event.retracted'
