-- name: study_recommendations
-- title: 学习推荐（智能党建）
-- description: Up to ${max_per_member} study resources for each person in the Party
--   pipeline (applicants to full members, active, not graduated), for the week of the
--   evaluation date (week = its Monday, China date), each with its reasons in Chinese.
--   A resource is a candidate for a member when at least one of four signals holds — no
--   recommendation without a reason, and never a resource the member already completed:
--   quiz_gap: the resource's topic is one where the member's mean quiz score (score_pct,
--     over their quizzes of that topic) is ${quiz_lag_points} points or more below their
--     branch's (the mean of its members' means, over at least ${quiz_min_takers} members);
--   stage_required: the resource is required for the member's current stage
--     (`required_for` of `resource.published`);
--   behind_pace: a Party member (probationary or full) whose study minutes this calendar
--     year are more than ${pace_tolerance_minutes} below the pace of
--     ${study_target_minutes_per_year} a year (pro rata from 1 January, or from the day
--     they became a member when that is later);
--   peers: at least ${peer_min_members} other members of their branch completed the
--     resource in the last ${peer_days} days.
--   score = Σ of the weights of the signals that hold (quiz_gap ${weight_quiz_gap},
--   stage_required ${weight_stage_required}, behind_pace ${weight_behind_pace}, peers
--   ${weight_peers}); rank 1 is the highest score, ties broken by more branch members
--   having studied it recently (the peers signal's count), then the shorter resource, then
--   the newer, then resource_id. reason joins the signals' sentences in the order
--   above with '；'; signals names them (comma-separated). The member's branch is that of
--   their current home (after a transfer, the receiving branch). All weights and
--   thresholds are settings (`queries.params`).
--   The weekly push (schedule above, China time) records each as `study.recommended` and
--   mails the member a digest; 我的党建 shows them at once, computed as of the moment.
--   Boundaries (tests/slt/recommendations_2026-11-25.slt): a member with no quiz gets no
--   quiz_gap; one who studied every resource gets nothing; 10 points below the branch is a
--   gap, 9.9 is not; ${pace_tolerance_minutes} minutes behind pace is not behind.
-- schedule: 0 0 8 * * Mon
-- param.max_per_member: 3
-- param.quiz_lag_points: 10
-- param.quiz_min_takers: 2
-- param.pace_tolerance_minutes: 60
-- param.study_target_minutes_per_year: 1920
-- param.peer_days: 14
-- param.peer_min_members: 2
-- param.weight_quiz_gap: 4
-- param.weight_stage_required: 3
-- param.weight_behind_pace: 1
-- param.weight_peers: 1
WITH
members AS (
    SELECT p.member_id, p.org_id, p.stage, u.branch_id,
           CASE WHEN p.stage IN ('probationary', 'full_member')
                THEN china_date(COALESCE(p.probationary_at, p.transferred_in_at)) END AS member_on
    FROM people p
    JOIN org_branches u ON u.org_id = p.org_id
    WHERE p.status = 'active'
      AND p.stage IN ('applicant', 'activist', 'development_target', 'probationary', 'full_member')
      AND p.graduated_at IS NULL
      AND u.branch_dissolved_at IS NULL
),
done AS (
    SELECT DISTINCT member_id, resource_id FROM study
),
quiz_topic AS (
    SELECT m.member_id, m.branch_id, q.topic, avg(q.score_pct) AS own_pct
    FROM quizzes q
    JOIN members m ON m.member_id = q.member_id
    WHERE q.topic IS NOT NULL
    GROUP BY m.member_id, m.branch_id, q.topic
),
branch_topic AS (
    SELECT branch_id, topic, avg(own_pct) AS branch_pct, count(*) AS takers
    FROM quiz_topic
    GROUP BY branch_id, topic
),
gaps AS (
    SELECT t.member_id, t.topic, t.own_pct, b.branch_pct
    FROM quiz_topic t
    JOIN branch_topic b ON b.branch_id = t.branch_id AND b.topic = t.topic
    WHERE b.takers >= ${quiz_min_takers}
      AND b.branch_pct - t.own_pct >= ${quiz_lag_points}
),
pace AS (
    SELECT member_id, minutes,
           ${study_target_minutes_per_year} * (CAST(DATE '${as_of_date}' AS INT) - CAST(since AS INT) + 1) / 365.0 AS expected
    FROM (
        -- The date condition in the sum, not in the join: a range condition of a join
        -- is pushed into the scan as a dynamic filter that DataFusion 55 can mistype.
        SELECT m.member_id, m.since,
               COALESCE(sum(CASE WHEN s.occurred_on >= m.since THEN s.minutes END), 0.0) AS minutes
        FROM (
            SELECT member_id,
                   greatest(member_on, CAST(date_trunc('year', DATE '${as_of_date}') AS DATE)) AS since
            FROM members
            WHERE member_on IS NOT NULL
        ) m
        LEFT JOIN study s ON s.member_id = m.member_id
        GROUP BY m.member_id, m.since
    )
),
behind AS (
    SELECT member_id, minutes, expected
    FROM pace
    WHERE minutes < expected - ${pace_tolerance_minutes}
),
peers AS (
    SELECT m.branch_id, s.resource_id, s.member_id
    FROM study s
    JOIN members m ON m.member_id = s.member_id
    WHERE CAST(s.occurred_on AS INT) > CAST(DATE '${as_of_date}' AS INT) - ${peer_days}
),
signals AS (
    SELECT g.member_id, r.resource_id, 'quiz_gap' AS signal, ${weight_quiz_gap} AS weight, 0 AS peers,
           concat('「', g.topic, '」测试平均', CAST(round(g.own_pct) AS BIGINT), '分，低于本支部平均',
                  CAST(round(g.branch_pct) AS BIGINT), '分') AS sentence
    FROM gaps g
    JOIN resources r ON r.topic = g.topic
    UNION ALL
    SELECT m.member_id, r.resource_id, 'stage_required', ${weight_stage_required}, 0,
           concat(CASE m.stage WHEN 'applicant' THEN '入党申请人' WHEN 'activist' THEN '入党积极分子'
                               WHEN 'development_target' THEN '发展对象' WHEN 'probationary' THEN '预备党员'
                               ELSE '正式党员' END,
                  '阶段的必学内容，尚未学习')
    FROM members m
    JOIN resources r ON strpos(r.required_for, concat('"', m.stage, '"')) > 0
    UNION ALL
    SELECT b.member_id, r.resource_id, 'behind_pace', ${weight_behind_pace}, 0,
           concat('今年已学习', CAST(round(b.minutes) AS BIGINT), '分钟，落后于全年',
                  CAST(${study_target_minutes_per_year} AS BIGINT), '分钟的进度（此时应达',
                  CAST(round(b.expected) AS BIGINT), '分钟）')
    FROM behind b
    CROSS JOIN resources r
    UNION ALL
    SELECT m.member_id, p.resource_id, 'peers', ${weight_peers}, count(DISTINCT p.member_id),
           concat('本支部近', CAST(${peer_days} AS BIGINT), '天有', CAST(count(DISTINCT p.member_id) AS BIGINT), '名同志学习了此内容')
    FROM members m
    JOIN peers p ON p.branch_id = m.branch_id AND p.member_id <> m.member_id
    GROUP BY m.member_id, p.resource_id
    HAVING count(DISTINCT p.member_id) >= ${peer_min_members}
),
scored AS (
    SELECT s.member_id, s.resource_id,
           sum(s.weight) AS score,
           max(s.peers) AS peers,
           concat_ws('；',
                     max(CASE WHEN s.signal = 'quiz_gap' THEN s.sentence END),
                     max(CASE WHEN s.signal = 'stage_required' THEN s.sentence END),
                     max(CASE WHEN s.signal = 'behind_pace' THEN s.sentence END),
                     max(CASE WHEN s.signal = 'peers' THEN s.sentence END)) AS reason,
           concat_ws(',',
                     max(CASE WHEN s.signal = 'quiz_gap' THEN s.signal END),
                     max(CASE WHEN s.signal = 'stage_required' THEN s.signal END),
                     max(CASE WHEN s.signal = 'behind_pace' THEN s.signal END),
                     max(CASE WHEN s.signal = 'peers' THEN s.signal END)) AS signals
    FROM signals s
    LEFT JOIN done d ON d.member_id = s.member_id AND d.resource_id = s.resource_id
    WHERE d.member_id IS NULL
    GROUP BY s.member_id, s.resource_id
),
ranked AS (
    SELECT s.*, r.title, r.topic, r.minutes,
           ROW_NUMBER() OVER (PARTITION BY s.member_id
                              ORDER BY s.score DESC, s.peers DESC, COALESCE(r.minutes, 1e9), r.published_at DESC, s.resource_id) AS rank
    FROM scored s
    JOIN resources r ON r.resource_id = s.resource_id
)
SELECT r.member_id, m.org_id, m.branch_id,
       CAST(date_trunc('week', DATE '${as_of_date}') AS DATE) AS week,
       CAST(r.rank AS BIGINT) AS rank,
       r.resource_id, r.title, r.topic, CAST(r.minutes AS DOUBLE) AS minutes,
       r.signals, r.reason, CAST(r.score AS DOUBLE) AS score
FROM ranked r
JOIN members m ON m.member_id = r.member_id
WHERE r.rank <= ${max_per_member}
