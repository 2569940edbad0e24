//! Early warnings (党建测控预警): the rules of `queries/warnings/`, their lifecycle as
//! events, and the digest mail to branch secretaries.
//!
//! A run evaluates rules at an instant (`as_of`) and compares the findings with the
//! warnings not yet resolved (the `warnings` view; same rule + subject = same warning):
//! - a new finding raises `warning.raised` (a fresh `warning_id`, the acknowledgement
//!   deadline = as_of date + the rule's `ack_days`);
//! - a finding already open is left alone, unless its severity rose: then the same
//!   `warning_id` is raised again with the higher severity (and mailed again);
//! - an open warning its rule no longer finds gets `warning.resolved` (only for rules
//!   whose query succeeded in this run — a broken rule resolves nothing);
//! - an unacknowledged warning past its deadline gets `warning.escalated` to the parent
//!   of its org, whose secretary is mailed.
//!
//! The events go through the ingest path like every other event. Then every warning
//! that `needs_mail` is put in one digest per secretary; `warning.notified` is recorded
//! only after the mail server accepted the digest. A digest that cannot be delivered
//! leaves its warnings un-notified, so the next run tries again — nothing is mailed
//! twice once accepted, and nothing is lost when the server is down.

mod digest;
mod lifecycle;
mod list;
pub mod mail;
mod rule;

pub use list::{Acknowledger, WarningQuery};
pub use rule::{Finding, Rule, Severity};

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ingest::Ingestor;
use serde_json::Value;
use tokio::sync::Mutex;
use warehouse::Warehouse;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::queries::QueryKind;

use crate::clock::Clock;
use crate::schedule::Schedule;
use crate::warnings::mail::Mailer;
use crate::{Error, Result};

/// The actor of the events the engine writes.
pub const ACTOR: &str = "dangjian-warnings";

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct RunReport {
    pub as_of: Option<DateTime<Utc>>,
    pub findings: Vec<Finding>,
    /// Rules whose query failed: (rule, error).
    pub failed: Vec<(String, String)>,
    pub raised: usize,
    pub raised_again: usize,
    pub resolved: usize,
    pub escalated: usize,
    /// Digests accepted by the mail server / outbox, and warnings they notified.
    pub mails_sent: usize,
    pub notified: usize,
    /// Digests that could not be delivered: (recipient, error).
    pub mails_failed: Vec<(String, String)>,
}

pub struct WarningEngine {
    warehouse: Arc<Warehouse>,
    ingest: Arc<Ingestor>,
    mailer: Mailer,
    rules: Vec<Rule>,
    /// Links in mails point here (`{public_url}/#/warnings?id=…`).
    public_url: String,
    /// Two runs never overlap.
    running: Mutex<()>,
    /// One acknowledgement at a time (check, then write).
    acks: Mutex<()>,
}

impl std::fmt::Debug for WarningEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarningEngine")
            .field("rules", &self.rules.len())
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

