-- name: study_monthly
-- title: 党员学习时长
-- description: Study minutes (`study.completed`) per person and month, and per org the
--   average per person. Months run from the first month with any study record to the
--   latest month with any live event (China time). Every registered person counts in each
--   month from the month they registered until the month they left or transferred out,
--   at their home org (`people.org_id`), with 0 minutes when they studied nothing — so
--   avg_minutes = minutes / members is a per-capita figure and the member rows show who
--   did not study. members_studied counts those with any minutes; sessions counts records.
--   Rows — per person and month (level = member, members = 1), and sums per branch,
--   college and university (level = org kind).
-- grain: member × month; org (branch, college, university) × month
-- schedule: 0 15 * * * *
-- materialise: true
WITH first_study AS (
    SELECT min(month) AS month FROM study
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
studied AS (
    SELECT member_id, month, count(*) AS sessions, sum(minutes) AS minutes
    FROM study
    GROUP BY member_id, month
),
member_rows AS (
    SELECT m.member_id, m.branch_id, m.month,
           COALESCE(s.sessions, 0) AS sessions,
           COALESCE(s.minutes, 0.0) AS minutes
    FROM (
        -- Each person's months (`member_months`) from the first month with any record.
        SELECT mm.member_id, mm.org_id AS branch_id, mm.month
        FROM member_months mm
        CROSS JOIN first_study f
        WHERE f.month IS NULL OR mm.month >= f.month
    ) m
    LEFT JOIN studied s ON s.member_id = m.member_id AND s.month = m.month
),
-- One pass makes both the member rows (kept at the branch level only) and the org rows.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month,
           grouping(m.member_id) AS is_org_row,
           count(*) AS members,
           sum(CASE WHEN m.minutes > 0 THEN 1 ELSE 0 END) AS members_studied,
           sum(m.sessions) AS sessions,
           sum(m.minutes) AS minutes
    FROM member_rows m
    JOIN rollup r ON r.unit_id = m.branch_id
    WHERE r.org_id IS NOT NULL
    GROUP BY GROUPING SETS (
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.month),
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month))
    HAVING grouping(m.member_id) = 1 OR r.n = 1
)
SELECT CASE WHEN is_org_row = 1 THEN org_kind ELSE 'member' END AS level,
       org_id, org_name, org_kind, parent_id, member_id, month,
       CAST(members AS BIGINT) AS members,
       CAST(members_studied AS BIGINT) AS members_studied,
       CAST(sessions AS BIGINT) AS sessions,
       CAST(minutes AS DOUBLE) AS minutes,
       CAST(minutes AS DOUBLE) / members AS avg_minutes
FROM counted
