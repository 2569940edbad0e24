-- name: probation_ending
-- title: 预备期即将届满或已届满未转正
-- description: A probationary member (预备党员) whose probation ends within
--   ${probation_warn_days} days, or has ended, with no conversion (`member.converted_full`)
--   recorded up to the evaluation instant. Party Constitution art. 7 (党章第七条): the
--   probation is one year, counted from the day the branch assembly admits the member;
--   when it ends the branch discusses the conversion promptly; it may be extended, by at
--   most a year (发展党员工作细则: by at least half a year).
--   probation_ends = the admission date (`member.admitted_probationary`, China date) plus
--   12 calendar months plus every extension (`member.probation_extended`, months)
--   recorded up to the evaluation, the day of the month kept and clipped to the month's
--   last day (admitted on 29 February 2024: ends 28 February 2025). days_left =
--   probation_ends − evaluation date. Fires with warning while 0 <= days_left <=
--   ${probation_warn_days}, with critical once days_left < 0 (the probation is over and
--   nothing was decided). Only members admitted here count (someone who arrived already
--   probationary has no admission date here), who have not left or transferred out.
--   Boundaries, evaluated on 2026-11-25: admitted on 2025-12-24 (ends 2026-12-24,
--   days_left 29) warning; admitted on 2025-12-26 (days_left 31) nothing; admitted on
--   2025-11-20 (ended 2026-11-20) critical; admitted on 2025-09-10 and extended by 6 months
--   (ends 2027-03-10) nothing.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning when 0 <= days_left <= ${probation_warn_days}; critical when days_left < 0
-- ack_days: 7
-- message: 预备党员{member_name}的预备期{probation_state}（满期日{probation_ends}），支部尚未讨论其转正
-- param.probation_warn_days: 30
WITH
-- Probation ends a year (and any extension) after the admission, the day of the month
-- kept and clipped to the month's end (`probations`).
ends AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id, b.admitted_on, b.probation_ends
    FROM people p
    JOIN org_branches u ON u.org_id = p.org_id
    JOIN probations b ON b.member_id = p.member_id
    WHERE p.status = 'active'
      AND b.converted_at IS NULL
      AND u.branch_dissolved_at IS NULL
),
scored AS (
    SELECT *, CAST(CAST(probation_ends AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left
    FROM ends
)
SELECT branch_id AS org_id,
       member_id,
       CASE WHEN days_left < 0 THEN 'critical' ELSE 'warning' END AS severity,
       member_name,
       admitted_on,
       probation_ends,
       days_left,
       CASE WHEN days_left > 0 THEN concat('将于', CAST(days_left AS VARCHAR), '天后届满')
            WHEN days_left = 0 THEN '今天届满'
            ELSE concat('已届满', CAST(-days_left AS VARCHAR), '天')
       END AS probation_state
FROM scored
WHERE days_left <= ${probation_warn_days}
