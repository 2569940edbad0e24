//! The digest: every warning that needs mail, one message per secretary (the nearest
//! org up the tree with a secretary who has an e-mail address), and `warning.notified`
//! once the mail server accepted it.

use std::collections::{BTreeMap, HashMap};

use ingest::catalogue::{Email, Id, WarningNotified};
use ingest::{Payload, ValidEvent};
use lettre::message::Mailbox;
use serde_json::Value;

use super::mail::{Digest, escape};
use super::{ACTOR, RunReport, Severity, WarningEngine};
use crate::Result;

impl WarningEngine {
    /// Mails every warning that needs it, one digest per secretary, and records
    /// `warning.notified` for the digests the server accepted.
    pub(super) async fn deliver(&self, report: &mut RunReport) -> Result<()> {
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
                        notified.push(ValidEvent::made(
                            now,
                            &field("org_id"),
                            None,
                            ACTOR,
                            payload,
                        )?);
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
            self.ingest.submit(notified).await?;
        }
        Ok(())
    }

    async fn secretaries(&self) -> Result<HashMap<String, Mailbox>> {
        #[derive(serde::Deserialize)]
        struct Secretary {
            org_id: String,
            secretary_name: Option<String>,
            secretary_email: String,
        }
        let rows: Vec<Secretary> = self
            .warehouse
            .records(
                "SELECT org_id, secretary_name, secretary_email FROM orgs \
                 WHERE secretary_email IS NOT NULL",
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                // An address that does not parse cannot be mailed; the others still are.
                let email = r.secretary_email.parse().ok()?;
                Some((r.org_id, Mailbox::new(r.secretary_name, email)))
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
}
