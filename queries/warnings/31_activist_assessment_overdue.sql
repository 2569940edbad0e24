-- name: activist_assessment_overdue
-- title: 入党积极分子考察逾期
-- description: An activist (入党积极分子) not assessed (`member.activist_assessed`) for more
--   than ${assessment_months} months. 发展党员工作细则 (2014), chapter 2: the branch assesses
--   each activist every half year (党支部每半年对入党积极分子进行一次考察).
--   The clock starts at the latest assessment recorded up to the evaluation instant, or,
--   for an activist never assessed, at the designation (`member.activist_designated`; for
--   someone who arrived as an activist, the transfer in). Dates are China dates; the next
--   assessment is due ${assessment_months} calendar months later, the day of the month kept
--   (clipped to the month's last day). The rule fires from the day after that date;
--   days_overdue = evaluation date − due date. Only current activists count (not yet
--   development targets), who have not graduated, left or transferred out.
--   Boundaries, evaluated on 2026-11-25: last assessed on 2026-05-25 (due 2026-11-25,
--   today) does not fire; last assessed on 2026-05-24 fires with days_overdue 1; designated
--   on 2026-05-20 and never assessed fires with days_overdue 5.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning
-- ack_days: 7
-- message: 入党积极分子{member_name}自{last_review_on}起已超过{assessment_months}个月未进行考察（逾期{days_overdue}天）
-- param.assessment_months: 6
WITH
assessed AS (
    SELECT member_id, max(occurred_at) AS assessed_at
    FROM live_events
    WHERE event_type = 'member.activist_assessed'
    GROUP BY member_id
),
activists AS (
    SELECT member_id, member_name, branch_id, last_review_on,
           CAST(last_review_on + INTERVAL '${assessment_months} months' AS DATE) AS due_on
    FROM (
        SELECT p.member_id, p.name AS member_name, u.branch_id,
               china_date(greatest(COALESCE(p.activist_at, p.transferred_in_at), a.assessed_at)) AS last_review_on
        FROM people p
        JOIN org_branches u ON u.org_id = p.org_id
        LEFT JOIN assessed a ON a.member_id = p.member_id
        WHERE p.stage = 'activist'
          AND p.status = 'active'
          AND COALESCE(p.activist_at, p.transferred_in_at) IS NOT NULL
          AND p.graduated_at IS NULL
          AND u.branch_dissolved_at IS NULL
    )
)
SELECT branch_id AS org_id,
       member_id,
       'warning' AS severity,
       member_name,
       last_review_on,
       due_on,
       CAST(${assessment_months} AS BIGINT) AS assessment_months,
       CAST(CAST(DATE '${as_of_date}' AS INT) - CAST(due_on AS INT) AS BIGINT) AS days_overdue
FROM activists
WHERE due_on < DATE '${as_of_date}'
