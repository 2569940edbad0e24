-- name: interaction_index
-- title: 互动党建指数
-- description: Forum activity per person and month — posts (`post.created`), comments
--   (`comment.created`) and likes (`like.given`) — and an interaction index weighing them
--   by the effort they take: index = posts × ${weight_post} + comments × ${weight_comment}
--   + likes × ${weight_like} (weights are settings; `member_score` uses the same ones).
--   Months run from the first month with any post, comment or like to the latest month
--   with any live event (China time). Every registered person counts in each month from
--   the month they registered until the month they left or transferred out, at their home
--   org (`people.org_id`), with zeros when they did nothing — so avg_index = index /
--   members is per capita. members_active counts those with any activity.
--   Rows — per person and month (level = member, members = 1), and sums per branch,
--   college and university (level = org kind).
-- grain: member × month; org (branch, college, university) × month
-- schedule: 0 15 * * * *
-- materialise: true
-- param.weight_post: 3
-- param.weight_comment: 2
-- param.weight_like: 1
WITH first_activity AS (
    SELECT min(month) AS month FROM interactions WHERE kind IN ('post', 'comment', 'like')
),
-- Each unit (a branch or a group) with the orgs its figures count for: its branch (level 1),
-- college (2) and university (3).
rollup AS (
    SELECT unit_id, branch_id, tier AS n, org_id, org_name, org_kind, parent_id
    FROM org_units
    WHERE tier BETWEEN 1 AND 3
),
activity AS (
    SELECT member_id, month,
           sum(CASE WHEN kind = 'post' THEN 1 ELSE 0 END) AS posts,
           sum(CASE WHEN kind = 'comment' THEN 1 ELSE 0 END) AS comments,
           sum(CASE WHEN kind = 'like' THEN 1 ELSE 0 END) AS likes
    FROM interactions
    WHERE kind IN ('post', 'comment', 'like')
    GROUP BY member_id, month
),
member_rows AS (
    SELECT m.member_id, m.branch_id, m.month,
           COALESCE(s.posts, 0) AS posts,
           COALESCE(s.comments, 0) AS comments,
           COALESCE(s.likes, 0) AS likes
    FROM (
        -- Each person's months (`member_months`) from the first month with any record.
        SELECT mm.member_id, mm.org_id AS branch_id, mm.month
        FROM member_months mm
        CROSS JOIN first_activity f
        WHERE f.month IS NULL OR mm.month >= f.month
    ) m
    LEFT JOIN activity s ON s.member_id = m.member_id AND s.month = m.month
),
-- One pass makes both the member rows (kept at the branch level only) and the org rows.
counted AS (
    SELECT r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month,
           grouping(m.member_id) AS is_org_row,
           count(*) AS members,
           sum(CASE WHEN m.posts + m.comments + m.likes > 0 THEN 1 ELSE 0 END) AS members_active,
           sum(m.posts) AS posts,
           sum(m.comments) AS comments,
           sum(m.likes) AS likes
    FROM member_rows m
    JOIN rollup r ON r.unit_id = m.branch_id
    WHERE r.org_id IS NOT NULL
    GROUP BY GROUPING SETS (
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.month),
        (r.org_id, r.org_name, r.org_kind, r.parent_id, r.n, m.member_id, m.month))
    HAVING grouping(m.member_id) = 1 OR r.n = 1
)
SELECT CASE WHEN is_org_row = 1 THEN org_kind ELSE 'member' END AS level,
       org_id, org_name, org_kind, parent_id, member_id, month,
       CAST(members AS BIGINT) AS members,
       CAST(members_active AS BIGINT) AS members_active,
       CAST(posts AS BIGINT) AS posts,
       CAST(comments AS BIGINT) AS comments,
       CAST(likes AS BIGINT) AS likes,
       CAST(posts * ${weight_post} + comments * ${weight_comment} + likes * ${weight_like} AS DOUBLE) AS interaction_index,
       CAST(posts * ${weight_post} + comments * ${weight_comment} + likes * ${weight_like} AS DOUBLE) / members AS avg_index
FROM counted
