-- name: branch_assembly_missing
-- title: 支部党员大会未按期召开
-- description: A branch that has not held its branch assembly (`meeting.held` of kind
--   branch_assembly) in the current quarter when the quarter is near its end. 支部工作条例
--   (2018) art. 11: the branch assembly meets at least once a quarter (党支部党员大会...
--   一般每季度召开1次). Quarters are calendar quarters in China time; the current quarter is the one
--   that holds the evaluation date, and meetings count from its first day up to the
--   evaluation instant. days_left = the quarter's last day − the evaluation date (0 on the
--   last day); the rule fires while days_left < ${quarter_warn_days}, so from
--   22 November in the fourth quarter (days_left 39), not on 21 November (days_left 40).
--   Branches count when they existed on the quarter's first day (created on or before it,
--   China date) and are not dissolved by the evaluation; Party groups and colleges are not
--   bound by this rule.
--   Boundaries, evaluated on 2026-11-25 (days_left 36): an assembly held on 2026-10-01
--   counts; one held on 2026-09-30 (the third quarter) does not; a branch created on
--   2026-10-02 is not bound before the first quarter of 2027.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: warning
-- ack_days: 7
-- message: {org_name}本季度（{quarter}）尚未召开支部党员大会，距季度末还有{days_left}天
-- param.quarter_warn_days: 40
WITH clock AS (
    SELECT start_on,
           CAST(start_on + INTERVAL '3 months' - INTERVAL '1 day' AS DATE) AS end_on,
           concat(CAST(date_part('year', start_on) AS VARCHAR), '-Q',
                  CAST(CAST((date_part('month', start_on) + 2) / 3 AS BIGINT) AS VARCHAR)) AS quarter
    FROM (SELECT CAST(date_trunc('quarter', CAST(DATE '${as_of_date}' AS TIMESTAMP)) AS DATE) AS start_on)
),
branches AS (
    SELECT o.org_id, o.name AS org_name, c.quarter, c.start_on,
           CAST(CAST(c.end_on AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left
    FROM orgs o
    CROSS JOIN clock c
    WHERE o.kind = 'branch'
      AND china_date(o.created_at) <= c.start_on
      AND (o.dissolved_at IS NULL OR o.dissolved_at > TIMESTAMP '${as_of}')
),
held AS (
    SELECT DISTINCT m.org_id
    FROM meetings m
    CROSS JOIN clock c
    WHERE m.kind = 'branch_assembly'
      AND m.occurred_on >= c.start_on
      AND m.occurred_at <= TIMESTAMP '${as_of}'
)
SELECT b.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'warning' AS severity,
       b.org_name,
       b.quarter,
       b.days_left
FROM branches b
LEFT JOIN held h ON h.org_id = b.org_id
WHERE h.org_id IS NULL
  AND b.days_left < ${quarter_warn_days}
