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

mod list;

pub use list::{Acknowledger, WarningQuery};

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use ingest::catalogue::{
    Date, Email, Id, SubjectKind, Text, WarningEscalated, WarningNotified, WarningRaised,
    WarningResolved,
};
use ingest::{Ingestor, Payload, ValidEvent};
use lettre::message::Mailbox;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use warehouse::Warehouse;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::queries::{QueryFile, QueryKind};

use crate::clock::Clock;
use crate::mail::{Digest, Mailer};
use crate::scheduler::Schedule;
use crate::{Error, Result};

/// The actor of the events the engine writes.
pub const ACTOR: &str = "dangjian-warnings";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Notice,
    Warning,
    Critical,
}

impl From<Severity> for ingest::catalogue::Severity {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Notice => Self::Notice,
            Severity::Warning => Self::Warning,
            Severity::Critical => Self::Critical,
        }
    }
}

impl Severity {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "notice" => Some(Self::Notice),
            "warning" => Some(Self::Warning),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Notice => "提示",
            Self::Warning => "预警",
            Self::Critical => "严重",
        }
    }
}

/// One rule file of `queries/warnings/`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub file: QueryFile,
    pub name: String,
    pub title: String,
    pub schedule: Schedule,
    /// `member` or `org`: what the finding is about.
    pub subject: String,
    pub ack_days: u64,
    /// Chinese text with `{column}` placeholders.
    pub message: String,
}

impl Rule {
    pub fn from_file(file: &QueryFile) -> Result<Self> {
        let invalid = |reason: String| Error::Spec {
            file: file.path.clone(),
            reason,
        };
        let get = |key: &str| {
            file.get(key)
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("the header has no `{key}:` line")))
        };
        let schedule = Schedule::parse(&file.name, &get("schedule")?)?;
        let subject = get("subject")?;
        if subject != "member" && subject != "org" {
            return Err(invalid(format!(
                "subject `{subject}` is neither member nor org"
            )));
        }
        let ack_days = get("ack_days")?
            .trim()
            .parse()
            .map_err(|_| invalid("ack_days is not a whole number of days".into()))?;
        Ok(Self {
            name: file.name.clone(),
            title: get("title")?,
            schedule,
            subject,
            ack_days,
            message: get("message")?,
            file: file.clone(),
        })
    }

    /// The message with `{column}` replaced by the finding's values.
    fn message_for(&self, facts: &Map<String, Value>) -> String {
        let mut out = self.message.clone();
        for (k, v) in facts {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => "—".into(),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() => format!("{:.2}", f)
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string(),
                    _ => n.to_string(),
                },
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{k}}}"), &text);
        }
        out
    }
}

/// One row of a rule's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub org_id: String,
    pub member_id: Option<String>,
    /// The member for member rules, else the org.
    pub subject_id: String,
    pub severity: Severity,
    pub message: String,
}

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

