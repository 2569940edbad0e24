-- name: anova_quiz_by_college
-- title: 各学院支部间测试成绩方差分析
-- description: One-way analysis of variance of quiz scores (`score_pct`, 0–100) across the
--   branches of each college — do the branches' mean scores differ more than the spread
--   within them would explain? — per year (China time), and the same across all branches
--   of the university. From `anova_oneway(branch, score)`: F, its degrees of freedom,
--   p_value and eta_squared (the share of the variance that lies between branches);
--   branches counts the branches with scores, n the scores. A college with a single
--   branch has nothing to compare: f and p_value are NULL (df_between = 0). A quiz counts
--   for the org the event names; a Party group's for its branch (as in `quiz_stats`).
--   Materialised once a day.
-- grain: org (college, university) × year
-- schedule: 0 0 3 * * *
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
-- Each unit (a branch or a group) with the orgs its figures count for: its college (level 2)
-- and university (3).
rollup AS (
    SELECT t.org_id AS unit_id, t.branch_id, l.n,
           CASE l.n WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (2), (3)) AS l(n)
    WHERE t.kind IN ('branch', 'group')
),
scores AS (
    SELECT org_id, CAST(substr(month, 1, 4) AS BIGINT) AS year, score_pct
    FROM quizzes
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, s.year,
           count(DISTINCT r.branch_id) AS branches,
           count(s.score_pct) AS n,
           anova_oneway(r.branch_id, s.score_pct) AS a
    FROM scores s
    JOIN rollup r ON r.unit_id = s.org_id
    WHERE r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, s.year
)
SELECT org_id, org_name, org_kind, parent_id, year,
       CAST(branches AS BIGINT) AS branches,
       CAST(n AS BIGINT) AS n,
       a['f'] AS f,
       a['df_between'] AS df_between,
       a['df_within'] AS df_within,
       a['p_value'] AS p_value,
       a['eta_squared'] AS eta_squared
FROM tested
