//! What a caller may write: the write rules, by what an event means, not by its
//! envelope alone.
//!
//! A token's scope is an org subtree. An event is in scope when everything it acts on
//! is: its own org, and what it points to —
//!
//! | event | must be in the caller's scope |
//! |---|---|
//! | every event | its `org_id` (or an org created earlier in the same request) |
//! | `org.created` | the new org's `parent_id`; an org without a parent (the university) only as the first org, by a token scoped to it. A second creation of an existing org id is refused by the writer (409 `org_exists`), where duplicates of the same event are told apart |
//! | an event about a member | the org the member belongs to now (`people`: the latest registration or transfer in) |
//! | `member.transferred_in` | as above, unless the sending side recorded `member.transferred_out` (or the member left): the 组织关系转接 pair. An admin may move a member directly |
//! | `event.retracted` | the retracted event's org; a server-owned event cannot be retracted, and the event must exist |
//! | `warning.*`, `study.recommended`, `study.digest_sent` | never: written only by the server (its warning engine, the acknowledge endpoint, the weekly study push) |
//!
//! The checks read the org and member directories of the warehouse, which the writer
//! keeps up to date after every commit, and the stored events that retractions name
//! ([`Pointed`], looked up by the caller before the check).

use std::collections::HashMap;

use uuid::Uuid;
use warehouse::OrgDirectory;
use warehouse::members::{HomeChange, MemberDirectory, MemberStatus};

use crate::{EventType, Payload, ValidEvent};

/// Who is writing: their scope, whether they are an admin (who may move a member
/// between scopes without the transfer pair), and the `actor_id` their events get.
#[derive(Debug, Clone, Copy)]
pub struct WriteCaller<'a> {
    pub scope: &'a str,
    pub admin: bool,
    pub actor: &'a str,
}

/// A stored event that an event of the request points to: its org and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub org_id: String,
    pub event_type: EventType,
}

/// The stored events that the request's retractions name, by id (an id not stored
/// is absent).
pub type Pointed = HashMap<Uuid, StoredEvent>;

/// Why a request may not be written, naming the event and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// A stable snake_case key for the answer's `error`.
    pub key: &'static str,
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Outside the caller's scope, or not the caller's to write (403).
    Forbidden,
    /// Points to something that does not exist, or says what is not so (422).
    Unknown,
}

impl EventType {
    /// Events only the server writes: the warning lifecycle (raised by the warning
    /// engine, acknowledged through `POST /api/v1/warnings/{id}/ack`) and the weekly
    /// study push (what it recommended, whom it mailed).
    pub fn is_server_owned(self) -> bool {
        matches!(
            self,
            EventType::StudyRecommended
                | EventType::StudyDigestSent
                | EventType::WarningRaised
                | EventType::WarningNotified
                | EventType::WarningAcknowledged
                | EventType::WarningEscalated
                | EventType::WarningResolved
        )
    }
}

