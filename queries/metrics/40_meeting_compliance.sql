-- name: meeting_compliance
-- title: 三会一课落实情况
-- description: 三会一课 and the other meetings of organisational life held by each branch
--   against the frequency the 支部工作条例 (2018) requires, per kind and period:
--   branch_assembly at least once a quarter, committee once a month, group once a month in
--   every Party group of the branch, lecture once every ${lecture_months} months (the
--   条例 asks for one a year; quarterly is the common local norm; the setting must divide
--   12), theme_day once a month, life_meeting once a year. Periods are calendar months,
--   quarters, years (China time), from the first month with any meeting in the data to the
--   latest month with any live event; a branch is counted for a period that overlaps its
--   life (created, not yet dissolved). Group meetings are held by the groups (their
--   org_id is the group) and count for the group's parent branch; the group requirement
--   is one meeting per group, so required = the number of groups of the branch in that
--   period and it is met when every group met (branches without groups have no group
--   rows). held counts the meetings held; in_progress marks the period that contains the
--   latest month (not over yet).
--   Branch rows have branches = 1; college and university rows sum their branches:
--   branches_compliant of branches, compliant when all are, compliance_rate the share.
-- grain: org (branch, college, university) × meeting kind × period (month, quarter or year)
-- schedule: 0 10 * * * *
-- materialise: true
-- param.lecture_months: 3
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
first_meeting AS (
    SELECT min(month) AS month FROM meetings
),
-- Each unit (a branch or a Party group) once, with its branch and the months it existed.
units AS (
    SELECT unit_id, unit_kind, branch_id,
           to_char(china_date(unit_created_at), '%Y-%m') AS created_month,
           to_char(china_date(unit_dissolved_at), '%Y-%m') AS dissolved_month
    FROM org_units
    WHERE tier = 1
),
kinds AS (
    SELECT * FROM (VALUES
        ('branch_assembly', 3), ('committee', 1), ('group', 1),
        ('lecture', ${lecture_months}), ('theme_day', 1), ('life_meeting', 12)
    ) AS k(kind, period_months)
),
months AS (
    SELECT unnest(generate_series(
               CAST(substr(f.month, 1, 4) AS BIGINT) * 12 + CAST(substr(f.month, 6, 2) AS BIGINT) - 1,
               CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) - 1
           )) AS month_index,
           CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) - 1 AS asof_index
    FROM first_meeting f
    CROSS JOIN asof a
),
-- Periods are aligned on the calendar year: a period of n months starts at a month whose
-- 0-based number in the year is a multiple of n.
periods AS (
    SELECT DISTINCT k.kind, k.period_months,
           m.month_index - (m.month_index % 12) % k.period_months AS start_index,
           m.month_index - (m.month_index % 12) % k.period_months + k.period_months - 1 AS end_index,
           m.asof_index
    FROM months m
    CROSS JOIN kinds k
),
labelled AS (
    SELECT kind, period_months, start_index, end_index, end_index >= asof_index AS in_progress,
           concat(CAST(start_index / 12 AS VARCHAR), '-', lpad(CAST(start_index % 12 + 1 AS VARCHAR), 2, '0')) AS period_start,
           concat(CAST(end_index / 12 AS VARCHAR), '-', lpad(CAST(end_index % 12 + 1 AS VARCHAR), 2, '0')) AS period_end,
           start_index / 12 AS year
    FROM periods
),
unit_held AS (
    SELECT m.org_id, m.kind,
           m.month_index - (m.month_index % 12) % k.period_months AS start_index,
           count(*) AS held
    FROM (
        SELECT org_id, kind,
               CAST(substr(month, 1, 4) AS BIGINT) * 12 + CAST(substr(month, 6, 2) AS BIGINT) - 1 AS month_index
        FROM meetings
    ) m
    JOIN kinds k ON k.kind = m.kind
    GROUP BY m.org_id, m.kind, m.month_index - (m.month_index % 12) % k.period_months
),
-- Every unit and period it has to meet in, while it exists: a branch for each kind, a
-- group for its monthly group meeting; with the meetings it held.
unit_periods AS (
    SELECT t.unit_kind, t.branch_id,
           p.kind, p.period_months, p.period_start, p.period_end, p.year, p.in_progress,
           COALESCE(h.held, 0) AS held
    FROM units t
    JOIN labelled p
      ON (t.unit_kind = 'branch' OR p.kind = 'group')
     AND t.created_month <= p.period_end
     AND (t.dissolved_month IS NULL OR t.dissolved_month >= p.period_start)
    LEFT JOIN unit_held h ON h.org_id = t.unit_id AND h.kind = p.kind AND h.start_index = p.start_index
),
branch_rows AS (
    SELECT branch_id, kind, period_months, period_start, period_end, year, in_progress,
           CASE WHEN kind = 'group' THEN sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END) ELSE 1 END AS required,
           sum(held) AS held,
           CASE WHEN kind = 'group'
                THEN sum(CASE WHEN unit_kind = 'group' AND held > 0 THEN 1 ELSE 0 END)
                     >= sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END)
                ELSE sum(held) >= 1
           END AS compliant
    FROM unit_periods
    GROUP BY branch_id, kind, period_months, period_start, period_end, year, in_progress
    HAVING kind <> 'group' OR sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END) > 0
),
-- Each branch's figures count for the branch, its college and its university.
rolled AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id,
           b.kind, b.period_months, b.period_start, b.period_end, b.year, b.in_progress,
           b.required, b.held, CASE WHEN b.compliant THEN 1 ELSE 0 END AS compliant
    FROM branch_rows b
    JOIN org_units r ON r.unit_id = b.branch_id AND r.tier BETWEEN 1 AND 3
)
SELECT org_id, org_name, org_kind, parent_id, kind,
       CASE period_months
           WHEN 1 THEN 'month' WHEN 3 THEN 'quarter' WHEN 6 THEN 'half_year' WHEN 12 THEN 'year'
           ELSE concat(CAST(period_months AS VARCHAR), '_months')
       END AS period_kind,
       CASE period_months
           WHEN 1 THEN period_start
           WHEN 3 THEN concat(substr(period_start, 1, 4), '-Q', CAST((CAST(substr(period_start, 6, 2) AS INT) + 2) / 3 AS VARCHAR))
           WHEN 6 THEN concat(substr(period_start, 1, 4), '-H', CAST((CAST(substr(period_start, 6, 2) AS INT) + 5) / 6 AS VARCHAR))
           WHEN 12 THEN substr(period_start, 1, 4)
           ELSE period_start
       END AS period,
       period_start, period_end, CAST(year AS BIGINT) AS year, in_progress,
       CAST(count(*) AS BIGINT) AS branches,
       CAST(sum(compliant) AS BIGINT) AS branches_compliant,
       CAST(sum(required) AS BIGINT) AS required,
       CAST(sum(held) AS BIGINT) AS held,
       sum(compliant) = count(*) AS compliant,
       CAST(sum(compliant) AS DOUBLE) / count(*) AS compliance_rate
FROM rolled
WHERE org_id IS NOT NULL
GROUP BY org_id, org_name, org_kind, parent_id, kind, period_months, period_start, period_end, year, in_progress
