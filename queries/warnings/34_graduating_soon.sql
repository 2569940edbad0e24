-- name: graduating_soon
-- title: 发展对象或预备党员即将毕业
-- description: A development target (发展对象) or a probationary member (预备党员) who
--   graduates within ${graduating_months} months — a probationary member only when that is
--   before the probation ends — so the branch can plan before the person leaves.
--   发展党员工作细则 (2014): a development target who will leave the school within three
--   months is generally not admitted (发展对象未来三个月内将离开工作、学习单位的，一般不办理接收预备党员
--   的手续); a probationary member who graduates moves on with the probation unfinished
--   and needs the transfer of the relationship prepared.
--   Graduation is the expected graduation date of `member.registered`, for people not yet
--   graduated (`member.graduated`) by the evaluation; dates are China dates. Fires when the
--   evaluation date <= expected_graduation <= the evaluation date + ${graduating_months}
--   calendar months (day of the month kept, clipped), for a development target; for a
--   probationary member (admitted here, not converted by the evaluation) when moreover
--   expected_graduation < probation_ends, computed as in probation_ending (admission +
--   12 months + extensions) — one who graduates after the probation ends can be converted
--   first. days_left = expected graduation − evaluation date. People who left or
--   transferred out are not counted.
--   Boundaries, evaluated on 2026-11-25: a development target graduating on 2027-02-25
--   fires, on 2027-02-26 does not; a probationary member whose probation ends on
--   2027-01-20 fires when graduating on 2027-01-19, not on 2027-01-20; one graduating on
--   2027-02-26, before a probation that ends on 2027-06-15, does not fire yet.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: notice
-- ack_days: 14
-- message: {stage_label}{member_name}预计于{expected_graduation}毕业（还有{days_left}天），{reason}
-- param.graduating_months: 3
WITH
-- The end of probation as in probation_ending (`probations`).
dated AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id, p.expected_graduation,
           CASE WHEN p.probationary_at IS NOT NULL THEN 'probationary'
                WHEN p.development_target_at IS NOT NULL OR p.stage = 'development_target' THEN 'development_target'
           END AS stage_now,
           b.probation_ends
    FROM people p
    JOIN org_branches u ON u.org_id = p.org_id
    LEFT JOIN probations b ON b.member_id = p.member_id
    WHERE p.status = 'active'
      AND p.expected_graduation >= DATE '${as_of_date}'
      AND p.graduated_at IS NULL
      AND p.converted_at IS NULL
      AND u.branch_dissolved_at IS NULL
)
SELECT branch_id AS org_id,
       member_id,
       'notice' AS severity,
       member_name,
       CASE stage_now WHEN 'probationary' THEN '预备党员' ELSE '发展对象' END AS stage_label,
       expected_graduation,
       probation_ends,
       CAST(CAST(expected_graduation AS INT) - CAST(DATE '${as_of_date}' AS INT) AS BIGINT) AS days_left,
       CASE stage_now
           WHEN 'probationary' THEN concat('早于预备期满（', CAST(probation_ends AS VARCHAR), '），请提前做好转正讨论或组织关系转接')
           ELSE '不足${graduating_months}个月，一般不再办理接收预备党员手续'
       END AS reason
FROM dated
WHERE stage_now IS NOT NULL
  AND expected_graduation <= CAST(DATE '${as_of_date}' + INTERVAL '${graduating_months} months' AS DATE)
  AND (stage_now = 'development_target' OR expected_graduation < probation_ends)
