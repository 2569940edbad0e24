-- name: study
-- title: 学习记录
-- description: One row per completed study of a resource (`study.completed`), in minutes.
CREATE VIEW study AS
SELECT event_id, org_id, member_id,
       resource_id,
       minutes,
       occurred_at, occurred_on, month
FROM live_events
WHERE event_type = 'study.completed'
