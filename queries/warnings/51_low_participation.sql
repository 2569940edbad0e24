-- name: low_participation
-- title: 参与度偏低
-- description: A Party member (probationary or full) absent from the last
--   ${absences_in_row} meetings they were invited to, in a row, or with no study record for
--   more than ${study_gap_days} days — an early notice, well before no_organisational_life.
--   As to meetings, absences_in_row counts the member's invitations (`meeting.attended`,
--   a later record for the same member and meeting replacing an earlier one) to meetings
--   held up to the evaluation instant, absent, after the latest one they attended or were
--   excused from (excused is leave, not absence); fires at ${absences_in_row} or more.
--   As to study, days_without_study = evaluation date − the China date of the latest
--   `study.completed` up to the evaluation instant, or of the admission (transfer in) when
--   that is later or nothing was studied (a new member has ${study_gap_days} days); fires
--   when days_without_study > ${study_gap_days}.
--   One finding per member; reason names what fired. Members who graduated, left or
--   transferred out are not counted.
--   Boundaries, evaluated on 2026-11-25: absent, absent, absent at the last three fires;
--   absent, excused, absent does not; last study on 2026-10-25 (31 days) fires, on
--   2026-10-26 (30 days) does not.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: notice
-- ack_days: 14
-- message: 党员{member_name}参与度偏低：{reason}
-- param.absences_in_row: 3
-- param.study_gap_days: 30
WITH
members AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id,
           china_date(COALESCE(p.probationary_at, p.transferred_in_at)) AS member_on
    FROM people p
    JOIN org_branches u ON u.org_id = p.org_id
    WHERE p.stage IN ('probationary', 'full_member')
      AND p.status = 'active'
      AND COALESCE(p.probationary_at, p.transferred_in_at) IS NOT NULL
      AND p.graduated_at IS NULL
      AND u.branch_dissolved_at IS NULL
),
-- One row per member and meeting invited to (`attendance_latest`: the latest record wins,
-- a correction, and the time is the meeting's).
records AS (
    SELECT member_id, status, occurred_at AS meeting_at
    FROM attendance_latest
),
-- The absences in a row are those after the latest meeting attended or excused.
attended AS (
    SELECT member_id, max(CASE WHEN status <> 'absent' THEN meeting_at END) AS last_attended_at
    FROM records
    GROUP BY member_id
),
absences AS (
    SELECT r.member_id,
           count(*) AS absences_in_row,
           max(china_date(r.meeting_at)) AS last_meeting_on
    FROM records r
    JOIN attended a ON a.member_id = r.member_id
    WHERE r.status = 'absent'
      AND (a.last_attended_at IS NULL OR r.meeting_at > a.last_attended_at)
    GROUP BY r.member_id
    HAVING count(*) >= ${absences_in_row}
),
studied AS (
    SELECT member_id, max(occurred_on) AS last_study_on
    FROM study
    GROUP BY member_id
),
flagged AS (
    SELECT m.member_id, m.member_name, m.branch_id, a.absences_in_row, a.last_meeting_on, s.last_study_on,
           CAST(CAST(DATE '${as_of_date}' AS INT) - CAST(greatest(s.last_study_on, m.member_on) AS INT) AS BIGINT) AS days_without_study
    FROM members m
    LEFT JOIN absences a ON a.member_id = m.member_id
    LEFT JOIN studied s ON s.member_id = m.member_id
)
SELECT branch_id AS org_id,
       member_id,
       'notice' AS severity,
       member_name,
       CAST(absences_in_row AS BIGINT) AS absences_in_row,
       last_meeting_on,
       last_study_on,
       days_without_study,
       concat_ws('；',
                 CASE WHEN absences_in_row IS NOT NULL
                      THEN concat('最近连续', CAST(absences_in_row AS VARCHAR), '次组织生活缺席（最近一次',
                                  CAST(last_meeting_on AS VARCHAR), '）') END,
                 CASE WHEN days_without_study > ${study_gap_days}
                      THEN concat('已', CAST(days_without_study AS VARCHAR), '天没有学习记录') END) AS reason
FROM flagged
WHERE absences_in_row IS NOT NULL
   OR days_without_study > ${study_gap_days}