impl WarningEngine {
    /// The rules of the warehouse's query catalog; a malformed header is an error here,
    /// at start-up, not at the first run.
    pub fn new(
        warehouse: Arc<Warehouse>,
        ingest: Arc<Ingestor>,
        mailer: Mailer,
        public_url: String,
    ) -> Result<Self> {
        let rules = warehouse
            .catalog()
            .of_kind(QueryKind::Warning)
            .map(Rule::from_file)
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            warehouse,
            ingest,
            mailer,
            rules,
            public_url: public_url.trim_end_matches('/').to_string(),
            running: Mutex::new(()),
            acks: Mutex::new(()),
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Evaluates `rules` (all when empty) at `as_of`; with `dry_run`, only reports the
    /// findings. Otherwise raises, resolves and escalates, then mails the digests.
    pub async fn run(
        &self,
        rules: &[String],
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RunReport> {
        let _one_run = self.running.lock().await;
        let report = self.run_rules(rules, as_of, dry_run).await;
        let status = match &report {
            Ok(r) if r.failed.is_empty() => "ok",
            Ok(_) => "rules_failed",
            Err(_) => "failed",
        };
        metrics::counter!("dangjian_warning_runs_total", "status" => status).increment(1);
        if let (Ok(report), false) = (&report, dry_run) {
            for finding in &report.findings {
                metrics::counter!("dangjian_warning_findings_total", "rule" => finding.rule.clone())
                    .increment(1);
            }
            metrics::counter!("dangjian_mails_total", "status" => "sent")
                .increment(report.mails_sent as u64);
            metrics::counter!("dangjian_mails_total", "status" => "failed")
                .increment(report.mails_failed.len() as u64);
        }
        report
    }

    async fn run_rules(
        &self,
        rules: &[String],
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RunReport> {
        let selected: Vec<&Rule> = if rules.is_empty() {
            self.rules.iter().collect()
        } else {
            rules
                .iter()
                .map(|name| {
                    self.rule(name).ok_or_else(|| Error::UnknownModel {
                        model: name.clone(),
                        known: self
                            .rules
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                })
                .collect::<Result<_>>()?
        };
        let mut report = RunReport {
            as_of: Some(as_of),
            ..RunReport::default()
        };
        // The views are computed once for all the rules of this run.
        let ctx = self.warehouse.rules_context(as_of).await?;
        let mut succeeded = Vec::new();
        for rule in &selected {
            match self.evaluate_in(&ctx, rule, as_of).await {
                Ok(mut findings) => {
                    succeeded.push(rule.name.clone());
                    report.findings.append(&mut findings);
                }
                Err(e) => {
                    tracing::warn!(rule = rule.name, error = %e, "warning rule failed");
                    report.failed.push((rule.name.clone(), e.to_string()));
                }
            }
        }
        if dry_run {
            return Ok(report);
        }
        let findings = std::mem::take(&mut report.findings);
        let events = self
            .lifecycle(&findings, &succeeded, as_of, &mut report)
            .await?;
        report.findings = findings;
        if !events.is_empty() {
            self.ingest.submit(events).await?;
        }
        self.deliver(&mut report).await?;
        tracing::info!(
            findings = report.findings.len(),
            raised = report.raised,
            raised_again = report.raised_again,
            resolved = report.resolved,
            escalated = report.escalated,
            mails = report.mails_sent,
            failed_rules = report.failed.len(),
            "warning run"
        );
        Ok(report)
    }

    /// One rule's findings at `as_of`.
    pub async fn evaluate(&self, rule: &Rule, as_of: DateTime<Utc>) -> Result<Vec<Finding>> {
        let ctx = self.warehouse.rules_context(as_of).await?;
        self.evaluate_in(&ctx, rule, as_of).await
    }

    /// [`Self::evaluate`] with the rule planned in `ctx`, the session of the events that
    /// had occurred by `as_of` ([`Warehouse::rules_context`]), shared by a run's rules.
    async fn evaluate_in(
        &self,
        ctx: &SessionContext,
        rule: &Rule,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<Finding>> {
        let sql = rule
            .file
            .render(&self.warehouse.catalog().params_at(as_of))?;
        let rows = Warehouse::rows_in(ctx, &sql).await?;
        let mut findings = Vec::new();
        for row in &rows {
            let Some(facts) = row.as_object() else {
                continue;
            };
            let text = |k: &str| facts.get(k).and_then(Value::as_str).map(str::to_string);
            let bad = |what: &str| Error::Spec {
                file: rule.file.path.clone(),
                reason: format!("a finding {what}: {row}"),
            };
            let org_id = text("org_id").ok_or_else(|| bad("has no org_id"))?;
            let member_id = text("member_id");
            let severity = text("severity")
                .as_deref()
                .and_then(Severity::parse)
                .ok_or_else(|| bad("has no severity of notice, warning or critical"))?;
            let subject_id = if rule.subject == "member" {
                member_id
                    .clone()
                    .ok_or_else(|| bad("of a member rule has no member_id"))?
            } else {
                org_id.clone()
            };
            findings.push(Finding {
                rule: rule.name.clone(),
                title: rule.title.clone(),
                org_id,
                member_id,
                subject_id,
                severity,
                message: rule.message_for(facts),
            });
        }
        Ok(findings)
    }

    /// Runs each rule when its schedule falls due (rules due at the same instant run
    /// together, so their findings share one digest per secretary) until `shutdown`.
    pub async fn run_scheduled(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let schedules: Vec<Schedule> = self.rules.iter().map(|r| r.schedule.clone()).collect();
        crate::schedule::on_schedule(clock.as_ref(), &schedules, shutdown, |due, at| {
            let this = self.clone();
            async move {
                if let Err(e) = this.run(&due, at, false).await {
                    tracing::error!(error = %e, "warning run failed");
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ingest::IngestConfig;
    use serde_json::json;
    use warehouse::StorageRoot;
    use warehouse::queries::{QueryCatalog, QueryFile};

    use super::*;
    use crate::warnings::mail::{MailSettings, Security};

    const RULE: &str = "-- name: registered
-- title: 测试规则
-- schedule: 0 0 8 * * *
-- subject: member
-- ack_days: 7
-- message: 党员{member_id}
SELECT org_id, member_id, 'notice' AS severity
FROM live_events WHERE event_type = 'member.registered'";

    async fn engine(outbox: &std::path::Path) -> (Arc<WarningEngine>, Arc<Warehouse>) {
        let views = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries/views");
        let mut files: Vec<(String, String)> = std::fs::read_dir(views)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                (
                    format!("views/{name}"),
                    std::fs::read_to_string(path).unwrap(),
                )
            })
            .collect();
        files.push(("warnings/10_registered.sql".into(), RULE.into()));
        let root = StorageRoot::parse(&format!(
            "memory:///warnings-{}/",
            uuid::Uuid::now_v7().simple()
        ))
        .unwrap();
        let (warehouse, table) = Warehouse::open(root, QueryCatalog::from_files(files).unwrap())
            .await
            .unwrap();
        let warehouse = Arc::new(warehouse);
        let ingest = Arc::new(
            Ingestor::start(warehouse.clone(), table, IngestConfig::pinned_for_tests())
                .await
                .unwrap(),
        );
        let org = |id: &str, kind: &str, parent: Option<&str>| {
            json!({"event_type": "org.created", "occurred_at": "2025-09-01", "org_id": id,
                   "payload": {"name": id, "kind": kind, "parent_id": parent}})
        };
        let mut events = vec![org("U", "university", None), org("B1", "branch", Some("U"))];
        for m in ["M1", "M2", "M3"] {
            events.push(
                json!({"event_type": "member.registered", "occurred_at": "2025-09-05",
                "org_id": "B1", "member_id": m,
                "payload": {"name": m, "student_no": m, "gender": "male", "grade": 2025,
                            "major": "计算机", "class_name": "1班"}}),
            );
        }
        ingest.ingest(events).await.unwrap();
        let mailer = Mailer::new(MailSettings {
            smtp_host: String::new(),
            smtp_port: 25,
            security: Security::None,
            username: String::new(),
            password: String::new(),
            from: "预警 <dangjian@localhost>".into(),
            outbox: outbox.to_path_buf(),
            attempts: 1,
            backoff: Duration::from_millis(1),
        })
        .unwrap();
        let engine = WarningEngine::new(warehouse.clone(), ingest, mailer, "http://x".into());
        (Arc::new(engine.unwrap()), warehouse)
    }

    /// Without the run lock both runs would see no open warning and raise every finding
    /// twice; with it the second run finds them open and raises nothing.
    #[tokio::test(flavor = "multi_thread")]
    async fn two_runs_never_overlap() {
        let outbox = std::env::temp_dir().join(format!("dj-outbox-{}", uuid::Uuid::now_v7()));
        let (engine, warehouse) = engine(&outbox).await;
        let as_of = DateTime::parse_from_rfc3339("2026-11-25T08:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let other = engine.clone();
        let (a, b) = tokio::join!(other.run(&[], as_of, false), engine.run(&[], as_of, false));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.raised + b.raised, 3, "{a:?}\n{b:?}");
        let rows = warehouse
            .rows("SELECT count(*) AS n FROM warnings")
            .await
            .unwrap();
        assert_eq!(rows[0]["n"], 3, "one warning per member");
        std::fs::remove_dir_all(outbox).ok();
    }

    #[test]
    fn messages_fill_their_placeholders() {
        let file = QueryFile::parse("warnings/10_x.sql", RULE).unwrap();
        let rule = Rule::from_file(&file).unwrap();
        let facts = json!({"member_id": "M7", "x": 1.5})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(rule.message_for(&facts), "党员M7");
        assert_eq!(Severity::parse("critical"), Some(Severity::Critical));
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Notice);
    }
}
