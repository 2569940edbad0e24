-- name: quiz_stats
-- title: 在线测试成绩统计
-- description: Scores of online tests and competitions (`quiz.taken`, on the 0–100 scale
--   `score_pct`) per org and year (China time): how many were taken and by how many
--   members, their mean, sample variance (var_samp, n − 1 in the denominator; NULL for a
--   single score) and standard deviation, minimum, maximum and spread (max − min). A quiz
--   counts for the org the event names; a Party group's for its branch. College and
--   university rows pool the scores of all their branches (not an average of branch means).
-- grain: org (branch, college, university) × year
-- schedule: 0 20 * * * *
-- materialise: true
WITH tree AS (
    SELECT b.org_id AS branch_id,
           b.name AS b_name, b.parent_id AS b_parent,
           c.org_id AS c_id, c.name AS c_name, c.kind AS c_kind, c.parent_id AS c_parent,
           u.org_id AS u_id, u.name AS u_name, u.kind AS u_kind, u.parent_id AS u_parent
    FROM orgs b
    LEFT JOIN orgs c ON c.org_id = b.parent_id
    LEFT JOIN orgs u ON u.org_id = c.parent_id
    WHERE b.kind = 'branch'
),
rollup AS (
    SELECT t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (1), (2), (3)) AS l(n)
),
groups AS (
    SELECT org_id AS group_id, parent_id AS branch_id FROM orgs WHERE kind = 'group'
),
scores AS (
    SELECT COALESCE(g.branch_id, q.org_id) AS branch_id, q.member_id,
           CAST(substr(q.month, 1, 4) AS BIGINT) AS year,
           q.score_pct
    FROM quizzes q
    LEFT JOIN groups g ON g.group_id = q.org_id
)
SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, s.year,
       CAST(count(*) AS BIGINT) AS quizzes,
       CAST(count(DISTINCT s.member_id) AS BIGINT) AS members,
       avg(s.score_pct) AS mean_score,
       var_samp(s.score_pct) AS variance,
       stddev_samp(s.score_pct) AS stddev,
       min(s.score_pct) AS min_score,
       max(s.score_pct) AS max_score,
       max(s.score_pct) - min(s.score_pct) AS spread
FROM scores s
JOIN rollup r ON r.branch_id = s.branch_id
WHERE r.org_id IS NOT NULL
GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, s.year
