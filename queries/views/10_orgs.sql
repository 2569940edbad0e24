-- name: orgs
-- title: 组织
-- description: The organisation tree (学校党委 → 学院党委 → 党支部 → 党小组) with each org's
--   current name, parent, secretary (书记) and the election of its committee.
--   One row per org; an org created twice keeps its first creation.
--   A projection: kept as a table from each commit's `org.*` events (only the orgs they
--   touch are computed again); `live.orgs` computes it from every event.
-- projection.key: org_id
-- projection.events: org.%
-- projection.masked: secretary_name = org.secretary_appointed.name, secretary_email = org.secretary_appointed.email
CREATE VIEW orgs AS
WITH created AS (
    SELECT org_id,
           json_get_str(payload, 'name') AS name,
           kind,
           json_get_str(payload, 'parent_id') AS parent_id,
           occurred_at AS created_at,
           ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY occurred_at, recorded_at, event_id) AS rn
    FROM live_events
    WHERE event_type = 'org.created'
),
renamed AS (
    SELECT org_id, json_get_str(payload, 'name') AS name,
           ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'org.renamed'
),
secretary AS (
    SELECT org_id,
           json_get_str(payload, 'secretary_id') AS secretary_id,
           json_get_str(payload, 'name') AS secretary_name,
           json_get_str(payload, 'email') AS secretary_email,
           occurred_at AS secretary_since,
           ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'org.secretary_appointed'
),
committee AS (
    SELECT org_id,
           occurred_at AS committee_elected_at,
           json_get_int(payload, 'term_years') AS committee_term_years,
           ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'org.committee_elected'
),
dissolved AS (
    SELECT org_id, MIN(occurred_at) AS dissolved_at
    FROM live_events
    WHERE event_type = 'org.dissolved'
    GROUP BY org_id
)
SELECT c.org_id,
       COALESCE(r.name, c.name) AS name,
       c.kind,
       c.parent_id,
       c.created_at,
       s.secretary_id,
       s.secretary_name,
       s.secretary_email,
       s.secretary_since,
       m.committee_elected_at,
       m.committee_term_years,
       d.dissolved_at
FROM created c
LEFT JOIN renamed r ON r.org_id = c.org_id AND r.rn = 1
LEFT JOIN secretary s ON s.org_id = c.org_id AND s.rn = 1
LEFT JOIN committee m ON m.org_id = c.org_id AND m.rn = 1
LEFT JOIN dissolved d ON d.org_id = c.org_id
WHERE c.rn = 1
