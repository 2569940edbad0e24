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
WITH -- The org tree from a single read of `orgs` (every read of that view projects the events
-- anew, so self-joins are dear): each branch and Party group (a unit) with its branch,
-- college and university. Window functions partitioned by an ancestor's id hand the
-- ancestor's attributes down to the rows below it.
org_rows AS (
    SELECT org_id, name, kind, parent_id,
           CASE kind WHEN 'group' THEN parent_id WHEN 'branch' THEN org_id END AS branch_id
    FROM orgs
),
with_branch AS (
    SELECT r.*,
           max(CASE WHEN org_id = branch_id THEN name END) OVER (PARTITION BY branch_id) AS b_name,
           max(CASE WHEN org_id = branch_id THEN parent_id END) OVER (PARTITION BY branch_id) AS b_parent
    FROM org_rows r
),
with_college AS (
    SELECT w.*,
           max(CASE WHEN org_id = c_id THEN name END) OVER (PARTITION BY c_id) AS c_name,
           max(CASE WHEN org_id = c_id THEN kind END) OVER (PARTITION BY c_id) AS c_kind,
           max(CASE WHEN org_id = c_id THEN parent_id END) OVER (PARTITION BY c_id) AS c_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN b_parent ELSE org_id END AS c_id
        FROM with_branch
    ) w
),
tree AS (
    SELECT w.*,
           max(CASE WHEN org_id = u_id THEN name END) OVER (PARTITION BY u_id) AS u_name,
           max(CASE WHEN org_id = u_id THEN kind END) OVER (PARTITION BY u_id) AS u_kind,
           max(CASE WHEN org_id = u_id THEN parent_id END) OVER (PARTITION BY u_id) AS u_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN c_parent ELSE org_id END AS u_id
        FROM with_college
    ) w
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT t.org_id AS unit_id, t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (1), (2), (3)) AS l(n)
    WHERE t.kind IN ('branch', 'group')
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
