-- name: approval_overdue
-- title: 入党或转正审批逾期
-- description: An admission or a conversion decided by the branch assembly that the higher
--   Party committee has not approved within ${approval_months} months. 发展党员工作细则
--   (2014): the higher committee approves an admission within three months of the branch
--   assembly's decision (上级党委...应当在三个月内审批), and a conversion likewise.
--   An admission is a `member.admitted_probationary` with no `member.admission_approved`,
--   a conversion a `member.converted_full` with no `member.conversion_approved`, both counted
--   up to the evaluation instant. Dates are China dates; the approval is due
--   ${approval_months} calendar months after the decision, the day of the month kept
--   (clipped to the month's last day), approval on the due date is in time; the rule fires
--   from the day after; days_overdue = evaluation date − due date. A member with both
--   overdue is reported once, for the admission (the older). Members who left or
--   transferred out are not counted (their file has moved on).
--   Boundaries, evaluated on 2026-11-25: admitted on 2026-08-25 (due 2026-11-25, today)
--   nothing; admitted on 2026-08-24 fires with days_overdue 1; converted on 2026-07-10 and
--   approved on 2026-10-09 nothing; converted on 2026-07-20, not approved, fires.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning
-- ack_days: 7
-- message: {member_name}的{approval}已由支部大会于{decided_on}通过，超过{approval_months}个月仍未获上级党委审批（逾期{days_overdue}天）
-- param.approval_months: 3
WITH
pending AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id, d.step, d.approval,
           china_date(CASE d.step WHEN 1 THEN p.probationary_at ELSE p.converted_at END) AS decided_on
    FROM people p
    JOIN org_branches u ON u.org_id = p.org_id
    CROSS JOIN (VALUES (1, '接收预备党员'), (2, '预备党员转正')) AS d(step, approval)
    WHERE p.status = 'active'
      AND u.branch_dissolved_at IS NULL
      AND CASE d.step
              WHEN 1 THEN p.probationary_at IS NOT NULL
                          AND p.admission_approved_at IS NULL
              ELSE p.converted_at IS NOT NULL
                   AND p.conversion_approved_at IS NULL
          END
),
overdue AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY step) AS rn
    FROM (
        SELECT *, CAST(decided_on + INTERVAL '${approval_months} months' AS DATE) AS approval_due_on
        FROM pending
    )
    WHERE approval_due_on < DATE '${as_of_date}'
)
SELECT branch_id AS org_id,
       member_id,
       'warning' AS severity,
       member_name,
       approval,
       decided_on,
       approval_due_on,
       CAST(${approval_months} AS BIGINT) AS approval_months,
       CAST(CAST(DATE '${as_of_date}' AS INT) - CAST(approval_due_on AS INT) AS BIGINT) AS days_overdue
FROM overdue
WHERE rn = 1
