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
rated AS (
    SELECT e.org_id AS branch_id, CAST(e.year AS BIGINT) AS year, e.rating,
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
    JOIN rollup r ON r.branch_id = x.branch_id
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
