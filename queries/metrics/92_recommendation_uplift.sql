-- name: recommendation_uplift
-- title: 学习推荐效果（智能党建）
-- description: Did the study pushed to members help? Per org (branch, college, university),
--   from the recorded pushes (`study_pushes`, the `study.recommended` events):
--   members_recommended / recommendations — members with a recommendation and the
--   recommendations made; members_followed / followed — those who completed at least one,
--   and the recommendations completed, within ${follow_days} days of being recommended;
--   follow_share = followed / recommendations. The baseline is what the same members did
--   without a push: comparable = resources of a topic recommended to the member that week,
--   published by then, not recommended to them that week and not completed before it;
--   comparable_followed = those completed within ${follow_days} days; comparable_share =
--   their share. uplift = follow_share − comparable_share (percentage points as a
--   fraction): above 0 the recommendations were followed more than comparable material.
--   Rows exist for orgs with at least one push.
-- grain: org (branch, college, university)
-- schedule: 0 20 * * * *
-- materialise: true
-- param.follow_days: 14
WITH
rollup AS (
    SELECT unit_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
recommended AS (
    SELECT member_id, org_id, week, resource_id, recommended_at, 1 AS recommended
    FROM study_pushes
),
comparable AS (
    SELECT DISTINCT g.member_id, g.org_id, g.week, r.resource_id, g.recommended_at, 0 AS recommended
    FROM (
        SELECT member_id, org_id, week, topic, min(recommended_at) AS recommended_at
        FROM study_pushes
        WHERE topic IS NOT NULL
        GROUP BY member_id, org_id, week, topic
    ) g
    JOIN resources r ON r.topic = g.topic AND r.published_at <= g.recommended_at
    LEFT JOIN study_pushes x
      ON x.member_id = g.member_id AND x.week = g.week AND x.resource_id = r.resource_id
    WHERE x.member_id IS NULL
),
pairs AS (
    SELECT * FROM recommended
    UNION ALL
    SELECT * FROM comparable
),
judged AS (
    SELECT p.member_id, p.org_id, p.recommended,
           max(CASE WHEN s.occurred_at < p.recommended_at THEN 1 ELSE 0 END) AS done_before,
           max(CASE WHEN s.occurred_at >= p.recommended_at
                     AND to_unixtime(s.occurred_at) - to_unixtime(p.recommended_at) <= ${follow_days} * 86400
                    THEN 1 ELSE 0 END) AS followed
    FROM pairs p
    LEFT JOIN study s ON s.member_id = p.member_id AND s.resource_id = p.resource_id
    GROUP BY p.member_id, p.org_id, p.week, p.resource_id, p.recommended
),
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id,
           count(DISTINCT CASE WHEN j.recommended = 1 THEN j.member_id END) AS members_recommended,
           count(DISTINCT CASE WHEN j.recommended = 1 AND j.followed = 1 THEN j.member_id END) AS members_followed,
           sum(j.recommended) AS recommendations,
           sum(CASE WHEN j.recommended = 1 THEN j.followed ELSE 0 END) AS followed,
           sum(1 - j.recommended) AS comparable,
           sum(CASE WHEN j.recommended = 0 THEN j.followed ELSE 0 END) AS comparable_followed
    FROM judged j
    JOIN rollup r ON r.unit_id = j.org_id
    WHERE j.done_before = 0 AND r.org_id IS NOT NULL
    GROUP BY r.org_id, r.org_name, r.org_kind, r.parent_id
)
SELECT org_id, org_name, org_kind, parent_id,
       CAST(members_recommended AS BIGINT) AS members_recommended,
       CAST(members_followed AS BIGINT) AS members_followed,
       CAST(recommendations AS BIGINT) AS recommendations,
       CAST(followed AS BIGINT) AS followed,
       CAST(followed AS DOUBLE) / recommendations AS follow_share,
       CAST(comparable AS BIGINT) AS comparable,
       CAST(comparable_followed AS BIGINT) AS comparable_followed,
       CASE WHEN comparable > 0 THEN CAST(comparable_followed AS DOUBLE) / comparable END AS comparable_share,
       CAST(followed AS DOUBLE) / recommendations
         - CASE WHEN comparable > 0 THEN CAST(comparable_followed AS DOUBLE) / comparable END AS uplift
FROM counted
WHERE recommendations > 0
