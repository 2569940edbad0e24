-- name: quizzes
-- title: 在线测试
-- description: One row per quiz taken (`quiz.taken`); `score_pct` is the score on a
--   0–100 scale so quizzes with different maxima compare.
CREATE VIEW quizzes AS
SELECT event_id, org_id, member_id,
       json_get_str(payload, 'quiz_id') AS quiz_id,
       json_get_float(payload, 'score') AS score,
       json_get_float(payload, 'max_score') AS max_score,
       100.0 * json_get_float(payload, 'score') / json_get_float(payload, 'max_score') AS score_pct,
       occurred_at, occurred_on, month
FROM live_events
WHERE event_type = 'quiz.taken'
