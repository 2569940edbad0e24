-- name: evaluations
-- title: 民主评议
-- description: The rating of each member in each year's democratic evaluation
--   (`evaluation.submitted`); a later submission for the same member and year replaces
--   an earlier one.
CREATE VIEW evaluations AS
SELECT event_id, org_id, member_id, year, rating, occurred_at
FROM (
    SELECT event_id, org_id, member_id,
           year,
           rating,
           occurred_at,
           ROW_NUMBER() OVER (
               PARTITION BY member_id, year
               ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) AS rn
    FROM live_events
    WHERE event_type = 'evaluation.submitted'
)
WHERE rn = 1
