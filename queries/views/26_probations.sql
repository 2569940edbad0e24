-- name: probations
-- title: 预备期
-- description: One row per person admitted as a probationary member (预备党员): the
--   admission's China date, the months of extension (`member.probation_extended`, summed)
--   and the day the probation ends — a year and the extensions after the admission, the
--   day of the month kept and clipped to the month's end (党章 art. 7: 预备期为一年; an
--   extension is at most a year). converted_at is the conversion, when made.
CREATE VIEW probations AS
SELECT p.member_id,
       china_date(p.probationary_at) AS admitted_on,
       CAST(COALESCE(x.months, 0) AS BIGINT) AS extended_months,
       add_months(china_date(p.probationary_at), 12 + COALESCE(x.months, 0)) AS probation_ends,
       p.converted_at
FROM people p
LEFT JOIN (
    SELECT member_id, sum(json_get_int(payload, 'months')) AS months
    FROM live_events
    WHERE event_type = 'member.probation_extended'
    GROUP BY member_id
) x ON x.member_id = p.member_id
WHERE p.probationary_at IS NOT NULL
