-- name: outlier_branch
-- title: 支部参会率显著偏低
-- description: A branch whose attendance rate lies ${outlier_sd} or more standard deviations
--   under the mean of its college's branches — a sign the branch needs support, not a
--   breach of a rule.
--   The rate is the branch's attendance rate over the ${outlier_months} whole calendar months
--   before the evaluation's month (China time; on 2026-11-25: 2026-08 to 2026-10),
--   counted as `attendance_rates` counts it: present / invited, excused counting as
--   invited, a later record for the same member and meeting replacing an earlier one, a
--   Party group's meetings counting for its branch, the month being the meeting's. It is
--   computed here with an ordered aggregate over the events, not read from that model,
--   whose window over all attendance needs more memory than a query is allowed on a
--   university's data. The college's mean and standard deviation are over its branches
--   that have a rate, the branch itself included, unweighted, population figures
--   (stddev_pop), as in `rate_spread`. Fires when rate < mean − ${outlier_sd} × stddev,
--   strictly. Branches dissolved by the evaluation are left out of the figures and the
--   findings. With stddev_pop and the branch included, a branch lies at most √(n − 1)
--   standard deviations under the mean of n branches: a college needs at least six
--   branches with a rate for one to lie more than 2 under.
--   Boundaries (fixture): five branches at 100%, 100%, 100%, 75% and 50% have mean 85%
--   and stddev 20 points, so 50% lies 1.75 under and does not fire; six branches at
--   100% ×5 and 50% have mean 91.7% and stddev 18.6 points, so 50% lies 2.24 under and
--   fires.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: notice
-- ack_days: 14
-- message: {org_name}近{outlier_months}个月（{period}）组织生活出席率{rate_pct}%，低于{college_name}各支部平均值{college_mean_pct}%达{sd_under}个标准差（标准差{college_sd_pct}个百分点）
-- param.outlier_months: 3
-- param.outlier_sd: 2
WITH span AS (
    SELECT CAST(first_day - INTERVAL '${outlier_months} months' AS DATE) AS first_on,
           CAST(first_day - INTERVAL '1 day' AS DATE) AS last_on
    FROM (SELECT CAST(date_trunc('month', CAST(DATE '${as_of_date}' AS TIMESTAMP)) AS DATE) AS first_day)
),
-- Every org with its branch (a Party group's is its parent) and that branch's kind, name,
-- college, college's name and dissolution, from a single read of `orgs`.
tree AS (
    SELECT c.*,
           max(CASE WHEN org_id = college_key THEN name END) OVER (PARTITION BY college_key) AS college_name
    FROM (
        -- A branch's or group's college is its branch's parent; any other org is its own.
        SELECT b.*, CASE WHEN kind IN ('branch', 'group') THEN college_id ELSE org_id END AS college_key
        FROM (
            SELECT o.*,
                   max(CASE WHEN org_id = branch_id THEN kind END) OVER (PARTITION BY branch_id) AS branch_kind,
                   max(CASE WHEN org_id = branch_id THEN name END) OVER (PARTITION BY branch_id) AS branch_name,
                   max(CASE WHEN org_id = branch_id THEN parent_id END) OVER (PARTITION BY branch_id) AS college_id,
                   max(CASE WHEN org_id = branch_id THEN dissolved_at END) OVER (PARTITION BY branch_id) AS branch_dissolved_at
            FROM (
                SELECT org_id, name, kind, parent_id, dissolved_at,
                       CASE WHEN kind = 'group' THEN parent_id ELSE org_id END AS branch_id
                FROM orgs
            ) o
        ) b
    ) c
),
-- One row per member and meeting of the months counted (`attendance_latest`: the latest
-- record wins, the meeting's org and time).
records AS (
    SELECT a.org_id AS unit_id, a.status
    FROM attendance_latest a
    CROSS JOIN span s
    WHERE china_date(a.occurred_at) BETWEEN s.first_on AND s.last_on
),
branch_rates AS (
    SELECT u.branch_id AS org_id, u.branch_name AS org_name, u.college_id, u.college_name,
           CAST(sum(CASE WHEN r.status = 'present' THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS rate
    FROM records r
    JOIN tree u ON u.org_id = r.unit_id
    WHERE u.branch_kind = 'branch'
      AND u.branch_dissolved_at IS NULL
    GROUP BY u.branch_id, u.branch_name, u.college_id, u.college_name
),
colleges AS (
    SELECT college_id, avg(rate) AS mean_rate, stddev_pop(rate) AS sd_rate
    FROM branch_rates
    GROUP BY college_id
)
SELECT b.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'notice' AS severity,
       b.org_name,
       COALESCE(b.college_name, b.college_id) AS college_name,
       concat(to_char(s.first_on, '%Y-%m'), '至', to_char(s.last_on, '%Y-%m')) AS period,
       CAST(${outlier_months} AS BIGINT) AS outlier_months,
       round(100 * b.rate, 1) AS rate_pct,
       round(100 * c.mean_rate, 1) AS college_mean_pct,
       round(100 * c.sd_rate, 1) AS college_sd_pct,
       round((c.mean_rate - b.rate) / c.sd_rate, 2) AS sd_under
FROM branch_rates b
JOIN colleges c ON c.college_id = b.college_id
CROSS JOIN span s
WHERE b.rate < c.mean_rate - ${outlier_sd} * c.sd_rate
