-- name: resources
-- title: 学习资料
-- description: One row per study resource, as its latest `resource.published` describes
--   it: title, kind, `topic` (党章党规, 党史, 理论学习, 形势政策, 廉洁教育, 业务知识 — or
--   NULL), `required_for` (the stages that must study it, as the JSON array of the event,
--   e.g. `["applicant","activist"]`, or NULL) and `minutes` (its length). published_at is
--   the first publication.
CREATE VIEW resources AS
SELECT resource_id, org_id, title, kind, topic, required_for, minutes, published_at, updated_at
FROM (
    SELECT resource_id, org_id,
           json_get_str(payload, 'title') AS title,
           json_get_str(payload, 'kind') AS kind,
           json_get_str(payload, 'topic') AS topic,
           json_get_json(payload, 'required_for') AS required_for,
           json_get_float(payload, 'minutes') AS minutes,
           min(occurred_at) OVER (PARTITION BY resource_id) AS published_at,
           occurred_at AS updated_at,
           ROW_NUMBER() OVER (PARTITION BY resource_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'resource.published'
)
WHERE rn = 1