/// A warning not yet resolved, as the `warnings` view folds it.
#[derive(Debug, Clone)]
struct Active {
    warning_id: String,
    rule: String,
    subject_id: String,
    severity: Severity,
    org_id: String,
    deadline: Option<NaiveDate>,
    acknowledged: bool,
    escalated: bool,
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
        let ctx = self.warehouse.batch_context().await?;
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
            self.ingest
                .submit(events)
                .await
                .map_err(|e| Error::Ingest(e.to_string()))?;
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
        self.evaluate_in(&self.warehouse.context(), rule, as_of)
            .await
    }

    /// [`Self::evaluate`] with the rule planned in `ctx` (a batch context in a run).
    async fn evaluate_in(
        &self,
        ctx: &SessionContext,
        rule: &Rule,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<Finding>> {
        let mut params = self.warehouse.catalog().params().clone();
        let local = as_of.with_timezone(&ingest::china_time());
        params.insert(
            "as_of".into(),
            local.to_rfc3339_opts(SecondsFormat::Secs, false),
        );
        params.insert("as_of_date".into(), local.date_naive().to_string());
        let sql = rule.file.render(&params)?;
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

    async fn active(&self) -> Result<Vec<Active>> {
        let rows = self
            .warehouse
            .rows(
                "SELECT warning_id, rule, subject_id, severity, org_id, \
                        CAST(deadline AS VARCHAR) AS deadline, \
                        acknowledged_at IS NOT NULL AS acknowledged, \
                        escalated_at IS NOT NULL AS escalated \
                 FROM warnings WHERE status <> 'resolved'",
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Active {
                    warning_id: r["warning_id"].as_str()?.to_string(),
                    rule: r["rule"].as_str()?.to_string(),
                    subject_id: r["subject_id"].as_str()?.to_string(),
                    severity: Severity::parse(r["severity"].as_str()?)?,
                    org_id: r["org_id"].as_str()?.to_string(),
                    deadline: r["deadline"]
                        .as_str()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
                    acknowledged: r["acknowledged"].as_bool().unwrap_or(false),
                    escalated: r["escalated"].as_bool().unwrap_or(false),
                })
            })
            .collect())
    }

    /// The lifecycle events of a run (not yet stored), counted into `report`.
    async fn lifecycle(
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
            ValidEvent::made(now, org_id, member_id, ACTOR, payload)
                .map_err(|e| Error::Ingest(format!("{}: {}", e.field, e.message)))
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

    /// Mails every warning that needs it, one digest per secretary, and records
    /// `warning.notified` for the digests the server accepted.
    async fn deliver(&self, report: &mut RunReport) -> Result<()> {
        let pending = self
            .warehouse
            .rows(
                "SELECT w.warning_id, w.rule, w.severity, w.org_id, w.member_id, w.subject_id, \
                        w.detail, CAST(w.deadline AS VARCHAR) AS deadline, w.escalated_to, \
                        w.escalated_at IS NOT NULL AS escalated, o.name AS org_name \
                 FROM warnings w LEFT JOIN orgs o ON o.org_id = w.org_id \
                 WHERE w.needs_mail ORDER BY w.raised_at, w.warning_id",
            )
            .await?;
        if pending.is_empty() {
            return Ok(());
        }
        let secretaries = self.secretaries().await?;
        let orgs = self.warehouse.orgs();
        // The secretary of `org`, or of the nearest org above it that has one.
        let recipient = |org: &str| {
            orgs.path(org)
                .into_iter()
                .rev()
                .find_map(|(id, _)| secretaries.get(&id).cloned())
        };
        let mut digests: BTreeMap<String, (Mailbox, Vec<&Value>)> = BTreeMap::new();
        for w in &pending {
            let target = w["escalated_to"]
                .as_str()
                .or_else(|| w["org_id"].as_str())
                .unwrap_or_default();
            match recipient(target) {
                Some(mailbox) => digests
                    .entry(mailbox.email.to_string())
                    .or_insert_with(|| (mailbox, Vec::new()))
                    .1
                    .push(w),
                None => tracing::warn!(org = target, "no secretary with an e-mail address to tell"),
            }
        }
        let mut notified = Vec::new();
        for (email, (mailbox, items)) in digests {
            let digest = self.compose(&mailbox, &items);
            match self.mailer.send(&digest).await {
                Ok(()) => {
                    report.mails_sent += 1;
                    let now = self.ingest.clock().now();
                    for w in items {
                        let field = |key: &str| w[key].as_str().unwrap_or_default().to_string();
                        let payload = Payload::WarningNotified(WarningNotified {
                            warning_id: Id(field("warning_id")),
                            recipients: vec![Email(email.clone())],
                        });
                        notified.push(
                            ValidEvent::made(now, &field("org_id"), None, ACTOR, payload).map_err(
                                |e| Error::Ingest(format!("{}: {}", e.field, e.message)),
                            )?,
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(to = email, error = %e, "digest not delivered; the next run retries");
                    report.mails_failed.push((email, e.to_string()));
                }
            }
        }
        report.notified = notified.len();
        if !notified.is_empty() {
            self.ingest
                .submit(notified)
                .await
                .map_err(|e| Error::Ingest(e.to_string()))?;
        }
        Ok(())
    }

    async fn secretaries(&self) -> Result<HashMap<String, Mailbox>> {
        let rows = self
            .warehouse
            .rows(
                "SELECT org_id, secretary_name, secretary_email FROM orgs \
                 WHERE secretary_email IS NOT NULL",
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let email = r["secretary_email"].as_str()?.parse().ok()?;
                let name = r["secretary_name"].as_str().map(str::to_string);
                Some((r["org_id"].as_str()?.to_string(), Mailbox::new(name, email)))
            })
            .collect())
    }

    /// The digest for one secretary: new and escalated warnings grouped by severity.
    fn compose(&self, to: &Mailbox, items: &[&Value]) -> Digest {
        let name = to.name.clone().unwrap_or_else(|| "书记".into());
        let (escalated, new): (Vec<&&Value>, Vec<&&Value>) = items
            .iter()
            .partition(|w| w["escalated"].as_bool().unwrap_or(false));
        let subject = format!(
            "【党建预警】{name}同志：新预警 {} 条，升级预警 {} 条",
            new.len(),
            escalated.len()
        );
        let mut text =
            format!("{name}同志：\n\n党建测控预警系统本次运行发现以下需要您处理的事项。\n");
        let mut html = format!(
            "<html><body style=\"font-family:sans-serif\"><p>{}同志：</p><p>党建测控预警系统本次运行发现以下需要您处理的事项。</p>",
            escape(&name)
        );
        for (heading, group) in [
            ("新预警", &new),
            ("升级预警（逾期未确认，已上报上级党组织）", &escalated),
        ] {
            if group.is_empty() {
                continue;
            }
            text.push_str(&format!("\n== {heading} ==\n"));
            html.push_str(&format!("<h2>{heading}</h2>"));
            for severity in [Severity::Critical, Severity::Warning, Severity::Notice] {
                let of: Vec<_> = group
                    .iter()
                    .filter(|w| w["severity"].as_str() == Some(severity.as_str()))
                    .collect();
                if of.is_empty() {
                    continue;
                }
                text.push_str(&format!("\n[{}] {} 条\n", severity.label(), of.len()));
                html.push_str(&format!(
                    "<h3>{}（{} 条）</h3><ul>",
                    severity.label(),
                    of.len()
                ));
                for w in of {
                    let rule = w["rule"].as_str().unwrap_or_default();
                    let title = self.rule(rule).map(|r| r.title.as_str()).unwrap_or(rule);
                    let org = w["org_name"]
                        .as_str()
                        .or(w["org_id"].as_str())
                        .unwrap_or_default();
                    let who = match w["member_id"].as_str() {
                        Some(m) => format!("{org} · 党员 {m}"),
                        None => org.to_string(),
                    };
                    let detail = w["detail"].as_str().unwrap_or_default();
                    let deadline = w["deadline"].as_str().unwrap_or("—");
                    let link = format!(
                        "{}/#/warnings?id={}",
                        self.public_url,
                        w["warning_id"].as_str().unwrap_or_default()
                    );
                    text.push_str(&format!(
                        "- {title}｜{who}｜{detail}（请于 {deadline} 前确认：{link}）\n"
                    ));
                    html.push_str(&format!(
                        "<li><b>{}</b>｜{}｜{}（请于 {} 前<a href=\"{}\">确认</a>）</li>",
                        escape(title),
                        escape(&who),
                        escape(detail),
                        escape(deadline),
                        escape(&link)
                    ));
                }
                html.push_str("</ul>");
            }
        }
        text.push_str("\n此邮件由智慧党建平台自动发送。\n");
        html.push_str("<p style=\"color:#888\">此邮件由智慧党建平台自动发送。</p></body></html>");
        Digest {
            to: vec![to.clone()],
            subject,
            text,
            html,
        }
    }

    /// Runs each rule when its schedule falls due (rules due at the same instant run
    /// together, so their findings share one digest per secretary) until `shutdown`.
    pub async fn run_scheduled(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let schedules: Vec<Schedule> = self.rules.iter().map(|r| r.schedule.clone()).collect();
        crate::scheduler::on_schedule(clock.as_ref(), &schedules, shutdown, |due, at| {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ingest::IngestConfig;
    use serde_json::json;
    use warehouse::StorageRoot;
    use warehouse::queries::QueryCatalog;

    use super::*;
    use crate::mail::{MailSettings, Security};

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
