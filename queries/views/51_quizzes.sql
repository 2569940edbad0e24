-- name: quizzes
-- title: 在线测试
-- description: One row per quiz taken (`quiz.taken`); `score_pct` is the score on a
--   0–100 scale so quizzes with different maxima compare.
CREATE VIEW quizzes AS
SELECT event_id, org_id, member_id,
       quiz_id,
       score,
       max_score,
       100.0 * score / max_score AS score_pct,
       occurred_at, occurred_on, month
FROM live_events
WHERE event_type = 'quiz.taken'
