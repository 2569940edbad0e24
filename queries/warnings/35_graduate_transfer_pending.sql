-- name: graduate_transfer_pending
-- title: 毕业党员组织关系未转出
-- description: A Party member (probationary or full) who has graduated
--   (`member.graduated`) and whose organisational relationship has not been transferred
--   out (`member.transferred_out`) — warning; kept at the school for more than
--   ${graduate_keep_years} years after graduation — critical. Under the rules of
--   组织关系转接 a graduate's relationship moves to the employer's branch or to the place of
--   residence; one without either may keep it at the school for at most two years.
--   Dates are China dates; keep_until = the graduation date + ${graduate_keep_years}
--   calendar years (29 February becomes 28 February). Warning from the graduation date
--   through keep_until, critical from the day after. Graduation, transfer and leaving
--   count up to the evaluation instant; members who left are not counted.
--   Boundaries, evaluated on 2026-11-25: graduated on 2024-11-25 (keep_until 2026-11-25,
--   today) warning; graduated on 2024-11-24 critical; graduated in June 2026 and
--   transferred out in July nothing; an activist who graduated (not a member) nothing.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning after graduation; critical when the evaluation date is after keep_until (graduation + ${graduate_keep_years} years)
-- ack_days: 14
-- message: 党员{member_name}已于{graduated_on}毕业，组织关系尚未转出（{transfer_state}）
-- param.graduate_keep_years: 2
WITH
graduates AS (
    SELECT member_id, member_name, branch_id, graduated_on,
           CAST(graduated_on + INTERVAL '${graduate_keep_years} years' AS DATE) AS keep_until
    FROM (
        SELECT p.member_id, p.name AS member_name, u.branch_id,
               china_date(p.graduated_at) AS graduated_on
        FROM people p
        JOIN org_branches u ON u.org_id = p.org_id
        WHERE p.stage IN ('probationary', 'full_member')
          AND p.graduated_at IS NOT NULL
          AND p.left_at IS NULL
          AND (p.transferred_out_at IS NULL OR p.transferred_out_at < p.transferred_in_at)
          AND u.branch_dissolved_at IS NULL
    )
)
SELECT branch_id AS org_id,
       member_id,
       CASE WHEN keep_until < DATE '${as_of_date}' THEN 'critical' ELSE 'warning' END AS severity,
       member_name,
       graduated_on,
       keep_until,
       CASE WHEN keep_until < DATE '${as_of_date}'
            THEN concat('已超过毕业后', '${graduate_keep_years}', '年的保留期限（', CAST(keep_until AS VARCHAR), '）')
            ELSE concat('最迟应于', CAST(keep_until AS VARCHAR), '前转出')
       END AS transfer_state
FROM graduates
