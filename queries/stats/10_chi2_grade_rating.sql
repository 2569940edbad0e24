-- name: chi2_grade_rating
-- title: 年级与民主评议结果的卡方检验
-- description: Pearson's chi-square test of independence between a member's grade (entry
--   year) and their rating in the democratic evaluation, per evaluation year, for each
--   college (its branches' ratings) and for the university. From `chi2_test`: chi2, dof,
--   p_value, Cramér's V, n, the smallest expected count and the number of cells whose
--   expected count is below 5; grades and ratings count the categories seen (the table is
--   grades × ratings). reliable is the usual rule for the chi-square approximation: no
--   expected count below 1 and at most 20 % of the cells below 5 — small colleges will
--   often fail it, and the cockpit should say so rather than hide the test. Materialised
--   (once a day) like the metrics: the cockpit reads it on every screen, the inputs change
--   slowly, and analysts can still run `chi2_test` live.
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
rated AS (
    SELECT e.org_id, CAST(e.year AS BIGINT) AS year, e.rating,
           CAST(p.grade AS VARCHAR) AS grade
    FROM evaluations e
    JOIN people p ON p.member_id = e.member_id
    WHERE p.grade IS NOT NULL
),
tested AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, x.year,
           count(DISTINCT x.grade) AS grades,
           count(DISTINCT x.rating) AS ratings,
           chi2_test(x.grade, x.rating) AS t
    FROM rated x
    JOIN rollup r ON r.unit_id = x.org_id
    WHERE r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, x.year
)
SELECT org_id, org_name, org_kind, parent_id, year,
       t['n'] AS n,
       CAST(grades AS BIGINT) AS grades,
       CAST(ratings AS BIGINT) AS ratings,
       t['chi2'] AS chi2,
       t['dof'] AS dof,
       t['p_value'] AS p_value,
       t['cramers_v'] AS cramers_v,
       t['min_expected'] AS min_expected,
       t['cells_below_5'] AS cells_below_5,
       t['min_expected'] >= 1 AND t['cells_below_5'] <= 0.2 * grades * ratings AS reliable
FROM tested
