-- name: member_score
-- title: 党员综合评价（数字党建）
-- description: The comprehensive score of each person per year (数字党建), from the data the
--   platform holds, with every part shown. Each part is on a 0–100 scale:
--   dues = 100 × paid months / due months (as `dues_monthly`);
--   attendance = 100 × present / invited (as `attendance_rates`: excused counts as invited);
--   study = min(100, 100 × minutes / ${study_target_minutes_per_year}) (as `study_monthly`;
--   the default target is 32 class hours of 60 minutes a year);
--   quiz = mean score_pct of the quizzes taken (`quizzes`);
--   evaluation = the year's democratic evaluation: excellent 100, qualified 80,
--   basically_qualified 60, unqualified 0 (`evaluations`);
--   interaction = min(100, 100 × interaction index / ${interaction_target}) (as
--   `interaction_index`, with the same weights: keep weight_post, weight_comment and
--   weight_like in step with that file's).
--   total_score = Σ weight × part / Σ weight over the parts that apply, with weights
--   dues ${weight_dues}, attendance ${weight_attendance}, study ${weight_study},
--   quiz ${weight_quiz}, evaluation ${weight_evaluation}, interaction ${weight_interaction}
--   (settings; they need not sum to 1). A part that does not apply is NULL and left out,
--   the other weights renormalised: dues when nothing was due (not yet a Party member),
--   attendance when the person was invited to no meeting, quiz when they took none,
--   evaluation when they were not rated (probationary members are not), study and
--   interaction for months before the platform recorded any such activity. Within the
--   recorded months, no study or no interaction is a real 0, not a missing part.
--   weight_used is Σ weight of the parts that apply. Who is scored: Party members
--   (党员), probationary or full, with a row for every year from the year they became one
--   (admitted as probationary, or transferred in as a member) to the year they left (or
--   the latest year with data). Applicants, activists and development targets are not
--   members yet and are not scored: their development has its own checks (talks,
--   assessments, training), and a score of their study and interaction alone — the only
--   parts that would apply — put about a third of the demo's people in the 0–10 band.
--   The parts follow the rules of the models named above but are computed here from the
--   views directly, per year at once, rather than by reading those models: planning four
--   models with their org roll-ups in one query costs more than the whole computation.
-- grain: member × year
-- schedule: 0 40 2 * * *
-- materialise: true
-- param.study_target_minutes_per_year: 1920
-- param.interaction_target: 24
-- param.weight_dues: 0.25
-- param.weight_attendance: 0.25
-- param.weight_study: 0.15
-- param.weight_quiz: 0.15
-- param.weight_evaluation: 0.15
-- param.weight_interaction: 0.05
-- param.weight_post: 3
-- param.weight_comment: 2
-- param.weight_like: 1
WITH asof AS (
    SELECT max(month) AS month FROM live_events
),
first_study AS (
    SELECT min(month) AS month FROM study
),
first_interaction AS (
    SELECT min(month) AS month FROM interactions WHERE kind IN ('post', 'comment', 'like')
),
-- Months as indexes (year × 12 + month − 1), so a year is the range 12y .. 12y + 11.
persons AS (
    SELECT member_id, org_id, registered_index, last_index, dues_first_index,
           CASE WHEN study_first_index IS NOT NULL
                THEN greatest(registered_index, study_first_index) END AS study_first_index,
           CASE WHEN interaction_first_index IS NOT NULL
                THEN greatest(registered_index, interaction_first_index) END AS interaction_first_index
    FROM (
        SELECT p.member_id, p.org_id,
               CAST(date_part('year', china_date(p.registered_at)) * 12
                    + date_part('month', china_date(p.registered_at)) - 1 AS BIGINT) AS registered_index,
               CASE WHEN p.status = 'active'
                    THEN CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) - 1
                    ELSE least(CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) - 1,
                               CAST(date_part('year', china_date(COALESCE(p.left_at, p.transferred_out_at))) * 12
                                    + date_part('month', china_date(COALESCE(p.left_at, p.transferred_out_at))) - 1 AS BIGINT))
               END AS last_index,
               CASE WHEN p.stage IN ('probationary', 'full_member')
                    THEN CAST(date_part('year', china_date(COALESCE(p.probationary_at, p.transferred_in_at))) * 12
                              + date_part('month', china_date(COALESCE(p.probationary_at, p.transferred_in_at))) - 1 AS BIGINT)
               END AS dues_first_index,
               CAST(substr(s.month, 1, 4) AS BIGINT) * 12 + CAST(substr(s.month, 6, 2) AS BIGINT) - 1 AS study_first_index,
               CAST(substr(i.month, 1, 4) AS BIGINT) * 12 + CAST(substr(i.month, 6, 2) AS BIGINT) - 1 AS interaction_first_index
        FROM people p
        CROSS JOIN asof a
        CROSS JOIN first_study s
        CROSS JOIN first_interaction i
    )
),
-- One row per person and year, with the range of months each part covers in that year
-- (none when the start is NULL or after the end; `greatest` would skip a NULL).
person_years AS (
    SELECT member_id, org_id, year,
           CASE WHEN dues_first_index IS NOT NULL THEN greatest(dues_first_index, year * 12) END AS dues_from,
           CASE WHEN study_first_index IS NOT NULL THEN greatest(study_first_index, year * 12) END AS study_from,
           CASE WHEN interaction_first_index IS NOT NULL THEN greatest(interaction_first_index, year * 12) END AS interaction_from,
           least(last_index, year * 12 + 11) AS until
    FROM (
        SELECT *, unnest(generate_series(dues_first_index / 12, last_index / 12)) AS year
        FROM persons
        WHERE dues_first_index IS NOT NULL
    )
),
paid AS (
    SELECT DISTINCT member_id,
           CAST(substr(period, 1, 4) AS BIGINT) * 12 + CAST(substr(period, 6, 2) AS BIGINT) - 1 AS month_index
    FROM dues
),
dues_year AS (
    SELECT y.member_id, y.year,
           max(y.until - y.dues_from + 1) AS due_months,
           count(p.month_index) AS paid_months
    FROM person_years y
    LEFT JOIN paid p ON p.member_id = y.member_id AND p.month_index BETWEEN y.dues_from AND y.until
    WHERE y.dues_from <= y.until
    GROUP BY y.member_id, y.year
),
-- As attendance_rates: a later record for the same member and meeting replaces an earlier one.
attendance_year AS (
    SELECT member_id, CAST(substr(month, 1, 4) AS BIGINT) AS year,
           count(*) AS invited,
           sum(CASE WHEN status = 'present' THEN 1 ELSE 0 END) AS present
    FROM attendance_latest
    GROUP BY member_id, CAST(substr(month, 1, 4) AS BIGINT)
),
study_year AS (
    SELECT y.member_id, y.year, COALESCE(sum(s.minutes), 0.0) AS minutes
    FROM person_years y
    LEFT JOIN study s
      ON s.member_id = y.member_id
     AND CAST(substr(s.month, 1, 4) AS BIGINT) * 12 + CAST(substr(s.month, 6, 2) AS BIGINT) - 1
         BETWEEN y.study_from AND y.until
    WHERE y.study_from <= y.until
    GROUP BY y.member_id, y.year
),
interaction_year AS (
    SELECT y.member_id, y.year,
           COALESCE(sum(CASE x.kind WHEN 'post' THEN ${weight_post} WHEN 'comment' THEN ${weight_comment}
                                    WHEN 'like' THEN ${weight_like} END), 0) AS interaction_index
    FROM person_years y
    LEFT JOIN interactions x
      ON x.member_id = y.member_id
     AND x.kind IN ('post', 'comment', 'like')
     AND CAST(substr(x.month, 1, 4) AS BIGINT) * 12 + CAST(substr(x.month, 6, 2) AS BIGINT) - 1
         BETWEEN y.interaction_from AND y.until
    WHERE y.interaction_from <= y.until
    GROUP BY y.member_id, y.year
),
quiz_year AS (
    SELECT member_id, CAST(substr(month, 1, 4) AS BIGINT) AS year,
           count(*) AS quizzes, avg(score_pct) AS mean_score
    FROM quizzes
    GROUP BY member_id, CAST(substr(month, 1, 4) AS BIGINT)
),
parts AS (
    SELECT p.member_id, p.org_id, p.year,
           d.due_months, d.paid_months,
           100.0 * d.paid_months / d.due_months AS dues_score,
           a.invited, a.present,
           100.0 * a.present / a.invited AS attendance_score,
           s.minutes AS study_minutes,
           CASE WHEN s.minutes IS NOT NULL
                THEN least(100.0, 100.0 * s.minutes / ${study_target_minutes_per_year}) END AS study_score,
           q.quizzes,
           q.mean_score AS quiz_score,
           e.rating,
           CASE e.rating
               WHEN 'excellent' THEN 100.0 WHEN 'qualified' THEN 80.0
               WHEN 'basically_qualified' THEN 60.0 WHEN 'unqualified' THEN 0.0
           END AS evaluation_score,
           i.interaction_index,
           CASE WHEN i.interaction_index IS NOT NULL
                THEN least(100.0, 100.0 * i.interaction_index / ${interaction_target}) END AS interaction_score
    FROM person_years p
    LEFT JOIN dues_year d ON d.member_id = p.member_id AND d.year = p.year
    LEFT JOIN attendance_year a ON a.member_id = p.member_id AND a.year = p.year
    LEFT JOIN study_year s ON s.member_id = p.member_id AND s.year = p.year
    LEFT JOIN quiz_year q ON q.member_id = p.member_id AND q.year = p.year
    LEFT JOIN evaluations e ON e.member_id = p.member_id AND e.year = p.year
    LEFT JOIN interaction_year i ON i.member_id = p.member_id AND i.year = p.year
),
weighted AS (
    SELECT *,
           CASE WHEN dues_score IS NULL THEN 0.0 ELSE ${weight_dues} END
         + CASE WHEN attendance_score IS NULL THEN 0.0 ELSE ${weight_attendance} END
         + CASE WHEN study_score IS NULL THEN 0.0 ELSE ${weight_study} END
         + CASE WHEN quiz_score IS NULL THEN 0.0 ELSE ${weight_quiz} END
         + CASE WHEN evaluation_score IS NULL THEN 0.0 ELSE ${weight_evaluation} END
         + CASE WHEN interaction_score IS NULL THEN 0.0 ELSE ${weight_interaction} END AS weight_used,
           COALESCE(${weight_dues} * dues_score, 0.0)
         + COALESCE(${weight_attendance} * attendance_score, 0.0)
         + COALESCE(${weight_study} * study_score, 0.0)
         + COALESCE(${weight_quiz} * quiz_score, 0.0)
         + COALESCE(${weight_evaluation} * evaluation_score, 0.0)
         + COALESCE(${weight_interaction} * interaction_score, 0.0) AS weighted_sum
    FROM parts
)
SELECT member_id, org_id, year,
       CAST(due_months AS BIGINT) AS due_months,
       CAST(paid_months AS BIGINT) AS paid_months,
       CAST(dues_score AS DOUBLE) AS dues_score,
       CAST(invited AS BIGINT) AS invited,
       CAST(present AS BIGINT) AS present,
       CAST(attendance_score AS DOUBLE) AS attendance_score,
       CAST(study_minutes AS DOUBLE) AS study_minutes,
       CAST(study_score AS DOUBLE) AS study_score,
       CAST(quizzes AS BIGINT) AS quizzes,
       CAST(quiz_score AS DOUBLE) AS quiz_score,
       rating,
       CAST(evaluation_score AS DOUBLE) AS evaluation_score,
       CAST(interaction_index AS DOUBLE) AS interaction_index,
       CAST(interaction_score AS DOUBLE) AS interaction_score,
       CAST(weight_used AS DOUBLE) AS weight_used,
       CAST(CASE WHEN weight_used > 0 THEN weighted_sum / weight_used END AS DOUBLE) AS total_score
FROM weighted
