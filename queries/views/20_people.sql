-- name: people
-- title: 人员与发展阶段
-- description: One row per registered person: personal data from the latest
--   `member.registered`, the org they belong to now (registration or latest transfer in),
--   their current development stage and the date of every milestone of the pipeline.
--   stage: none (registered only) / applicant / activist / development_target /
--   probationary / full_member. status: active / transferred_out / left.
--   A projection: kept as a table from each commit's `member.*` events (only the people
--   they touch are computed again); `live.people` computes it from every event.
-- projection.key: member_id
-- projection.events: member.%
-- projection.masked: name = member.registered.name, student_no = member.registered.student_no, email = member.registered.email, phone = member.registered.phone, birth_date = member.registered.birth_date
CREATE VIEW people AS
WITH reg AS (
    SELECT member_id, org_id,
           json_get_str(payload, 'name') AS name,
           json_get_str(payload, 'student_no') AS student_no,
           json_get_str(payload, 'gender') AS gender,
           json_get_int(payload, 'grade') AS grade,
           json_get_str(payload, 'major') AS major,
           json_get_str(payload, 'class_name') AS class_name,
           json_get_str(payload, 'email') AS email,
           json_get_str(payload, 'phone') AS phone,
           CAST(json_get_str(payload, 'birth_date') AS DATE) AS birth_date,
           CAST(json_get_str(payload, 'expected_graduation') AS DATE) AS expected_graduation,
           occurred_at AS registered_at,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'member.registered'
),
home AS (
    SELECT member_id, org_id,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type IN ('member.registered', 'member.transferred_in')
),
steps AS (
    SELECT member_id, event_type, occurred_at,
           CASE event_type
               WHEN 'member.applied' THEN 'applicant'
               WHEN 'member.activist_designated' THEN 'activist'
               WHEN 'member.development_target_designated' THEN 'development_target'
               WHEN 'member.admitted_probationary' THEN 'probationary'
               WHEN 'member.converted_full' THEN 'full_member'
               WHEN 'member.transferred_in' THEN stage
           END AS stage,
           CASE event_type
               WHEN 'member.applied' THEN 1
               WHEN 'member.activist_designated' THEN 2
               WHEN 'member.development_target_designated' THEN 3
               WHEN 'member.admitted_probationary' THEN 4
               WHEN 'member.converted_full' THEN 5
               ELSE 0
           END AS step_order
    FROM live_events
    WHERE event_type IN ('member.applied', 'member.activist_designated',
                         'member.development_target_designated', 'member.admitted_probationary',
                         'member.converted_full', 'member.transferred_in')
),
current_stage AS (
    SELECT member_id, stage, occurred_at AS stage_since,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY occurred_at DESC, step_order DESC) AS rn
    FROM steps
),
milestones AS (
    SELECT member_id,
           MIN(CASE WHEN event_type = 'member.applied' THEN occurred_at END) AS applied_at,
           MIN(CASE WHEN event_type = 'member.talked' THEN occurred_at END) AS talked_at,
           MIN(CASE WHEN event_type = 'member.activist_designated' THEN occurred_at END) AS activist_at,
           MAX(CASE WHEN event_type = 'member.activist_assessed' THEN occurred_at END) AS last_assessed_at,
           MIN(CASE WHEN event_type = 'member.development_target_designated' THEN occurred_at END) AS development_target_at,
           MIN(CASE WHEN event_type = 'member.political_review_completed' THEN occurred_at END) AS political_review_at,
           SUM(CASE WHEN event_type = 'member.training_completed' THEN json_get_float(payload, 'hours') END) AS training_hours,
           MIN(CASE WHEN event_type = 'member.admitted_probationary' THEN occurred_at END) AS probationary_at,
           MIN(CASE WHEN event_type = 'member.admission_approved' THEN occurred_at END) AS admission_approved_at,
           SUM(CASE WHEN event_type = 'member.probation_extended' THEN json_get_int(payload, 'months') END) AS probation_extended_months,
           MIN(CASE WHEN event_type = 'member.converted_full' THEN occurred_at END) AS converted_at,
           MIN(CASE WHEN event_type = 'member.conversion_approved' THEN occurred_at END) AS conversion_approved_at,
           MIN(CASE WHEN event_type = 'member.graduated' THEN occurred_at END) AS graduated_at,
           MAX(CASE WHEN event_type = 'member.transferred_in' THEN occurred_at END) AS transferred_in_at,
           MAX(CASE WHEN event_type = 'member.transferred_out' THEN occurred_at END) AS transferred_out_at,
           MIN(CASE WHEN event_type = 'member.left' THEN occurred_at END) AS left_at
    FROM live_events
    WHERE event_type LIKE 'member.%'
    GROUP BY member_id
)
SELECT r.member_id,
       h.org_id,
       r.name, r.student_no, r.gender, r.grade, r.major, r.class_name, r.email, r.phone,
       r.birth_date, r.expected_graduation, r.registered_at,
       COALESCE(s.stage, 'none') AS stage,
       s.stage_since,
       CASE
           WHEN m.left_at IS NOT NULL THEN 'left'
           WHEN m.transferred_out_at IS NOT NULL
                AND (m.transferred_in_at IS NULL OR m.transferred_out_at > m.transferred_in_at) THEN 'transferred_out'
           ELSE 'active'
       END AS status,
       m.applied_at, m.talked_at, m.activist_at, m.last_assessed_at, m.development_target_at,
       m.political_review_at, m.training_hours, m.probationary_at, m.admission_approved_at,
       COALESCE(m.probation_extended_months, 0) AS probation_extended_months,
       m.converted_at, m.conversion_approved_at, m.graduated_at, m.transferred_in_at,
       m.transferred_out_at, m.left_at
FROM reg r
LEFT JOIN home h ON h.member_id = r.member_id AND h.rn = 1
LEFT JOIN current_stage s ON s.member_id = r.member_id AND s.rn = 1
LEFT JOIN milestones m ON m.member_id = r.member_id
WHERE r.rn = 1
