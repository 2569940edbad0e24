-- name: dues_arrears
-- title: 党费欠缴
-- description: A Party member (probationary or full member, not left, not transferred out;
--   graduates whose organisational relationship is still here owe dues too) who has paid
--   no dues for ${dues_warning_months} or more consecutive whole months. Party Constitution
--   art. 9 (党章第九条): a member who without proper reason pays no dues for six consecutive
--   months is regarded as having given up membership (自行脱党); the branch assembly
--   decides and the higher committee approves, the system only warns.
--   Dues are owed for every month from the month of admission as a probationary member
--   (for someone who arrived as a member, the month of the transfer in), as in
--   `dues_monthly`. The month of the evaluation (China time) is not owed yet, it can be
--   paid until its last day; so months_owed is the run of unpaid owed months that ends with
--   the month before it. A month counts as paid when a live `dues.paid` for that period
--   was made on or before the evaluation instant, however late; a gap followed by a
--   payment does not count. arrears_since is the first month of the run.
--   Boundaries, evaluated on 2026-11-25: nothing paid for 2026-08, 2026-09 and 2026-10 is
--   3 months (warning); paid up to 2026-08 is 2 months (nothing); paid up to 2026-04 is
--   6 months, 2026-05 to 2026-10 (critical); admitted in 2026-09 and never paid is 2.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning when months_owed >= ${dues_warning_months}; critical when months_owed >= ${dues_critical_months}
-- ack_days: 7
-- message: {member_name}已连续{months_owed}个月未缴纳党费（自{arrears_since}起）
-- param.dues_warning_months: 3
-- param.dues_critical_months: 6
WITH
-- Months as indexes (year × 12 + month − 1); `last_index` is the month before the
-- evaluation's month, the last whole month.
members AS (
    SELECT m.member_id, m.member_name, m.branch_id,
           CAST(date_part('year', m.due_from) * 12 + date_part('month', m.due_from) - 1 AS BIGINT) AS first_index,
           CAST(date_part('year', DATE '${as_of_date}') * 12 + date_part('month', DATE '${as_of_date}') - 2 AS BIGINT) AS last_index
    FROM (
        SELECT p.member_id, p.name AS member_name, u.branch_id,
               china_date(COALESCE(p.probationary_at, p.transferred_in_at)) AS due_from
        FROM people p
        JOIN org_branches u ON u.org_id = p.org_id
        WHERE p.stage IN ('probationary', 'full_member')
          AND p.status = 'active'
          AND COALESCE(p.probationary_at, p.transferred_in_at) IS NOT NULL
          AND u.branch_dissolved_at IS NULL
    ) m
),
paid AS (
    SELECT member_id,
           max(CAST(substr(period, 1, 4) AS BIGINT) * 12 + CAST(substr(period, 6, 2) AS BIGINT) - 1) AS paid_index
    FROM dues
    WHERE CAST(substr(period, 1, 4) AS BIGINT) * 12 + CAST(substr(period, 6, 2) AS BIGINT) - 1
          <= CAST(date_part('year', DATE '${as_of_date}') * 12 + date_part('month', DATE '${as_of_date}') - 2 AS BIGINT)
    GROUP BY member_id
),
owed AS (
    SELECT m.member_id, m.member_name, m.branch_id, m.last_index,
           m.last_index - greatest(COALESCE(p.paid_index, m.first_index - 1), m.first_index - 1) AS months_owed
    FROM members m
    LEFT JOIN paid p ON p.member_id = m.member_id
)
SELECT branch_id AS org_id,
       member_id,
       CASE WHEN months_owed >= ${dues_critical_months} THEN 'critical' ELSE 'warning' END AS severity,
       member_name,
       months_owed,
       concat(CAST((last_index - months_owed + 1) / 12 AS VARCHAR), '-',
              lpad(CAST((last_index - months_owed + 1) % 12 + 1 AS VARCHAR), 2, '0')) AS arrears_since
FROM owed
WHERE months_owed >= ${dues_warning_months}
