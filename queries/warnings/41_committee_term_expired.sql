-- name: committee_term_expired
-- title: 支部委员会任期届满未换届
-- description: An org whose committee (支部委员会; for a college, its 党委/党总支) was elected
--   longer ago than its term and not re-elected. Party Constitution (党章, 2022) art. 30:
--   a basic-level committee serves three to five years; the term of student branches is
--   ${committee_term_years} years, a setting; an `org.committee_elected` that states its
--   own term_years (3–5) is held to that term instead.
--   The latest `org.committee_elected` counts; the term runs from its date (China date);
--   expires_on = that date + the term in calendar years (29 February becomes 28 February).
--   The rule fires once the committee is older than its term, from the day after
--   expires_on; days_overdue = evaluation date − expires_on. Orgs never elected a
--   committee are not this rule's concern; dissolved orgs are skipped.
--   Boundaries, evaluated on 2026-11-25 with a 3-year term: elected on 2023-11-24 fires
--   (days_overdue 1); elected on 2023-11-25 (expires today) does not; elected on
--   2022-11-01 with term_years 5 does not.
-- schedule: 0 0 8 * * *
-- subject: org
-- severity: warning
-- ack_days: 30
-- message: {org_name}委员会于{elected_on}选举产生，任期{term_years}年已于{expires_on}届满，尚未换届（逾期{days_overdue}天）
-- param.committee_term_years: 3
-- A term ends on the same day term_years later (29 February → 28 February).
WITH expiring AS (
    SELECT org_id, org_name, elected_on, term_years,
           add_months(elected_on, 12 * term_years) AS expires_on
    FROM (
        SELECT org_id, name AS org_name,
               china_date(committee_elected_at) AS elected_on,
               CAST(COALESCE(committee_term_years, ${committee_term_years}) AS BIGINT) AS term_years
        FROM orgs
        WHERE committee_elected_at IS NOT NULL
          AND dissolved_at IS NULL
    )
)
SELECT org_id,
       CAST(NULL AS VARCHAR) AS member_id,
       'warning' AS severity,
       org_name,
       elected_on,
       term_years,
       expires_on,
       CAST(CAST(DATE '${as_of_date}' AS INT) - CAST(expires_on AS INT) AS BIGINT) AS days_overdue
FROM expiring
WHERE expires_on < DATE '${as_of_date}'
