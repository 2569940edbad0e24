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
WITH
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
scores AS (
    SELECT org_id, member_id, CAST(substr(month, 1, 4) AS BIGINT) AS year, score_pct
    FROM quizzes
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
JOIN rollup r ON r.unit_id = s.org_id
WHERE r.org_id IS NOT NULL
GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, s.year
