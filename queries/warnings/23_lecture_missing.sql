-- name: lecture_missing
-- title: 党课未按期讲授
-- description: A branch that has given no Party lecture (`meeting.held` of kind lecture)
--   in the current lecture period when the period is near its end. 支部工作条例 (2018),
--   chapter 5 (组织生活), asks the branch secretary for at least one lecture a year; a lecture every
--   quarter is the common local norm, so the period is ${lecture_months} calendar months
--   (a setting that must divide 12, as in `meeting_compliance`: 3 = quarters, 6 = half
--   years, 12 = years), in China time, starting in January. Meetings count from the
--   period's first day up to the evaluation instant. days_left = the period's last day −
--   the evaluation date; the rule fires while days_left < ${lecture_warn_days}. Branches
--   count when they existed on the period's first day and are not dissolved by the
--   evaluation.
--   Boundaries, evaluated on 2026-11-25 (period 2026-10 to 2026-12, days_left 36): a
--   lecture on 2026-10-01 counts, one on 2026-09-30 does not.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: notice
-- ack_days: 7
-- message: {org_name}本期（{period}）尚未讲党课，距期末还有{days_left}天
-- param.lecture_months: 3
-- param.lecture_warn_days: 40
WITH clock AS (
    SELECT start_on,
           CAST(start_on + INTERVAL '${lecture_months} months' - INTERVAL '1 day' AS DATE) AS end_on
    FROM (
        SELECT make_date(CAST(date_part('year', DATE '${as_of_date}') AS INT),
                         CAST((date_part('month', DATE '${as_of_date}') - 1) / ${lecture_months} AS INT) * ${lecture_months} + 1,
                         1) AS start_on
    )
),
branches AS (
    SELECT o.org_id, o.name AS org_name, c.start_on,
           concat(to_char(c.start_on, '%Y-%m'), '至', to_char(c.end_on, '%Y-%m')) AS period,
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
    WHERE m.kind = 'lecture'
      AND m.occurred_on >= c.start_on
      AND m.occurred_at <= TIMESTAMP '${as_of}'
)
SELECT b.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'notice' AS severity,
       b.org_name,
       b.period,
       b.days_left
FROM branches b
LEFT JOIN held h ON h.org_id = b.org_id
WHERE h.org_id IS NULL
  AND b.days_left < ${lecture_warn_days}
