-- name: quizzes
-- title: 在线测试
-- description: One row per quiz taken (`quiz.taken`); `score_pct` is the score on a
--   0–100 scale so quizzes with different maxima compare. `topic` is what the quiz tested
--   (one of the topics of the study recommendations), NULL when the event names none.
CREATE VIEW quizzes AS
SELECT event_id, org_id, member_id,
       quiz_id,
       score,
       max_score,
       100.0 * score / max_score AS score_pct,
       json_get_str(payload, 'topic') AS topic,
       occurred_at, occurred_on, month
FROM live_events
WHERE event_type = 'quiz.taken'
