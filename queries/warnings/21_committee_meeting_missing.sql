-- name: committee_meeting_missing
-- title: 支委会未按月召开
-- description: A branch with a committee that has not held a committee meeting
--   (`meeting.held` of kind committee) in the current month when the month is near its
--   end. 支部工作条例 (2018) art. 12: the branch committee meets at least once a month
--   (党支部委员会会议一般每月召开1次). Months are calendar months in China time; meetings
--   count from the first day of the evaluation's month up to the evaluation instant.
--   days_left = the month's last day − the evaluation date (0 on the last day); the rule
--   fires while days_left < ${month_warn_days}: from the 23rd of a 30-day month, the 24th
--   of a 31-day month, the 21st of February (28 days). Branches count when they existed on
--   the month's first day (created on or before it, China date), are not dissolved by the
--   evaluation and have an elected committee (`org.committee_elected` on or before the
--   evaluation; a branch too small for a committee has none and holds no committee
--   meetings). The Party groups' monthly meetings are the rule group_meeting_missing.
--   Boundaries, evaluated on 2026-11-25 (days_left 5): a committee meeting on 2026-11-01
--   counts, one on 2026-10-31 does not.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: notice
-- ack_days: 7
-- message: {org_name}本月（{month}）尚未召开支委会，距月末还有{days_left}天
-- param.month_warn_days: 8
WITH clock AS (
    SELECT start_on,
           CAST(start_on + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS end_on,
           to_char(start_on, '%Y-%m') AS month
    FROM (SELECT CAST(date_trunc('month', CAST(DATE '${as_of_date}' AS TIMESTAMP)) AS DATE) AS start_on)
),
branches AS (
    SELECT o.org_id, o.name AS org_name, c.month, c.start_on,
           CAST(CAST(c.end_on AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left
    FROM orgs o
    CROSS JOIN clock c
    WHERE o.kind = 'branch'
      AND o.committee_elected_at <= TIMESTAMP '${as_of}'
      AND china_date(o.created_at) <= c.start_on
      AND (o.dissolved_at IS NULL OR o.dissolved_at > TIMESTAMP '${as_of}')
),
held AS (
    SELECT DISTINCT m.org_id
    FROM meetings m
    CROSS JOIN clock c
    WHERE m.kind = 'committee'
      AND m.occurred_on >= c.start_on
      AND m.occurred_at <= TIMESTAMP '${as_of}'
)
SELECT b.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'notice' AS severity,
       b.org_name,
       b.month,
       b.days_left
FROM branches b
LEFT JOIN held h ON h.org_id = b.org_id
WHERE h.org_id IS NULL
  AND b.days_left < ${month_warn_days}
