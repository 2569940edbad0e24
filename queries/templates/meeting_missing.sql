-- template: meeting_missing
-- description: The meeting-frequency rules (支部工作条例 (2018) arts. 11–13 and chapter 5)
--   as one query, filled in by each rule file's `template.<key>` headers:
--   meeting_kind  the `meeting.held` kind the rule asks for (branch_assembly, committee, …);
--   subject       the orgs bound by it: branch or group (a Party group's meetings are recorded
--                 under the group's org_id);
--   committee     true when only branches with an elected committee are bound;
--   months        the period in calendar months (1 = months, 3 = quarters, 6, 12), China time,
--                 starting in January;
--   period        the name of the period's label column: quarter (2026-Q4), month (2026-11) or
--                 period (2026-10至2026-12);
--   warn_days     the rule fires while days_left < warn_days;
--   severity      the rule's `severity` header.
--   A subject is bound when it existed on the period's first day (created on or before it,
--   China date) and neither it nor its branch is dissolved by the evaluation. Meetings count
--   from the period's first day up to the evaluation instant. days_left = the period's last
--   day − the evaluation date (0 on the last day). branch_name names a group's branch (for a
--   branch, its own name).
WITH clock AS (
    SELECT start_on,
           CAST(start_on + INTERVAL '${months} months' - INTERVAL '1 day' AS DATE) AS end_on
    FROM (
        SELECT make_date(CAST(date_part('year', DATE '${as_of_date}') AS INT),
                         CAST((date_part('month', DATE '${as_of_date}') - 1) / ${months} AS INT) * ${months} + 1,
                         1) AS start_on
    )
),
subjects AS (
    SELECT o.org_id, o.name AS org_name, COALESCE(b.name, '') AS branch_name, c.start_on, c.end_on,
           CAST(CAST(c.end_on AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left
    FROM orgs o
    JOIN org_branches ob ON ob.org_id = o.org_id
    LEFT JOIN orgs b ON b.org_id = ob.branch_id
    CROSS JOIN clock c
    WHERE o.kind = '${subject}'
      AND china_date(o.created_at) <= c.start_on
      AND o.dissolved_at IS NULL
      AND ob.branch_dissolved_at IS NULL
      AND (NOT ${committee} OR o.committee_elected_at IS NOT NULL)
),
held AS (
    SELECT DISTINCT m.org_id
    FROM meetings m
    CROSS JOIN clock c
    WHERE m.kind = '${meeting_kind}'
      AND m.occurred_on >= c.start_on
)
SELECT s.org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       '${severity}' AS severity,
       s.org_name,
       s.branch_name,
       CASE '${period}'
           WHEN 'quarter' THEN concat(CAST(date_part('year', s.start_on) AS VARCHAR), '-Q',
                                      CAST(CAST((date_part('month', s.start_on) + 2) / 3 AS BIGINT) AS VARCHAR))
           WHEN 'month' THEN to_char(s.start_on, '%Y-%m')
           ELSE concat(to_char(s.start_on, '%Y-%m'), '至', to_char(s.end_on, '%Y-%m'))
       END AS ${period},
       s.days_left
FROM subjects s
LEFT JOIN held h ON h.org_id = s.org_id
WHERE h.org_id IS NULL
  AND s.days_left < ${warn_days}
