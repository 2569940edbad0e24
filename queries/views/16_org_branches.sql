-- name: org_branches
-- title: 组织所属支部
-- description: The branch (党支部) every org belongs to for the rules about members: a Party
--   group's is its parent, any other org its own (a member homed in a college answers to the
--   college). branch_dissolved_at is that branch's dissolution: the rules leave out members
--   whose branch is dissolved by the evaluation. One row per org.
CREATE VIEW org_branches AS
SELECT org_id, branch_id,
       max(CASE WHEN org_id = branch_id THEN dissolved_at END) OVER (PARTITION BY branch_id) AS branch_dissolved_at
FROM (
    SELECT org_id, dissolved_at,
           CASE WHEN kind = 'group' THEN parent_id ELSE org_id END AS branch_id
    FROM orgs
)
