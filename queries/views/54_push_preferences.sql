-- name: push_preferences
-- title: 学习推送订阅
-- description: One row per member who ever chose about the weekly study digest: their
--   latest `study.push_opted_out` / `study.push_opted_in`. opted_out is true when the
--   latest is an opt-out; a member with no row gets the digest.
CREATE VIEW push_preferences AS
SELECT member_id, event_type = 'study.push_opted_out' AS opted_out, occurred_at AS chosen_at
FROM (
    SELECT member_id, event_type, occurred_at,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type IN ('study.push_opted_out', 'study.push_opted_in')
)
WHERE rn = 1
