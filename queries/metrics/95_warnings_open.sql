-- name: warnings_open
-- title: 预警处置情况
-- description: Early warnings per org and severity, as the cockpit shows them: how many are
--   open (raised, not acknowledged, not resolved), acknowledged, resolved and escalated, and
--   the mean hours from raising to acknowledgement (NULL when none was acknowledged). A
--   warning counts for the org it was raised for and for every org above it, so a college
--   row pools its branches'. Severity is the latest one raised.
-- grain: org (group, branch, college, university) × severity
-- schedule: 0 */10 * * * *
-- materialise: true
WITH RECURSIVE ancestry AS (
    -- Every org paired with itself and each of its ancestors.
    SELECT org_id, org_id AS ancestor_id FROM orgs
    UNION ALL
    SELECT a.org_id, o.parent_id AS ancestor_id
    FROM ancestry a JOIN orgs o ON o.org_id = a.ancestor_id
    WHERE o.parent_id IS NOT NULL
),
pooled AS (
    SELECT a.ancestor_id AS org_id, w.severity, w.status, w.escalated_at, w.raised_at,
           w.acknowledged_at
    FROM warnings w JOIN ancestry a ON a.org_id = w.org_id
)
SELECT p.org_id, o.name AS org_name, o.kind AS org_kind, o.parent_id, p.severity,
       CASE p.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END AS severity_order,
       CAST(sum(CASE WHEN p.status = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS open,
       CAST(sum(CASE WHEN p.status = 'acknowledged' THEN 1 ELSE 0 END) AS BIGINT) AS acknowledged,
       CAST(sum(CASE WHEN p.status = 'resolved' THEN 1 ELSE 0 END) AS BIGINT) AS resolved,
       CAST(sum(CASE WHEN p.escalated_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS escalated,
       avg(CAST(date_part('epoch', p.acknowledged_at) - date_part('epoch', p.raised_at) AS DOUBLE)) / 3600.0
           AS mean_hours_to_acknowledge
FROM pooled p
JOIN orgs o ON o.org_id = p.org_id
GROUP BY p.org_id, o.name, o.kind, o.parent_id, p.severity
