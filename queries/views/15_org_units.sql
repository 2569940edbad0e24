-- name: org_units
-- title: 组织汇总单元
-- description: The roll-up of the org tree every cockpit figure follows. A unit is an org
--   that files figures — a 党支部 (branch) or a 党小组 (Party group); each unit has one row
--   per org its figures count for: the group itself (tier 0, groups only), its branch
--   (tier 1), its college (2) and its university (3), with that org's current name, kind
--   and parent. A metric sums its unit rows over `JOIN org_units ON unit_id = … AND tier …`
--   and so reads the tree once. unit_kind, unit_name, unit_created_at and
--   unit_dissolved_at describe the unit itself. An ancestor missing from `orgs` gives no
--   row (a branch whose college was never created counts only for itself).
-- grain: unit (branch, group) × org it counts for
CREATE VIEW org_units AS
-- One read of `orgs` (every read of that view projects the events anew, so self-joins are
-- dear). Window functions partitioned by an ancestor's id hand the ancestor's attributes
-- down to the rows below it.
WITH org_rows AS (
    SELECT org_id, name, kind, parent_id, created_at, dissolved_at,
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
placed AS (
    SELECT t.org_id AS unit_id, t.kind AS unit_kind, t.name AS unit_name,
           t.created_at AS unit_created_at, t.dissolved_at AS unit_dissolved_at,
           t.branch_id, l.tier,
           CASE l.tier WHEN 0 THEN CASE WHEN t.kind = 'group' THEN t.org_id END
                       WHEN 1 THEN t.branch_id WHEN 2 THEN t.c_id ELSE t.u_id END AS org_id,
           CASE l.tier WHEN 0 THEN t.name WHEN 1 THEN t.b_name WHEN 2 THEN t.c_name ELSE t.u_name END AS org_name,
           CASE l.tier WHEN 0 THEN 'group' WHEN 1 THEN 'branch' WHEN 2 THEN t.c_kind ELSE t.u_kind END AS org_kind,
           CASE l.tier WHEN 0 THEN t.branch_id WHEN 1 THEN t.b_parent WHEN 2 THEN t.c_parent ELSE t.u_parent END AS parent_id
    FROM tree t
    CROSS JOIN (VALUES (0), (1), (2), (3)) AS l(tier)
    WHERE t.kind IN ('branch', 'group')
)
SELECT unit_id, unit_kind, unit_name, unit_created_at, unit_dissolved_at, branch_id,
       CAST(tier AS BIGINT) AS tier, org_id, org_name, org_kind, parent_id
FROM placed
WHERE org_id IS NOT NULL
