-- name: group_meeting_missing
-- title: 党小组会未按月召开
-- description: A Party group (党小组) that has not held its group meeting (`meeting.held`
--   of kind group, recorded under the group's org_id) in the current month when the month
--   is near its end. 支部工作条例 (2018) art. 13: the Party group meets at least once a
--   month (党小组会一般每月召开1次). The subject is the group (org_id is the group, so the
--   group leader appointed as its secretary is told and the branch secretary hears of it
--   when it escalates); branch_name names its branch. Months are calendar months in China
--   time; meetings count from the first day of the evaluation's month up to the
--   evaluation instant. days_left = the month's last day − the evaluation date; the rule
--   fires while days_left < ${month_warn_days}, as committee_meeting_missing. Groups count
--   when they existed on the month's first day and neither the group nor its branch is
--   dissolved by the evaluation.
--   Boundaries, evaluated on 2026-11-25: a group meeting on 2026-11-01 counts; a meeting
--   of the group's branch (kind group but recorded under the branch) does not.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: notice
-- ack_days: 7
-- message: {branch_name}{org_name}本月（{month}）尚未召开党小组会，距月末还有{days_left}天
-- param.month_warn_days: 8
WITH clock AS (
    SELECT start_on,
           CAST(start_on + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS end_on,
           to_char(start_on, '%Y-%m') AS month
    FROM (SELECT CAST(date_trunc('month', CAST(DATE '${as_of_date}' AS TIMESTAMP)) AS DATE) AS start_on)
),
-- Each group with its branch's name and dissolution, from a single read of `orgs`.
tree AS (
    SELECT org_id, name, kind, created_at, dissolved_at,
           max(CASE WHEN org_id = branch_id THEN name END) OVER (PARTITION BY branch_id) AS branch_name,
           max(CASE WHEN org_id = branch_id THEN dissolved_at END) OVER (PARTITION BY branch_id) AS branch_dissolved_at
    FROM (
        SELECT org_id, name, kind, created_at, dissolved_at,
               CASE WHEN kind = 'group' THEN parent_id ELSE org_id END AS branch_id
        FROM orgs
        WHERE kind IN ('branch', 'group')
    )
),
groups AS (
    SELECT t.org_id, t.name AS org_name, COALESCE(t.branch_name, '') AS branch_name, c.month, c.start_on,
           CAST(CAST(c.end_on AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left
    FROM tree t
    CROSS JOIN clock c
    WHERE t.kind = 'group'
      AND china_date(t.created_at) <= c.start_on
      AND (t.dissolved_at IS NULL OR t.dissolved_at > TIMESTAMP '${as_of}')
      AND (t.branch_dissolved_at IS NULL OR t.branch_dissolved_at > TIMESTAMP '${as_of}')
),
held AS (
    SELECT DISTINCT m.org_id
    FROM meetings m
    CROSS JOIN clock c
    WHERE m.kind = 'group'
      AND m.occurred_on >= c.start_on
      AND m.occurred_at <= TIMESTAMP '${as_of}'
)
SELECT g.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'notice' AS severity,
       g.org_name,
       g.branch_name,
       g.month,
       g.days_left
FROM groups g
LEFT JOIN held h ON h.org_id = g.org_id
WHERE h.org_id IS NULL
  AND g.days_left < ${month_warn_days}
