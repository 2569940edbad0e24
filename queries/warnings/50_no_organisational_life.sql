-- name: no_organisational_life
-- title: 长期未参加组织生活
-- description: A Party member (probationary or full) present at no meeting of
--   organisational life for ${no_life_months} months. Party Constitution art. 9
--   (党章第九条): a member who without proper reason takes no part in organisational life
--   for six consecutive months is regarded as having given up membership (自行脱党); the
--   branch assembly decides, the system only warns.
--   The window is the ${no_life_months} calendar months that end with the evaluation date:
--   meetings on a China date after the evaluation date − ${no_life_months} months (day of the
--   month kept, clipped), up to the evaluation instant. Every `meeting.attended` is an
--   invitation (a later record for the same member and meeting replaces an earlier one, as
--   in `attendance_rates`). The rule fires when the member was invited to at least one
--   meeting in the window, present at none, and absent without leave (absent, not
--   excused) at least once: someone on approved leave for every meeting had a reason, and
--   someone invited to nothing is the branch's lapse (the meeting rules). Only members who
--   were members for the whole window (admitted or transferred in on or before its start)
--   count, who have not graduated, left or transferred out.
--   Boundaries, evaluated on 2026-11-25 (window 2026-05-26 to 2026-11-25): last present on
--   2026-05-25, absent since, fires; last present on 2026-05-26 does not; excused at every
--   meeting since April does not.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: critical
-- ack_days: 3
-- message: 党员{member_name}已连续{no_life_months}个月未参加组织生活（期间应参加{invited}次，缺席{absent}次，请假{excused}次；最近一次参加：{last_present}）
-- param.no_life_months: 6
WITH
span AS (
    SELECT CAST(DATE '${as_of_date}' - INTERVAL '${no_life_months} months' AS DATE) AS start_on
),
-- One row per member and meeting invited to (`attendance_latest`: the latest record wins,
-- a correction, and the time is the meeting's).
records AS (
    SELECT member_id, status, china_date(occurred_at) AS meeting_on
    FROM attendance_latest
),
per_member AS (
    SELECT r.member_id,
           count(CASE WHEN r.meeting_on > s.start_on THEN 1 END) AS invited,
           count(CASE WHEN r.meeting_on > s.start_on AND r.status = 'present' THEN 1 END) AS present,
           count(CASE WHEN r.meeting_on > s.start_on AND r.status = 'absent' THEN 1 END) AS absent,
           count(CASE WHEN r.meeting_on > s.start_on AND r.status = 'excused' THEN 1 END) AS excused,
           max(CASE WHEN r.status = 'present' THEN r.meeting_on END) AS last_present_on
    FROM records r
    CROSS JOIN span s
    GROUP BY r.member_id
),
members AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id
    FROM people p
    CROSS JOIN span s
    JOIN org_branches u ON u.org_id = p.org_id
    WHERE p.stage IN ('probationary', 'full_member')
      AND p.status = 'active'
      AND china_date(COALESCE(p.probationary_at, p.transferred_in_at)) <= s.start_on
      AND p.graduated_at IS NULL
      AND u.branch_dissolved_at IS NULL
)
SELECT m.branch_id AS org_id,
       m.member_id,
       'critical' AS severity,
       m.member_name,
       CAST(${no_life_months} AS BIGINT) AS no_life_months,
       CAST(a.invited AS BIGINT) AS invited,
       CAST(a.absent AS BIGINT) AS absent,
       CAST(a.excused AS BIGINT) AS excused,
       a.last_present_on,
       COALESCE(CAST(a.last_present_on AS VARCHAR), '无记录') AS last_present
FROM members m
JOIN per_member a ON a.member_id = m.member_id
WHERE a.invited > 0
  AND a.present = 0
  AND a.absent > 0
