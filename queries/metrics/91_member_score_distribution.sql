-- name: member_score_distribution
-- title: 党员综合评价分布
-- description: How the comprehensive scores of `member_score` spread, per org and year:
--   the number of people in each band of ten points (band 0 = [0, 10), …, band 9 =
--   [90, 100]; a score of exactly 100 falls in band 9), with the band's label, and per
--   org and year the mean and the sample standard deviation of the scores. A person
--   counts at their home org (`member_score.org_id`); a Party group's people count for
--   its branch too, and every branch's for its college and the university, so each org
--   row pools its whole subtree. People without a score (no part applies) are left out.
-- grain: org (group, branch, college, university) × year × band
-- schedule: 0 50 2 * * *
-- materialise: true
WITH RECURSIVE ancestry AS (
    -- Every org paired with itself and each of its ancestors.
    SELECT org_id, org_id AS ancestor_id FROM orgs
    UNION ALL
    SELECT a.org_id, o.parent_id AS ancestor_id
    FROM ancestry a JOIN orgs o ON o.org_id = a.ancestor_id
    WHERE o.parent_id IS NOT NULL
),
scored AS (
    SELECT member_id, org_id, year, total_score,
           CAST(least(floor(total_score / 10), 9) AS BIGINT) AS band
    FROM member_score
    WHERE total_score IS NOT NULL
),
pooled AS (
    SELECT a.ancestor_id AS org_id, s.year, s.band, s.total_score
    FROM scored s JOIN ancestry a ON a.org_id = s.org_id
),
bands AS (
    SELECT org_id, year, band, CAST(count(*) AS BIGINT) AS members
    FROM pooled
    GROUP BY org_id, year, band
),
summary AS (
    SELECT org_id, year, CAST(count(*) AS BIGINT) AS scored,
           avg(total_score) AS mean_score, stddev_samp(total_score) AS stddev_score
    FROM pooled
    GROUP BY org_id, year
)
SELECT b.org_id, o.name AS org_name, o.kind AS org_kind, o.parent_id, b.year, b.band,
       concat(CAST(b.band * 10 AS VARCHAR), '–', CAST(b.band * 10 + 10 AS VARCHAR)) AS band_label,
       b.members, s.scored, s.mean_score, s.stddev_score
FROM bands b
JOIN summary s ON s.org_id = b.org_id AND s.year = b.year
JOIN orgs o ON o.org_id = b.org_id