/// The ids of the stored events that the request's retractions name (to look up
/// before [`check`]); ids of events of the same request are left out.
pub fn retracted_ids(events: &[ValidEvent]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::EventRetracted(r) => Some(r.event_id),
            _ => None,
        })
        .filter(|id| !events.iter().any(|e| e.event_id == *id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A client's request as it may be written: checked against the write rules ([`check`],
/// with the stored events its retractions name looked up first) and recorded by the
/// caller — `actor_id` is the token's person; a client's different value is refused
/// (422 `actor_mismatch`), never stored.
pub async fn admit(
    warehouse: &warehouse::Warehouse,
    events: Vec<ValidEvent>,
    caller: WriteCaller<'_>,
) -> crate::Result<Vec<ValidEvent>> {
    let pointed = pointed(warehouse, &events).await?;
    check(
        &events,
        caller,
        warehouse.orgs(),
        warehouse.members(),
        &pointed,
    )
    .map_err(|refusal| crate::IngestError::Refused { refusal })?;
    let actor = caller.actor;
    if let Some((index, sent)) = events.iter().enumerate().find_map(|(i, e)| {
        e.actor_id
            .as_deref()
            .filter(|sent| *sent != actor)
            .map(|sent| (i, sent))
    }) {
        return Err(crate::IngestError::Refused {
            refusal: Refusal {
                kind: RefusalKind::Unknown,
                key: "actor_mismatch",
                index,
                field: "actor_id",
                message: format!(
                    "event {index}: actor_id `{sent}` is not you; the server records who wrote an event from the token (`{actor}`): leave actor_id out"
                ),
            },
        });
    }
    Ok(events.into_iter().map(|e| e.recorded_by(actor)).collect())
}

/// How a committed event moves a person's home, if it does: the one mapping the writer
/// applies after a commit (and the tests' model of it).
pub fn home_change(e: &ValidEvent) -> Option<(&str, HomeChange<'_>)> {
    let member = e.member_id.as_deref()?;
    let change = match e.event_type {
        EventType::MemberRegistered => HomeChange::Registered { org_id: &e.org_id },
        EventType::MemberTransferredIn => HomeChange::TransferredIn { org_id: &e.org_id },
        EventType::MemberTransferredOut => HomeChange::TransferredOut,
        EventType::MemberLeft => HomeChange::Left,
        _ => return None,
    };
    Some((member, change))
}

/// Looks up the stored events that the request's retractions name.
pub async fn pointed(
    warehouse: &warehouse::Warehouse,
    events: &[ValidEvent],
) -> crate::Result<Pointed> {
    let ids = retracted_ids(events);
    if ids.is_empty() {
        return Ok(Pointed::new());
    }
    let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows = warehouse
        .rows(&format!(
            "SELECT event_id, org_id, event_type FROM events WHERE event_id IN ({})",
            warehouse::queries::sql_string_list(&list)
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let id = Uuid::parse_str(row["event_id"].as_str()?).ok()?;
            let event_type = EventType::parse(row["event_type"].as_str()?)?;
            let org_id = row["org_id"].as_str()?.to_string();
            Some((id, StoredEvent { org_id, event_type }))
        })
        .collect())
}

/// Checks every event of a request against the write rules; the first refusal names
/// its event and field. Nothing is written when any event is refused.
pub fn check(
    events: &[ValidEvent],
    caller: WriteCaller<'_>,
    orgs: &OrgDirectory,
    members: &MemberDirectory,
    pointed: &Pointed,
) -> Result<(), Refusal> {
    let scope = caller.scope;
    let forbidden =
        |index: usize, key: &'static str, field: &'static str, message: String| Refusal {
            kind: RefusalKind::Forbidden,
            key,
            index,
            field,
            message,
        };
    // Orgs created earlier in this request under the scope, and members registered in it.
    let mut created: Vec<&str> = Vec::new();
    let mut registered: HashMap<&str, &str> = HashMap::new();
    let in_scope =
        |org: &str, created: &[&str]| orgs.is_within(org, scope) || created.contains(&org);
    for (index, e) in events.iter().enumerate() {
        if e.event_type.is_server_owned() {
            return Err(forbidden(
                index,
                "server_owned_event",
                "event_type",
                format!(
                    "`{}` events are written only by the server (the warning engine, and POST /api/v1/warnings/{{id}}/ack)",
                    e.event_type
                ),
            ));
        }
        // A new org is checked by its parent. One that exists is checked like any event
        // for it (below); the writer then refuses a second creation (409 `org_exists`)
        // or acknowledges a retry of the same event as a duplicate.
        if let Payload::OrgCreated(new) = &e.payload {
            if orgs.get(&e.org_id).is_none() {
                match &new.parent_id {
                    Some(parent) if in_scope(&parent.0, &created) => {}
                    Some(parent) => {
                        return Err(forbidden(
                            index,
                            "org_out_of_scope",
                            "payload.parent_id",
                            format!(
                                "event {index} creates `{}` under `{}`, outside the scope `{scope}` of this token",
                                e.org_id, parent.0
                            ),
                        ));
                    }
                    None if orgs.is_empty() && e.org_id == scope => {}
                    None => {
                        return Err(forbidden(
                            index,
                            "org_out_of_scope",
                            "payload.parent_id",
                            format!(
                                "event {index} creates `{}` without a parent: only the first org of the tree (the university) has none, created by a token scoped to it",
                                e.org_id
                            ),
                        ));
                    }
                }
                created.push(&e.org_id);
                continue;
            }
        }
        if !in_scope(&e.org_id, &created) {
            return Err(forbidden(
                index,
                "org_out_of_scope",
                "org_id",
                format!(
                    "event {index} is for org `{}`, outside the scope `{scope}` of this token",
                    e.org_id
                ),
            ));
        }
        if let Some(member) = e.member_id.as_deref() {
            check_member(
                index,
                e,
                member,
                caller,
                orgs,
                members,
                &registered,
                &created,
            )?;
            if e.event_type == EventType::MemberRegistered
                || e.event_type == EventType::MemberTransferredIn
            {
                registered.insert(member, &e.org_id);
            }
        }
        if let Payload::EventRetracted(r) = &e.payload {
            let target = events[..index]
                .iter()
                .find(|earlier| earlier.event_id == r.event_id)
                .map(|earlier| StoredEvent {
                    org_id: earlier.org_id.clone(),
                    event_type: earlier.event_type,
                })
                .or_else(|| pointed.get(&r.event_id).cloned());
            let Some(target) = target else {
                return Err(Refusal {
                    kind: RefusalKind::Unknown,
                    key: "unknown_event",
                    index,
                    field: "payload.event_id",
                    message: format!(
                        "event {index} retracts `{}`, which is not a stored event",
                        r.event_id
                    ),
                });
            };
            if target.event_type.is_server_owned() {
                return Err(forbidden(
                    index,
                    "server_owned_event",
                    "payload.event_id",
                    format!(
                        "event {index} retracts a `{}` event: the warning lifecycle is the server's",
                        target.event_type
                    ),
                ));
            }
            if !in_scope(&target.org_id, &created) {
                return Err(forbidden(
                    index,
                    "org_out_of_scope",
                    "payload.event_id",
                    format!(
                        "event {index} retracts an event of org `{}`, outside the scope `{scope}` of this token",
                        target.org_id
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// An event about `member`: the member's current org must be in scope, except for the
/// receiving side of a transfer whose sending side let them go.
#[allow(clippy::too_many_arguments)]
fn check_member(
    index: usize,
    e: &ValidEvent,
    member: &str,
    caller: WriteCaller<'_>,
    orgs: &OrgDirectory,
    members: &MemberDirectory,
    registered: &HashMap<&str, &str>,
    created: &[&str],
) -> Result<(), Refusal> {
    let scope = caller.scope;
    let (home, status) = match registered.get(member) {
        Some(org) => (org.to_string(), MemberStatus::Active),
        None => match members.get(member) {
            Some(home) => {
                let status = home.status();
                (home.org_id, status)
            }
            // Not known here yet: a new registration (or a transfer in from outside).
            None => return Ok(()),
        },
    };
    if orgs.is_within(&home, scope) || created.contains(&home.as_str()) {
        return Ok(());
    }
    if e.event_type == EventType::MemberTransferredIn
        && (status != MemberStatus::Active || caller.admin)
    {
        return Ok(());
    }
    let message = if e.event_type == EventType::MemberTransferredIn {
        format!(
            "event {index}: member `{member}` belongs to `{home}`, outside the scope `{scope}` of this token; the sending side records member.transferred_out first"
        )
    } else {
        format!(
            "event {index}: member `{member}` belongs to `{home}`, outside the scope `{scope}` of this token"
        )
    };
    Err(Refusal {
        kind: RefusalKind::Forbidden,
        key: "member_out_of_scope",
        index,
        field: "member_id",
        message,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};
    use serde_json::{Value, json};
    use warehouse::orgs::OrgNode;

    use super::*;
    use crate::Validator;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn valid(value: Value) -> ValidEvent {
        Validator::default()
            .validate_all(vec![value], now())
            .unwrap()
            .remove(0)
    }

    fn node(parent: Option<&str>) -> OrgNode {
        OrgNode {
            parent: parent.map(str::to_string),
            name: "x".into(),
            kind: if parent.is_some() {
                "branch"
            } else {
                "university"
            }
            .into(),
        }
    }

    /// What the writer does after a commit: one creation per org, homes moved.
    fn apply(e: &ValidEvent, orgs: &OrgDirectory, members: &MemberDirectory) {
        if let Payload::OrgCreated(new) = &e.payload {
            if orgs.get(&e.org_id).is_none() {
                orgs.insert(
                    &e.org_id,
                    node(new.parent_id.as_ref().map(|p| p.0.as_str())),
                );
            }
        }
        if let Some((member, change)) = home_change(e) {
            members.apply(member, e.occurred_at, change);
        }
    }

    /// Random sequences of org and member events from tokens of different scopes never
    /// move an org, and never move a member out of a scope that did not let them go.
    #[test]
    fn random_writes_never_reach_outside_their_scope() {
        let mut seed: u64 = 0x5eed_da9e_2026;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let callers = [
            ("U", true),
            ("C1", false),
            ("C2", false),
            ("B1", false),
            ("B2", false),
        ];
        let mut accepted = 0;
        for round in 0..40 {
            let orgs = OrgDirectory::default();
            let members = MemberDirectory::default();
            for (id, parent) in [
                ("U", None),
                ("C1", Some("U")),
                ("C2", Some("U")),
                ("B1", Some("C1")),
                ("B2", Some("C2")),
            ] {
                orgs.insert(id, node(parent));
            }
            let ids = ["U", "C1", "C2", "B1", "B2", "X1", "X2", "X3", "X4"];
            let first_parent: std::collections::HashMap<String, Option<String>> = orgs
                .snapshot()
                .into_iter()
                .map(|(k, v)| (k, v.parent))
                .collect();
            let mut first_parent = first_parent;
            let mut day = 0;
            for _ in 0..60 {
                day += 1;
                let (scope, admin) = callers[next(callers.len())];
                let org = ids[next(ids.len())];
                let member = format!("M{}", next(4));
                let at = (now() - TimeDelta::days(400) + TimeDelta::days(day)).to_rfc3339();
                let value = match next(5) {
                    0 => json!({"event_type": "org.created", "occurred_at": at, "org_id": org,
                                "payload": {"name": "x", "kind": "group", "parent_id": ids[next(ids.len())]}}),
                    1 => {
                        json!({"event_type": "member.registered", "occurred_at": at, "org_id": org,
                                "member_id": member, "payload": {"name": "x", "student_no": "1",
                                "gender": "male", "grade": 2025, "major": "x", "class_name": "x"}})
                    }
                    2 => {
                        json!({"event_type": "member.transferred_out", "occurred_at": at, "org_id": org,
                                "member_id": member, "payload": {"to_org": "x"}})
                    }
                    3 => {
                        json!({"event_type": "member.transferred_in", "occurred_at": at, "org_id": org,
                                "member_id": member, "payload": {"from_org": "x", "stage": "full_member"}})
                    }
                    _ => json!({"event_type": "dues.paid", "occurred_at": at, "org_id": org,
                                "member_id": member, "payload": {"period": "2026-01", "amount_fen": 20}}),
                };
                let event = valid(value);
                let caller = WriteCaller {
                    scope,
                    admin,
                    actor: "a",
                };
                let before = event.member_id.as_deref().and_then(|m| members.get(m));
                if check(
                    std::slice::from_ref(&event),
                    caller,
                    &orgs,
                    &members,
                    &Pointed::new(),
                )
                .is_err()
                {
                    continue;
                }
                accepted += 1;
                // The event's own org is in scope (or it creates one under it).
                if !matches!(event.payload, Payload::OrgCreated(_)) {
                    assert!(
                        orgs.is_within(&event.org_id, scope),
                        "round {round}: {event:?} from {scope}"
                    );
                }
                apply(&event, &orgs, &members);
                // No org ever changes its parent.
                for (id, n) in orgs.snapshot() {
                    let first = first_parent.entry(id.clone()).or_insert(n.parent.clone());
                    assert_eq!(*first, n.parent, "round {round}: {id} moved");
                }
                // A member leaves a scope only when it let them go, or by an admin.
                if let (Some(before), Some(after)) = (
                    before,
                    event.member_id.as_deref().and_then(|m| members.get(m)),
                ) {
                    if before.org_id != after.org_id {
                        assert!(
                            admin
                                || orgs.is_within(&before.org_id, scope)
                                || before.status() != MemberStatus::Active,
                            "round {round}: {scope} took {:?} from {}",
                            event.member_id,
                            before.org_id
                        );
                    }
                }
            }
        }
        assert!(
            accepted > 300,
            "the sequences exercise the rules: {accepted} accepted"
        );
    }
}
