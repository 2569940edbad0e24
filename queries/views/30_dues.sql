-- name: dues
-- title: 党费缴纳
-- description: One row per dues payment (`dues.paid`): the member, their org, the month
--   paid for (`period`, YYYY-MM) and the amount in fen. A period paid twice shows twice;
--   metrics count distinct periods.
CREATE VIEW dues AS
SELECT event_id,
       org_id,
       member_id,
       period,
       amount_fen,
       occurred_at,
       occurred_on
FROM live_events
WHERE event_type = 'dues.paid'
