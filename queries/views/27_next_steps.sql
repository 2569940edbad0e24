-- name: next_steps
-- title: 发展党员下一步
-- description: One row per active person in the development pipeline: the next step of
--   their development with the date it is due by, by the time rules of 发展党员工作细则
--   (2014) and the Party Constitution, and the rule that sets it — what 我的党建 shows
--   ("积极分子考察：下次考察应于 2027-01-10 前完成"). due_on is NULL where no rule sets a date
--   (the branch decides). The month counts are the warning rules' settings:
--   applicant, not yet talked with: 入党谈话 within ${talk_months} month(s) of the
--   application (art. 7); applicant talked with: 确定为入党积极分子; activist: the next
--   assessment ${assessment_months} months after the latest one (or the designation),
--   chapter 2; earliest_on is when a year of training allows designation as a development
--   target; development target: 政治审查, then 集中培训 (≥ 3 days or 24 class hours), then
--   the branch assembly's admission; probationary: the higher committee's approval within
--   ${approval_months} months of the admission, then the end of probation (a year and its
--   extensions, 党章 art. 7: `probations`), when the branch discusses conversion; full
--   member: the approval of the conversion within ${approval_months} months. A full member
--   whose conversion is approved has no next step (no row).
-- param.talk_months: 1
-- param.assessment_months: 6
-- param.approval_months: 3
CREATE VIEW next_steps AS
SELECT member_id, stage, step, due_on, earliest_on, rule
FROM (
    SELECT p.member_id, p.stage,
           CASE
               WHEN p.stage = 'none' THEN '递交入党申请书'
               WHEN p.stage = 'applicant' AND p.talked_at IS NULL THEN '入党谈话'
               WHEN p.stage = 'applicant' THEN '确定为入党积极分子'
               WHEN p.stage = 'activist' THEN '积极分子考察'
               WHEN p.stage = 'development_target' AND p.political_review_at IS NULL THEN '政治审查'
               WHEN p.stage = 'development_target' AND p.training_hours IS NULL THEN '集中培训（不少于3天或24学时）'
               WHEN p.stage = 'development_target' THEN '支部党员大会讨论接收为预备党员'
               WHEN p.stage = 'probationary' AND p.probationary_at IS NOT NULL AND p.admission_approved_at IS NULL THEN '上级党委审批入党'
               WHEN p.stage = 'probationary' THEN '预备期满，支部讨论转正'
               WHEN p.stage = 'full_member' AND p.converted_at IS NOT NULL AND p.conversion_approved_at IS NULL THEN '上级党委审批转正'
           END AS step,
           CASE
               WHEN p.stage = 'applicant' AND p.talked_at IS NULL
                   THEN add_months(china_date(p.applied_at), ${talk_months})
               WHEN p.stage = 'activist'
                   THEN add_months(china_date(COALESCE(p.last_assessed_at, p.activist_at)), ${assessment_months})
               WHEN p.stage = 'probationary' AND p.probationary_at IS NOT NULL AND p.admission_approved_at IS NULL
                   THEN add_months(china_date(p.probationary_at), ${approval_months})
               WHEN p.stage = 'probationary' THEN b.probation_ends
               WHEN p.stage = 'full_member' AND p.converted_at IS NOT NULL AND p.conversion_approved_at IS NULL
                   THEN add_months(china_date(p.converted_at), ${approval_months})
           END AS due_on,
           CASE WHEN p.stage = 'activist' THEN add_months(china_date(p.activist_at), 12) END AS earliest_on,
           CASE
               WHEN p.stage = 'none' THEN '党章第一条：年满十八岁，可以申请加入中国共产党'
               WHEN p.stage = 'applicant' AND p.talked_at IS NULL THEN '发展党员工作细则第七条：一个月内派人谈话'
               WHEN p.stage = 'applicant' THEN '发展党员工作细则第二章：确定入党积极分子'
               WHEN p.stage = 'activist' THEN '发展党员工作细则第二章：每半年考察一次，培养一年以上'
               WHEN p.stage = 'development_target' THEN '发展党员工作细则第三章：政治审查与集中培训'
               WHEN p.stage = 'probationary' AND p.probationary_at IS NOT NULL AND p.admission_approved_at IS NULL THEN '发展党员工作细则：上级党委三个月内审批'
               WHEN p.stage = 'probationary' THEN '党章第七条：预备期为一年，期满及时讨论转正'
               WHEN p.stage = 'full_member' THEN '发展党员工作细则：上级党委三个月内审批转正'
           END AS rule
    FROM people p
    LEFT JOIN probations b ON b.member_id = p.member_id
    WHERE p.status = 'active'
)
WHERE step IS NOT NULL
