-- name: evaluation_missing
-- title: 未参加年度民主评议
-- description: A full member not rated (`evaluation.submitted`) in the year's democratic
--   evaluation (民主评议党员) once its deadline has passed. 支部工作条例 (2018): the branch
--   holds the democratic evaluation of members once a year (每年开展1次民主评议党员), usually
--   with the year-end 组织生活会; probationary members take part but are not rated.
--   The evaluation of year Y is due by ${evaluation_deadline} (month-day) of year Y + 1,
--   China dates, that day included. The year checked is the latest one whose deadline lies
--   before the evaluation date: on 2026-11-25 it is 2025 (due by 2026-01-31); on 2026-01-31
--   it is still 2024, on 2026-02-01 it becomes 2025. The finding stays until the rating is
--   recorded or the next year's deadline passes.
--   Who must be rated for year Y: people who were full members at the branch's evaluation
--   of year Y — full since (`member.converted_full`, or the transfer in of someone who
--   arrived as a full member) on or before the cutoff, where the cutoff is 31 December of
--   year Y, or the day of the branch's first rating for year Y when that is earlier (a
--   member converted after the branch met is rated the next year) — who were here by the
--   cutoff (registered, transferred in), had not graduated by it, and are still here (not
--   left, not transferred out). A rating for year Y submitted up to the evaluation instant
--   counts, whenever it was made.
--   Boundaries, evaluated on 2026-11-25 (year 2025): converted on 2025-12-31 and not rated
--   fires; converted on 2026-01-05 nothing; converted on 2025-12-20 in a branch that rated
--   on 2025-12-12 nothing; probationary members nothing.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning
-- ack_days: 14
-- message: 党员{member_name}未参加{year}年度民主评议（应于{deadline}前完成）
-- param.evaluation_deadline: 01-31
WITH checked AS (
    SELECT year, CAST(concat(CAST(year + 1 AS VARCHAR), '-${evaluation_deadline}') AS DATE) AS deadline
    FROM (
        SELECT CAST(CASE WHEN DATE '${as_of_date}'
                              > CAST(concat(CAST(date_part('year', DATE '${as_of_date}') AS VARCHAR), '-${evaluation_deadline}') AS DATE)
                         THEN date_part('year', DATE '${as_of_date}') - 1
                         ELSE date_part('year', DATE '${as_of_date}') - 2
                    END AS BIGINT) AS year
    )
),
rated AS (
    SELECT e.member_id, e.org_id, e.occurred_at
    FROM evaluations e
    JOIN checked c ON e.year = c.year
),
-- The day each branch first rated anyone for the year checked.
branch_rated AS (
    SELECT u.branch_id, min(china_date(r.occurred_at)) AS rated_on
    FROM rated r
    JOIN org_branches u ON u.org_id = r.org_id
    GROUP BY u.branch_id
),
expected AS (
    SELECT p.member_id, p.name AS member_name, u.branch_id, c.year, c.deadline,
           china_date(COALESCE(p.converted_at, CASE WHEN p.stage = 'full_member' THEN p.transferred_in_at END)) AS full_on,
           china_date(greatest(p.registered_at, p.transferred_in_at)) AS here_on,
           china_date(p.graduated_at) AS graduated_on,
           least(CAST(concat(CAST(c.year AS VARCHAR), '-12-31') AS DATE), b.rated_on) AS cutoff
    FROM people p
    CROSS JOIN checked c
    JOIN org_branches u ON u.org_id = p.org_id
    LEFT JOIN branch_rated b ON b.branch_id = u.branch_id
    WHERE p.stage = 'full_member'
      AND p.status = 'active'
      AND u.branch_dissolved_at IS NULL
)
SELECT x.branch_id AS org_id,
       x.member_id,
       'warning' AS severity,
       x.member_name,
       x.year,
       x.deadline
FROM expected x
LEFT JOIN rated r ON r.member_id = x.member_id
WHERE r.member_id IS NULL
  AND x.full_on <= x.cutoff
  AND x.here_on <= x.cutoff
  AND (x.graduated_on IS NULL OR x.graduated_on > x.cutoff)
