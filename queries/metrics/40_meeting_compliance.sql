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
-- Branches with their college and university; groups with their branch.
tree AS (
    SELECT b.org_id AS branch_id,
           b.name AS b_name, b.parent_id AS b_parent,
           c.org_id AS c_id, c.name AS c_name, c.kind AS c_kind, c.parent_id AS c_parent,
           u.org_id AS u_id, u.name AS u_name, u.kind AS u_kind, u.parent_id AS u_parent,
           to_char(CAST(b.created_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS created_month,
           to_char(CAST(b.dissolved_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS dissolved_month
    FROM orgs b
    LEFT JOIN orgs c ON c.org_id = b.parent_id
    LEFT JOIN orgs u ON u.org_id = c.parent_id
    WHERE b.kind = 'branch'
),
groups AS (
    SELECT org_id AS group_id, parent_id AS branch_id,
           to_char(CAST(created_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS created_month,
           to_char(CAST(dissolved_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS dissolved_month
    FROM orgs
    WHERE kind = 'group'
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
held AS (
    SELECT COALESCE(g.branch_id, m.org_id) AS branch_id, m.kind,
           m.month_index - (m.month_index % 12) % k.period_months AS start_index,
           count(*) AS held,
           count(DISTINCT g.group_id) AS groups_met
    FROM (
        SELECT org_id, kind,
               CAST(substr(month, 1, 4) AS BIGINT) * 12 + CAST(substr(month, 6, 2) AS BIGINT) - 1 AS month_index
        FROM meetings
    ) m
    JOIN kinds k ON k.kind = m.kind
    LEFT JOIN groups g ON g.group_id = m.org_id
    GROUP BY COALESCE(g.branch_id, m.org_id), m.kind, m.month_index - (m.month_index % 12) % k.period_months
),
group_counts AS (
    SELECT g.branch_id, p.start_index, count(*) AS groups
    FROM groups g
    JOIN labelled p ON p.kind = 'group'
    WHERE g.created_month <= p.period_end
      AND (g.dissolved_month IS NULL OR g.dissolved_month >= p.period_start)
    GROUP BY g.branch_id, p.start_index
),
branch_rows AS (
    SELECT t.*, p.kind, p.period_months, p.period_start, p.period_end, p.year, p.in_progress,
           p.start_index,
           CASE WHEN p.kind = 'group' THEN gc.groups ELSE 1 END AS required,
           COALESCE(h.held, 0) AS held,
           CASE WHEN p.kind = 'group' THEN COALESCE(h.groups_met, 0) >= gc.groups
                ELSE COALESCE(h.held, 0) >= 1
           END AS compliant
    FROM tree t
    JOIN labelled p
      ON t.created_month <= p.period_end
     AND (t.dissolved_month IS NULL OR t.dissolved_month >= p.period_start)
    LEFT JOIN group_counts gc ON gc.branch_id = t.branch_id AND gc.start_index = p.start_index AND p.kind = 'group'
    LEFT JOIN held h ON h.branch_id = t.branch_id AND h.kind = p.kind AND h.start_index = p.start_index
    WHERE p.kind <> 'group' OR gc.groups > 0
),
rolled AS (
    SELECT CASE l.n WHEN 1 THEN b.branch_id WHEN 2 THEN b.c_id ELSE b.u_id END AS org_id,
           CASE l.n WHEN 1 THEN b.b_name WHEN 2 THEN b.c_name ELSE b.u_name END AS org_name,
           CASE l.n WHEN 1 THEN 'branch' WHEN 2 THEN b.c_kind ELSE b.u_kind END AS org_kind,
           CASE l.n WHEN 1 THEN b.b_parent WHEN 2 THEN b.c_parent ELSE b.u_parent END AS parent_id,
           b.kind, b.period_months, b.period_start, b.period_end, b.year, b.in_progress,
           b.required, b.held, CASE WHEN b.compliant THEN 1 ELSE 0 END AS compliant
    FROM branch_rows b
    CROSS JOIN (VALUES (1), (2), (3)) AS l(n)
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
