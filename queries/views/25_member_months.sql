-- name: member_months
-- title: 党员在册月份
-- description: Every month (China time, `YYYY-MM`) each registered person belonged to their
--   org: from the month of their registration to the as-of month — the latest month with any
--   live event — or, for someone who left or transferred out, the month they went. org_id is
--   their org now (`people.org_id`). The denominators of the per-member monthly figures
--   (study, forum activity) count these rows.
-- grain: person × month
CREATE VIEW member_months AS
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
spans AS (
    SELECT p.member_id, p.org_id,
           to_char(china_date(p.registered_at), '%Y-%m') AS first_month,
           CASE WHEN p.status = 'active' THEN a.month
                ELSE least(a.month, to_char(china_date(COALESCE(p.left_at, p.transferred_out_at)), '%Y-%m'))
           END AS last_month
    FROM people p
    CROSS JOIN asof a
),
indexed AS (
    SELECT member_id, org_id,
           unnest(generate_series(
               CAST(substr(first_month, 1, 4) AS BIGINT) * 12 + CAST(substr(first_month, 6, 2) AS BIGINT) - 1,
               CAST(substr(last_month, 1, 4) AS BIGINT) * 12 + CAST(substr(last_month, 6, 2) AS BIGINT) - 1
           )) AS month_index
    FROM spans
    WHERE first_month IS NOT NULL
)
SELECT member_id, org_id,
       concat(CAST(month_index / 12 AS VARCHAR), '-', lpad(CAST(month_index % 12 + 1 AS VARCHAR), 2, '0')) AS month
FROM indexed
