-- name: admissions_yearly
-- title: 发展党员与按期转正
-- description: New probationary members per year, and whether probationary members were
--   converted to full members on time, per org and year (China time).
--   admissions counts people whose admission as a probationary member (`member.admitted_probationary`,
--   the first live one) falls in the year, at their home org.
--   Conversions are counted in the year the probation ends. The probation ends 12 months
--   after the day of admission, plus any extension (`member.probation_extended`, months);
--   the regulation asks the branch to discuss the conversion "promptly" when it ends, which
--   is read as: within ${conversion_slack_months} month(s) after the end of the probation.
--   So a conversion (`member.converted_full`) on or before
--   admission day + (12 + extension + slack) months (calendar months, the day of month kept,
--   clipped to the month's end; dates in China time) is on time, a later one is late.
--   Not yet converted: overdue once that deadline lies before the latest day with any live
--   event, pending otherwise. on_time_share = on time / (on time + late + overdue), NULL
--   when no conversion was decided or overdue yet. Members who arrived already
--   probationary (transferred in) have no admission date here and are not counted.
-- grain: org (branch, college, university) × year
-- schedule: 0 0 * * * *
-- materialise: true
-- param.conversion_slack_months: 1
WITH asof AS (
    SELECT max(occurred_on) AS day FROM live_events
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
admitted AS (
    SELECT member_id, org_id AS branch_id,
           probation_extended_months,
           china_date(probationary_at) AS admitted_on,
           china_date(converted_at) AS converted_on
    FROM people
    WHERE probationary_at IS NOT NULL
),
-- Dates as keys month_index * 100 + day, month_index = year * 12 + month - 1: adding
-- months is adding to the index, and comparing keys compares dates (with the day of
-- month kept, a deadline on the 31st of a 30-day month is its last day either way).
keyed AS (
    SELECT a.member_id, a.branch_id,
           date_part('year', a.admitted_on) AS admitted_year,
           (date_part('year', a.admitted_on) * 12 + date_part('month', a.admitted_on) - 1
               + 12 + a.probation_extended_months) AS end_index,
           (date_part('year', a.admitted_on) * 12 + date_part('month', a.admitted_on) - 1
               + 12 + a.probation_extended_months + ${conversion_slack_months}) * 100
               + date_part('day', a.admitted_on) AS deadline_key,
           (date_part('year', a.converted_on) * 12 + date_part('month', a.converted_on) - 1) * 100
               + date_part('day', a.converted_on) AS converted_key,
           (date_part('year', s.day) * 12 + date_part('month', s.day) - 1) * 100
               + date_part('day', s.day) AS asof_key
    FROM admitted a
    CROSS JOIN asof s
),
outcomes AS (
    SELECT member_id, branch_id, admitted_year,
           floor(end_index / 12) AS due_year,
           CASE
               WHEN converted_key IS NOT NULL AND converted_key <= deadline_key THEN 'on_time'
               WHEN converted_key IS NOT NULL THEN 'late'
               WHEN deadline_key < asof_key THEN 'overdue'
               ELSE 'pending'
           END AS outcome
    FROM keyed
),
-- Each admitted member counts twice: once in the year of admission, once in the year
-- their probation ends.
facts AS (
    SELECT o.branch_id,
           CAST(CASE f.fact WHEN 'admission' THEN o.admitted_year ELSE o.due_year END AS BIGINT) AS year,
           f.fact, o.outcome
    FROM outcomes o
    CROSS JOIN (VALUES ('admission'), ('conversion')) AS f(fact)
)
SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, f.year,
       CAST(sum(CASE WHEN f.fact = 'admission' THEN 1 ELSE 0 END) AS BIGINT) AS admissions,
       CAST(sum(CASE WHEN f.fact = 'conversion' THEN 1 ELSE 0 END) AS BIGINT) AS conversions_due,
       CAST(sum(CASE WHEN f.fact = 'conversion' AND f.outcome = 'on_time' THEN 1 ELSE 0 END) AS BIGINT) AS converted_on_time,
       CAST(sum(CASE WHEN f.fact = 'conversion' AND f.outcome = 'late' THEN 1 ELSE 0 END) AS BIGINT) AS converted_late,
       CAST(sum(CASE WHEN f.fact = 'conversion' AND f.outcome = 'overdue' THEN 1 ELSE 0 END) AS BIGINT) AS overdue,
       CAST(sum(CASE WHEN f.fact = 'conversion' AND f.outcome = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
       CAST(sum(CASE WHEN f.fact = 'conversion' AND f.outcome = 'on_time' THEN 1 ELSE 0 END) AS DOUBLE)
           / nullif(sum(CASE WHEN f.fact = 'conversion' AND f.outcome <> 'pending' THEN 1 ELSE 0 END), 0) AS on_time_share
FROM facts f
JOIN rollup r ON r.unit_id = f.branch_id
WHERE r.org_id IS NOT NULL
GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id, f.year
