//! What people do with raised warnings: list those of their scope, acknowledge one.
//!
//! The list runs in the caller's reader session (their scope, their masking:
//! `warehouse::access`), so a warning's text reaches an analyst as their role allows. An
//! acknowledgement is checked in this order — the role (a token that may not acknowledge
//! learns nothing), the warning's org within the caller's scope (else it is answered as
//! unknown: whether an id exists, and whose it is, is not theirs to learn), its status —
//! and then written as a `warning.acknowledged` event; one at a time, so two clicks
//! cannot both pass the check.

use ingest::catalogue::{Id, Text, WarningAcknowledged};
use ingest::{Payload, ValidEvent};
use serde_json::{Map, Value, json};
use warehouse::ReadAccess;

use super::{Severity, WarningEngine};
use crate::{Error, Result};

/// The warnings a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct WarningQuery {
    /// The org whose subtree the list holds (checked by the caller to lie in their
    /// scope); escalated warnings also belong to the org they went up to.
    pub org: String,
    /// `open` (when `None`), `acknowledged`, `resolved` or `all`.
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
}

/// Who acknowledges.
#[derive(Debug, Clone)]
pub struct Acknowledger {
    /// Recorded as the event's `actor_id`.
    pub actor_id: String,
    /// The root of their org subtree.
    pub scope: String,
    /// Whether their role acknowledges warnings at all (secretaries and admins).
    pub may_acknowledge: bool,
}

const COLUMNS: &str = "warning_id, rule, severity, status, org_id, member_id, subject_kind, \
    subject_id, detail AS message, raised_at, last_raised_at, CAST(deadline AS VARCHAR) AS deadline, \
    notified_at, acknowledged_at, acknowledged_by, note, escalated_at, escalated_to, resolved_at";

impl WarningEngine {
    /// The warnings of `query.org`'s subtree, most severe and newest first, each with
    /// its rule's title, its org's name and its subject.
    pub async fn list(&self, access: &ReadAccess, query: &WarningQuery) -> Result<Vec<Value>> {
        let bad = |field: &'static str, value: &str, allowed: &str| Error::InvalidParameter {
            field,
            reason: format!("`{value}` is not one of {allowed}"),
        };
        let mut predicates = Vec::new();
        match query.status.as_deref().unwrap_or("open") {
            "all" => {}
            s @ ("open" | "acknowledged" | "resolved") => {
                predicates.push(format!("status = '{s}'"))
            }
            other => return Err(bad("status", other, "open, acknowledged, resolved, all")),
        }
        if let Some(s) = query.severity.as_deref() {
            if Severity::parse(s).is_none() {
                return Err(bad("severity", s, "notice, warning, critical"));
            }
            predicates.push(format!("severity = '{s}'"));
        }
        if let Some(r) = query.rule.as_deref() {
            if self.rule(r).is_none() {
                let known: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
                return Err(bad("rule", r, &known.join(", ")));
            }
            predicates.push(format!("rule = '{r}'"));
        }
        let subtree =
            warehouse::queries::sql_string_list(&self.warehouse.orgs().subtree(&query.org));
        predicates.push(format!(
            "(org_id IN ({subtree}) OR escalated_to IN ({subtree}))"
        ));
        let sql = format!(
            "SELECT {COLUMNS} FROM warnings WHERE {} \
             ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, \
                      last_raised_at DESC, warning_id",
            predicates.join(" AND ")
        );
        let mut rows = self.warehouse.rows_as(access, &sql).await?;
        for row in rows.iter_mut().filter_map(Value::as_object_mut) {
            self.decorate(row);
        }
        Ok(rows)
    }

    /// Acknowledges warning `id` for `who`, with an optional note; answers the warning
    /// as it is now.
    pub async fn acknowledge(
        &self,
        who: &Acknowledger,
        id: &str,
        note: Option<&str>,
    ) -> Result<Value> {
        if !who.may_acknowledge {
            return Err(Error::MayNotAcknowledge);
        }
        let _one = self.acks.lock().await;
        let warning = self.find(id).await?;
        let org = warning["org_id"].as_str().unwrap_or_default().to_string();
        if !self.warehouse.orgs().is_within(&org, &who.scope) {
            return Err(Error::UnknownWarning { id: id.to_string() });
        }
        match warning["status"].as_str() {
            Some("acknowledged") => {
                return Err(Error::AlreadyAcknowledged {
                    id: id.to_string(),
                    by: warning["acknowledged_by"]
                        .as_str()
                        .unwrap_or("?")
                        .to_string(),
                    at: warning["acknowledged_at"]
                        .as_str()
                        .unwrap_or("?")
                        .to_string(),
                });
            }
            Some("resolved") => return Err(Error::AlreadyResolved { id: id.to_string() }),
            _ => {}
        }
        let payload = Payload::WarningAcknowledged(WarningAcknowledged {
            warning_id: Id(id.to_string()),
            note: note
                .filter(|n| !n.trim().is_empty())
                .map(|n| Text(n.to_string())),
        });
        let event = ValidEvent::made(
            self.ingest.clock().now(),
            &org,
            None,
            &who.actor_id,
            payload,
        )?;
        self.ingest.submit(vec![event]).await?;
        let mut after = self.find(id).await?;
        if let Some(row) = after.as_object_mut() {
            self.decorate(row);
        }
        Ok(after)
    }

    /// One warning as stored (the internal session: the checks above decide who sees it).
    async fn find(&self, id: &str) -> Result<Value> {
        let unknown = || Error::UnknownWarning { id: id.to_string() };
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(unknown());
        }
        let rows = self
            .warehouse
            .rows(&format!(
                "SELECT {COLUMNS} FROM warnings WHERE warning_id = '{id}'"
            ))
            .await?;
        rows.into_iter().next().ok_or_else(unknown)
    }

    /// Adds the rule's title, the org's name and the subject (the member, else the org).
    fn decorate(&self, row: &mut Map<String, Value>) {
        let title = row
            .get("rule")
            .and_then(Value::as_str)
            .and_then(|r| self.rule(r))
            .map(|r| r.title.clone());
        let org_name = row
            .get("org_id")
            .and_then(Value::as_str)
            .and_then(|o| self.warehouse.orgs().get(o))
            .map(|n| n.name);
        row.insert("title".into(), json!(title));
        row.insert("org_name".into(), json!(org_name));
        let subject = match row.get("member_id").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => org_name.unwrap_or_default(),
        };
        row.insert("subject".into(), json!(subject));
    }
}
