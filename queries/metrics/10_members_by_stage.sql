-- name: members_by_stage
-- title: 党员发展各阶段人数
-- description: The development funnel (发展党员): people by their current stage, counting
--   only people whose status is active (not transferred out, not left), as of the latest
--   month with any live event. For every org (branch, college, university) there is one
--   row per stage for each dimension value: dimension = 'all' (dimension_value 'all'),
--   'grade' (entry year) or 'gender'; stages with nobody are present with 0, so a funnel
--   chart always has its six bars. stage_order: 0 none (registered only), 1 applicant,
--   2 activist, 3 development_target, 4 probationary, 5 full_member. members counts the
--   people at that stage now; reached counts those at that stage or further along (the
--   funnel's cumulative width). People count at their home org (`people.org_id`).
-- grain: org (branch, college, university) × dimension value × stage, as of the latest month
-- schedule: 0 0 * * * *
-- materialise: true
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
facts AS (
    SELECT p.org_id AS branch_id, p.stage, d.dimension,
           CASE d.dimension
               WHEN 'all' THEN 'all'
               WHEN 'grade' THEN CAST(p.grade AS VARCHAR)
               ELSE p.gender
           END AS dimension_value
    FROM people p
    CROSS JOIN (VALUES ('all'), ('grade'), ('gender')) AS d(dimension)
    WHERE p.status = 'active'
),
-- One row per org and dimension value with a count per stage, then unpivoted below:
-- this way stages nobody is at still get their (zero) row.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, f.dimension, f.dimension_value,
           sum(CASE WHEN f.stage = 'none' THEN 1 ELSE 0 END) AS s0,
           sum(CASE WHEN f.stage = 'applicant' THEN 1 ELSE 0 END) AS s1,
           sum(CASE WHEN f.stage = 'activist' THEN 1 ELSE 0 END) AS s2,
           sum(CASE WHEN f.stage = 'development_target' THEN 1 ELSE 0 END) AS s3,
           sum(CASE WHEN f.stage = 'probationary' THEN 1 ELSE 0 END) AS s4,
           sum(CASE WHEN f.stage = 'full_member' THEN 1 ELSE 0 END) AS s5
    FROM facts f
    JOIN rollup r ON r.unit_id = f.branch_id
    WHERE r.org_id IS NOT NULL AND f.dimension_value IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, f.dimension, f.dimension_value
)
SELECT c.org_id, c.org_name, c.org_kind, c.parent_id, a.month,
       c.dimension, c.dimension_value,
       s.stage, s.stage_order,
       CAST(CASE s.stage_order
           WHEN 0 THEN c.s0 WHEN 1 THEN c.s1 WHEN 2 THEN c.s2
           WHEN 3 THEN c.s3 WHEN 4 THEN c.s4 ELSE c.s5
       END AS BIGINT) AS members,
       CAST(CASE s.stage_order
           WHEN 0 THEN c.s0 + c.s1 + c.s2 + c.s3 + c.s4 + c.s5
           WHEN 1 THEN c.s1 + c.s2 + c.s3 + c.s4 + c.s5
           WHEN 2 THEN c.s2 + c.s3 + c.s4 + c.s5
           WHEN 3 THEN c.s3 + c.s4 + c.s5
           WHEN 4 THEN c.s4 + c.s5
           ELSE c.s5
       END AS BIGINT) AS reached
FROM counted c
CROSS JOIN asof a
CROSS JOIN (VALUES ('none', 0), ('applicant', 1), ('activist', 2), ('development_target', 3),
                   ('probationary', 4), ('full_member', 5)) AS s(stage, stage_order)
