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
WITH
-- Each unit (a branch or a group) with the orgs its figures count for: its college (level 2)
-- and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 2 AND 3
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
