-- name: rate_spread
-- title: 支部间参会率与党费缴纳率的离散程度
-- description: How far the branches of each college (and all branches of the university)
--   lie apart on two rates, per month: the attendance rate (`attendance_rates`) and the
--   dues paid share (`dues_monthly`), one value per branch that has the rate that month
--   (a branch with no invitations has no attendance rate). metric names the rate; mean
--   is the unweighted mean over branches; variance and stddev are population figures
--   (var_pop, stddev_pop: the branches are all there is, not a sample of them), with min,
--   max and spread (max − min). The early-warning rule "outlier branch" compares a branch
--   with mean − 2 × stddev of its college. Org attributes come from the org rows of the
--   same models, so this reads each model once.
-- grain: org (college, university) × month × metric
-- schedule: 0 0 3 * * *
-- materialise: true
WITH rates AS (
    SELECT 'attendance_rate' AS metric, level, org_id, org_name, org_kind, parent_id, month,
           attendance_rate AS value
    FROM attendance_rates
    WHERE level IN ('branch', 'college', 'university')
    UNION ALL
    SELECT 'dues_paid_share' AS metric, level, org_id, org_name, org_kind, parent_id, month,
           paid_share AS value
    FROM dues_monthly
    WHERE level IN ('branch', 'college', 'university')
),
-- A branch row's college is its parent; the college row gives the college's name and
-- its university; the university row gives the university's name.
with_college AS (
    SELECT r.*,
           CASE level WHEN 'branch' THEN parent_id WHEN 'college' THEN org_id END AS college_id
    FROM rates r
),
with_college_attrs AS (
    SELECT w.*,
           max(CASE WHEN level = 'college' THEN org_name END) OVER (PARTITION BY metric, month, college_id) AS college_name,
           max(CASE WHEN level = 'college' THEN org_kind END) OVER (PARTITION BY metric, month, college_id) AS college_kind,
           max(CASE WHEN level = 'college' THEN parent_id END) OVER (PARTITION BY metric, month, college_id) AS college_parent
    FROM with_college w
),
with_university AS (
    SELECT w.*,
           CASE level WHEN 'university' THEN org_id ELSE college_parent END AS university_id
    FROM with_college_attrs w
),
with_university_attrs AS (
    SELECT w.*,
           max(CASE WHEN level = 'university' THEN org_name END) OVER (PARTITION BY metric, month, university_id) AS university_name,
           max(CASE WHEN level = 'university' THEN org_kind END) OVER (PARTITION BY metric, month, university_id) AS university_kind,
           max(CASE WHEN level = 'university' THEN parent_id END) OVER (PARTITION BY metric, month, university_id) AS university_parent
    FROM with_university w
),
placed AS (
    SELECT CASE l.n WHEN 2 THEN b.college_id ELSE b.university_id END AS org_id,
           CASE l.n WHEN 2 THEN b.college_name ELSE b.university_name END AS org_name,
           CASE l.n WHEN 2 THEN b.college_kind ELSE b.university_kind END AS org_kind,
           CASE l.n WHEN 2 THEN b.college_parent ELSE b.university_parent END AS parent_id,
           b.month, b.metric, b.value
    FROM with_university_attrs b
    CROSS JOIN (VALUES (2), (3)) AS l(n)
    WHERE b.level = 'branch'
)
SELECT org_id, org_name, org_kind, parent_id, month, metric,
       CAST(count(value) AS BIGINT) AS branches,
       avg(value) AS mean,
       var_pop(value) AS variance,
       stddev_pop(value) AS stddev,
       min(value) AS min,
       max(value) AS max,
       max(value) - min(value) AS spread
FROM placed
WHERE org_id IS NOT NULL AND value IS NOT NULL
GROUP BY org_id, org_name, org_kind, parent_id, month, metric
