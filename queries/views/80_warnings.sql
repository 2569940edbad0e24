-- name: warnings
-- title: 预警
-- description: One row per early warning (测控预警), its whole lifecycle folded from the
--   `warning.*` events: `warning.raised` (the latest one gives the severity and detail — a
--   rule raises the same warning_id again when its severity rises), `warning.notified`
--   (the digest mail was accepted by the mail server), `warning.acknowledged` (the first
--   one counts, with who and the note), `warning.escalated` (to the parent org's
--   secretary, past the acknowledgement deadline) and `warning.resolved` (the rule no
--   longer finds it). status: resolved, else acknowledged, else open. needs_mail: the
--   warning is not resolved and it was raised (or its severity rose) or escalated after
--   the last accepted mail — the mailer's to-do list. org_id is the org whose secretary
--   is told first; member_id is set for warnings about a member.
CREATE VIEW warnings AS
WITH w AS (
    SELECT event_type, occurred_at, recorded_at, org_id, member_id, actor_id, payload,
           json_get_str(payload, 'warning_id') AS warning_id
    FROM live_events
    WHERE event_type IN ('warning.raised', 'warning.notified', 'warning.acknowledged',
                         'warning.escalated', 'warning.resolved')
),
raised AS (
    SELECT warning_id, org_id, member_id,
           json_get_str(payload, 'rule') AS rule,
           json_get_str(payload, 'severity') AS severity,
           json_get_str(payload, 'subject_kind') AS subject_kind,
           json_get_str(payload, 'subject_id') AS subject_id,
           json_get_str(payload, 'detail') AS detail,
           json_get_str(payload, 'deadline') AS deadline,
           occurred_at AS last_raised_at,
           min(occurred_at) OVER (PARTITION BY warning_id) AS raised_at,
           ROW_NUMBER() OVER (PARTITION BY warning_id
                              ORDER BY occurred_at DESC, recorded_at DESC) AS rn
    FROM w
    WHERE event_type = 'warning.raised'
),
notified AS (
    SELECT warning_id, max(occurred_at) AS notified_at
    FROM w WHERE event_type = 'warning.notified'
    GROUP BY warning_id
),
acknowledged AS (
    SELECT warning_id, acknowledged_at, acknowledged_by, note
    FROM (
        SELECT warning_id, occurred_at AS acknowledged_at, actor_id AS acknowledged_by,
               json_get_str(payload, 'note') AS note,
               ROW_NUMBER() OVER (PARTITION BY warning_id ORDER BY occurred_at, recorded_at) AS rn
        FROM w WHERE event_type = 'warning.acknowledged'
    )
    WHERE rn = 1
),
escalated AS (
    SELECT warning_id, escalated_at, escalated_to
    FROM (
        SELECT warning_id, occurred_at AS escalated_at,
               json_get_str(payload, 'to_org_id') AS escalated_to,
               ROW_NUMBER() OVER (PARTITION BY warning_id ORDER BY occurred_at DESC, recorded_at DESC) AS rn
        FROM w WHERE event_type = 'warning.escalated'
    )
    WHERE rn = 1
),
resolved AS (
    SELECT warning_id, max(occurred_at) AS resolved_at
    FROM w WHERE event_type = 'warning.resolved'
    GROUP BY warning_id
)
SELECT r.warning_id, r.rule, r.severity, r.org_id, r.member_id, r.subject_kind, r.subject_id,
       r.detail, CAST(r.deadline AS DATE) AS deadline, r.raised_at, r.last_raised_at,
       n.notified_at, a.acknowledged_at, a.acknowledged_by, a.note,
       e.escalated_at, e.escalated_to, s.resolved_at,
       CASE WHEN s.resolved_at IS NOT NULL THEN 'resolved'
            WHEN a.acknowledged_at IS NOT NULL THEN 'acknowledged'
            ELSE 'open' END AS status,
       s.resolved_at IS NULL
           AND (n.notified_at IS NULL OR n.notified_at < r.last_raised_at
                OR (e.escalated_at IS NOT NULL AND n.notified_at < e.escalated_at)) AS needs_mail
FROM raised r
LEFT JOIN notified n ON n.warning_id = r.warning_id
LEFT JOIN acknowledged a ON a.warning_id = r.warning_id
LEFT JOIN escalated e ON e.warning_id = r.warning_id
LEFT JOIN resolved s ON s.warning_id = r.warning_id
WHERE r.rn = 1
