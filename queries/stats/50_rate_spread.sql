-- name: rate_spread
-- title: 支部间参会率与党费缴纳率的离散程度
-- description: How far the branches of each college (and all branches of the university)
--   lie apart on two rates, per month: the attendance rate (`attendance_rates`) and the
--   dues paid share (`dues_monthly`), one value per branch that has the rate that month
--   (a branch with no invitations has no attendance rate). metric names the rate; mean
--   is the unweighted mean over branches; variance and stddev are population figures
--   (var_pop, stddev_pop: the branches are all there is, not a sample of them), with min,
--   max and spread (max − min). The early-warning rule "outlier branch" compares a branch
--   with mean − 2 × stddev of its college. Colleges and the university are the
--   branches' roll-up orgs (`org_units`).
-- grain: org (college, university) × month × metric
-- schedule: 0 0 3 * * *
-- materialise: true
WITH rates AS (
    SELECT 'attendance_rate' AS metric, level, org_id, month, attendance_rate AS value
    FROM attendance_rates
    WHERE level = 'branch'
    UNION ALL
    SELECT 'dues_paid_share' AS metric, level, org_id, month, paid_share AS value
    FROM dues_monthly
    WHERE level = 'branch'
),
-- Each branch's value counts for its college and its university.
placed AS (
    SELECT u.org_id, u.org_name, u.org_kind, u.parent_id, r.month, r.metric, r.value
    FROM rates r
    JOIN org_units u ON u.unit_id = r.org_id AND u.tier BETWEEN 2 AND 3
    WHERE r.level = 'branch'
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
