-- name: application_unanswered
-- title: 入党申请未按期谈话
-- description: An applicant (入党申请人) with whom the branch has not talked within
--   ${talk_months} month(s) of the application. 发展党员工作细则 (2014) art. 7: the Party
--   organisation talks with the applicant within one month of receiving the application
--   (党组织收到入党申请书后，应当在一个月内派人同入党申请人谈话).
--   Dates are China dates; the deadline is the application date plus ${talk_months}
--   calendar month(s), the day of the month kept (clipped to the month's last day: applied
--   on 31 January, due by 28 or 29 February). The rule fires from the day after the
--   deadline while no `member.talked` is recorded up to the evaluation instant; a late
--   talk ends the warning (the rule asks for the talk, it does not keep a record of
--   lapses). days_overdue = evaluation date − deadline. Only people still at the applicant
--   stage (not yet activists) who have not left or transferred out count.
--   Boundaries, evaluated on 2026-11-25: applied on 2026-10-25 (deadline 2026-11-25,
--   today) does not fire yet; applied on 2026-10-24 (deadline 2026-11-24) fires with
--   days_overdue 1; applied on 2026-09-20 and talked on 2026-10-20 (day 30) is fine.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning
-- ack_days: 7
-- message: 入党申请人{member_name}于{applied_on}递交入党申请书，已逾期{days_overdue}天仍未安排谈话（应于{talk_due_on}前谈话）
-- param.talk_months: 1
WITH
applicants AS (
    SELECT member_id, member_name, branch_id, applied_on,
           CAST(applied_on + INTERVAL '${talk_months} months' AS DATE) AS talk_due_on
    FROM (
        SELECT p.member_id, p.name AS member_name, u.branch_id,
               china_date(p.applied_at) AS applied_on
        FROM people p
        JOIN org_branches u ON u.org_id = p.org_id
        WHERE p.stage = 'applicant'
          AND p.status = 'active'
          AND p.applied_at IS NOT NULL
          AND p.talked_at IS NULL
          AND u.branch_dissolved_at IS NULL
    )
)
SELECT branch_id AS org_id,
       member_id,
       'warning' AS severity,
       member_name,
       applied_on,
       talk_due_on,
       CAST(CAST(DATE '${as_of_date}' AS INT) - CAST(talk_due_on AS INT) AS BIGINT) AS days_overdue
FROM applicants
WHERE talk_due_on < DATE '${as_of_date}'
