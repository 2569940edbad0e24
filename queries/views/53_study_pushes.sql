-- name: study_pushes
-- title: 学习推荐记录
-- description: One row per resource the weekly push recommended to a member
--   (`study.recommended`): the week (its Monday, China date), the rank, the reasons in
--   Chinese and the signals behind them (a JSON array: quiz_gap, stage_required,
--   behind_pace, peers), recommended_at the instant it was recorded. mailed_at is when that
--   week's digest to the member was accepted (`study.digest_sent`), NULL when it was not
--   (no e-mail address, opted out, or the mail server refused). completed_at is the
--   member's first `study.completed` of the resource after the recommendation, if any.
CREATE VIEW study_pushes AS
WITH pushed AS (
    SELECT member_id, org_id, resource_id,
           CAST(json_get_str(payload, 'week') AS DATE) AS week,
           CAST(json_get_int(payload, 'rank') AS BIGINT) AS rank,
           json_get_str(payload, 'reason') AS reason,
           json_get_json(payload, 'signals') AS signals,
           json_get_str(payload, 'topic') AS topic,
           occurred_at AS recommended_at
    FROM live_events
    WHERE event_type = 'study.recommended'
),
mailed AS (
    SELECT member_id, CAST(json_get_str(payload, 'week') AS DATE) AS week, min(occurred_at) AS mailed_at
    FROM live_events
    WHERE event_type = 'study.digest_sent'
    GROUP BY member_id, CAST(json_get_str(payload, 'week') AS DATE)
),
completed AS (
    SELECT p.member_id, p.resource_id, p.week, min(s.occurred_at) AS completed_at
    FROM pushed p
    JOIN live_events s
      ON s.event_type = 'study.completed'
     AND s.member_id = p.member_id
     AND s.resource_id = p.resource_id
     AND s.occurred_at >= p.recommended_at
    GROUP BY p.member_id, p.resource_id, p.week
)
SELECT p.member_id, p.org_id, p.resource_id, p.week, p.rank, p.reason, p.signals, p.topic,
       p.recommended_at, m.mailed_at, c.completed_at
FROM pushed p
LEFT JOIN mailed m ON m.member_id = p.member_id AND m.week = p.week
LEFT JOIN completed c ON c.member_id = p.member_id AND c.resource_id = p.resource_id AND c.week = p.week
