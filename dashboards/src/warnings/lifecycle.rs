//! A run's findings against the warnings not yet resolved: what to raise, raise again,
//! resolve and escalate, as `warning.*` events built from their typed payloads.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use ingest::catalogue::{
    Date, Id, SubjectKind, Text, WarningEscalated, WarningRaised, WarningResolved,
};
use ingest::{Payload, ValidEvent};

use super::{ACTOR, Finding, RunReport, Severity, WarningEngine};
use crate::{Error, Result};

/// A warning not yet resolved, as the `warnings` view folds it.
#[derive(Debug, Clone, serde::Deserialize)]
pub(super) struct Active {
    warning_id: String,
    rule: String,
    subject_id: String,
    severity: Severity,
    org_id: String,
    deadline: Option<NaiveDate>,
    acknowledged: bool,
    escalated: bool,
}

impl WarningEngine {
    pub(super) async fn active(&self) -> Result<Vec<Active>> {
        Ok(self
            .warehouse
            .records(
                "SELECT warning_id, rule, subject_id, severity, org_id, \
                        CAST(deadline AS VARCHAR) AS deadline, \
                        acknowledged_at IS NOT NULL AS acknowledged, \
                        escalated_at IS NOT NULL AS escalated \
                 FROM warnings WHERE status <> 'resolved'",
            )
            .await?)
    }

    /// The lifecycle events of a run (not yet stored), counted into `report`.
    pub(super) async fn lifecycle(
        &self,
        findings: &[Finding],
        succeeded: &[String],
        as_of: DateTime<Utc>,
        report: &mut RunReport,
    ) -> Result<Vec<ValidEvent>> {
        let active = self.active().await?;
        let now = self.ingest.clock().now();
        let today = as_of.with_timezone(&ingest::china_time()).date_naive();
        let by_key: HashMap<(&str, &str), &Active> = active
            .iter()
            .map(|a| ((a.rule.as_str(), a.subject_id.as_str()), a))
            .collect();
        let event = |org_id: &str, member_id: Option<&str>, payload: Payload| {
            ValidEvent::made(now, org_id, member_id, ACTOR, payload).map_err(Error::from)
        };
        let mut events = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for f in findings {
            if !seen.insert((f.rule.as_str(), f.subject_id.as_str())) {
                continue; // a rule answering the same subject twice: the first row counts
            }
            let rule = self.rule(&f.rule).expect("findings come from known rules");
            let warning_id = match by_key.get(&(f.rule.as_str(), f.subject_id.as_str())) {
                None => {
                    report.raised += 1;
                    uuid::Uuid::now_v7().to_string()
                }
                Some(a) if f.severity > a.severity => {
                    report.raised_again += 1;
                    a.warning_id.clone()
                }
                Some(_) => continue,
            };
            let deadline = today
                .checked_add_days(Days::new(rule.ack_days))
                .unwrap_or(today);
            let subject_kind = match rule.subject.as_str() {
                "member" => SubjectKind::Member,
                _ => SubjectKind::Org,
            };
            events.push(event(
                &f.org_id,
                f.member_id.as_deref(),
                Payload::WarningRaised(WarningRaised {
                    warning_id: Id(warning_id),
                    rule: Id(f.rule.clone()),
                    severity: f.severity.into(),
                    subject_kind,
                    subject_id: Id(f.subject_id.clone()),
                    detail: Text(f.message.clone()),
                    deadline: Some(Date(deadline.to_string())),
                }),
            )?);
        }
        let orgs = self.warehouse.orgs();
        for a in &active {
            let found = seen.contains(&(a.rule.as_str(), a.subject_id.as_str()));
            if !found && succeeded.contains(&a.rule) {
                report.resolved += 1;
                events.push(event(
                    &a.org_id,
                    None,
                    Payload::WarningResolved(WarningResolved {
                        warning_id: Id(a.warning_id.clone()),
                    }),
                )?);
                continue;
            }
            let overdue = a.deadline.is_some_and(|d| d < today);
            if overdue && !a.acknowledged && !a.escalated {
                let Some(parent) = orgs.get(&a.org_id).and_then(|n| n.parent) else {
                    continue; // the top of the tree has nobody above it
                };
                report.escalated += 1;
                events.push(event(
                    &a.org_id,
                    None,
                    Payload::WarningEscalated(WarningEscalated {
                        warning_id: Id(a.warning_id.clone()),
                        to_org_id: Id(parent),
                    }),
                )?);
            }
        }
        Ok(events)
    }
}
