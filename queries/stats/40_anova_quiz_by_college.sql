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
WITH tree AS (
    SELECT b.org_id AS branch_id,
           c.org_id AS c_id, c.name AS c_name, c.kind AS c_kind, c.parent_id AS c_parent,
           u.org_id AS u_id, u.name AS u_name, u.kind AS u_kind, u.parent_id AS u_parent
    FROM orgs b
    LEFT JOIN orgs c ON c.org_id = b.parent_id
    LEFT JOIN orgs u ON u.org_id = c.parent_id
    WHERE b.kind = 'branch'
),
rollup AS (
    SELECT t.branch_id,
           CASE l.n WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.n WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.n WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.n WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (2), (3)) AS l(n)
),
groups AS (
    SELECT org_id AS group_id, parent_id AS branch_id FROM orgs WHERE kind = 'group'
),
scores AS (
    SELECT COALESCE(g.branch_id, q.org_id) AS branch_id,
           CAST(substr(q.month, 1, 4) AS BIGINT) AS year,
           q.score_pct
    FROM quizzes q
    LEFT JOIN groups g ON g.group_id = q.org_id
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, s.year,
           count(DISTINCT s.branch_id) AS branches,
           count(s.score_pct) AS n,
           anova_oneway(s.branch_id, s.score_pct) AS a
    FROM scores s
    JOIN rollup r ON r.branch_id = s.branch_id
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
