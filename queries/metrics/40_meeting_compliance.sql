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
-- The org tree from a single read of `orgs` (every read of that view projects the events
-- anew, so self-joins are dear): each branch and Party group (a unit) with its branch,
-- college and university. Window functions partitioned by an ancestor's id hand the
-- ancestor's attributes down to the rows below it.
org_rows AS (
    SELECT org_id, name, kind, parent_id,
           to_char(CAST(created_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS created_month,
           to_char(CAST(dissolved_at + INTERVAL '8 hours' AS DATE), '%Y-%m') AS dissolved_month,
           CASE kind WHEN 'group' THEN parent_id WHEN 'branch' THEN org_id END AS branch_id
    FROM orgs
),
with_branch AS (
    SELECT r.*,
           max(CASE WHEN org_id = branch_id THEN name END) OVER (PARTITION BY branch_id) AS b_name,
           max(CASE WHEN org_id = branch_id THEN parent_id END) OVER (PARTITION BY branch_id) AS b_parent
    FROM org_rows r
),
with_college AS (
    SELECT w.*,
           max(CASE WHEN org_id = c_id THEN name END) OVER (PARTITION BY c_id) AS c_name,
           max(CASE WHEN org_id = c_id THEN kind END) OVER (PARTITION BY c_id) AS c_kind,
           max(CASE WHEN org_id = c_id THEN parent_id END) OVER (PARTITION BY c_id) AS c_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN b_parent ELSE org_id END AS c_id
        FROM with_branch
    ) w
),
tree AS (
    SELECT w.*,
           max(CASE WHEN org_id = u_id THEN name END) OVER (PARTITION BY u_id) AS u_name,
           max(CASE WHEN org_id = u_id THEN kind END) OVER (PARTITION BY u_id) AS u_kind,
           max(CASE WHEN org_id = u_id THEN parent_id END) OVER (PARTITION BY u_id) AS u_parent
    FROM (
        SELECT *, CASE WHEN kind IN ('branch', 'group') THEN c_parent ELSE org_id END AS u_id
        FROM with_college
    ) w
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
    SELECT t.kind AS unit_kind, t.branch_id, t.b_name, t.b_parent, t.c_id, t.c_name, t.c_kind,
           t.c_parent, t.u_id, t.u_name, t.u_kind, t.u_parent,
           p.kind, p.period_months, p.period_start, p.period_end, p.year, p.in_progress,
           COALESCE(h.held, 0) AS held
    FROM tree t
    JOIN labelled p
      ON (t.kind = 'branch' OR p.kind = 'group')
     AND t.created_month <= p.period_end
     AND (t.dissolved_month IS NULL OR t.dissolved_month >= p.period_start)
    LEFT JOIN unit_held h ON h.org_id = t.org_id AND h.kind = p.kind AND h.start_index = p.start_index
    WHERE t.kind IN ('branch', 'group')
),
branch_rows AS (
    SELECT branch_id, b_name, b_parent, c_id, c_name, c_kind, c_parent, u_id, u_name, u_kind, u_parent,
           kind, period_months, period_start, period_end, year, in_progress,
           CASE WHEN kind = 'group' THEN sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END) ELSE 1 END AS required,
           sum(held) AS held,
           CASE WHEN kind = 'group'
                THEN sum(CASE WHEN unit_kind = 'group' AND held > 0 THEN 1 ELSE 0 END)
                     >= sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END)
                ELSE sum(held) >= 1
           END AS compliant
    FROM unit_periods
    GROUP BY branch_id, b_name, b_parent, c_id, c_name, c_kind, c_parent, u_id, u_name, u_kind, u_parent,
             kind, period_months, period_start, period_end, year, in_progress
    HAVING kind <> 'group' OR sum(CASE WHEN unit_kind = 'group' THEN 1 ELSE 0 END) > 0
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
