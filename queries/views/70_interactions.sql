-- name: interactions
-- title: 互动党建
-- description: Forum and participation activity of members: posts, comments, likes,
--   activities joined and notices read, one row each, with `kind` telling which.
CREATE VIEW interactions AS
SELECT event_id, org_id, member_id,
       CASE event_type
           WHEN 'post.created' THEN 'post'
           WHEN 'comment.created' THEN 'comment'
           WHEN 'like.given' THEN 'like'
           WHEN 'activity.joined' THEN 'activity'
           WHEN 'notice.read' THEN 'notice_read'
       END AS kind,
       COALESCE(json_get_str(payload, 'post_id'), json_get_str(payload, 'target_id'),
                json_get_str(payload, 'activity_id'), json_get_str(payload, 'notice_id')) AS target_id,
       occurred_at, occurred_on, month
FROM live_events
WHERE event_type IN ('post.created', 'comment.created', 'like.given', 'activity.joined', 'notice.read')
