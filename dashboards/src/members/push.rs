//! The weekly push of study recommendations (智能党建): `study.recommended` events for
//! the week, then one short Chinese digest per member through the warnings' mail path.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ingest::catalogue::{Date, Email, Id, StudyDigestSent, StudyRecommended, Text};
use ingest::{Payload, ValidEvent};
use lettre::message::Mailbox;
use serde_json::Value;

use super::{ACTOR, Members, without_join_dynamic_filters};
use crate::Result;
use crate::clock::Clock;
use crate::warnings::mail::{Digest, escape};
use warehouse::Warehouse;

/// What one push did.
#[derive(Debug, Default, Clone)]
pub struct PushReport {
    /// The Monday (China date) of the week pushed.
    pub week: String,
    /// Members with a recommendation this week (recorded now or before).
    pub members: usize,
    /// `study.recommended` events recorded by this run.
    pub recorded: usize,
    /// Members left out because they opted out of the push.
    pub opted_out: usize,
    /// Digests accepted by the mail server (or written to the outbox).
    pub mails_sent: usize,
    /// Digests that could not be delivered: (recipient, error); the next run retries.
    pub mails_failed: Vec<(String, String)>,
}

impl Members {
    /// Pushes the week of `as_of`: records the recommendations of members not yet
    /// recorded this week (opted-out members are left out), then mails every member
    /// with an e-mail address whose digest of the week was not yet accepted. With
    /// `dry_run`, only counts.
    pub async fn push(&self, as_of: DateTime<Utc>, dry_run: bool) -> Result<PushReport> {
        let _one = self.running.lock().await;
        let all = self.all_recommendations(as_of).await?;
        let (mut report, events) = self.week_events(as_of, &all).await?;
        if dry_run {
            return Ok(report);
        }
        if !events.is_empty() {
            self.ingest.submit(events).await?;
        }
        self.mail_week(&report.week.clone(), &mut report).await?;
        metrics::counter!("dangjian_study_pushes_total").increment(1);
        metrics::counter!("dangjian_mails_total", "status" => "sent")
            .increment(report.mails_sent as u64);
        metrics::counter!("dangjian_mails_total", "status" => "failed")
            .increment(report.mails_failed.len() as u64);
        tracing::info!(
            week = report.week,
            members = report.members,
            recorded = report.recorded,
            mails = report.mails_sent,
            failed = report.mails_failed.len(),
            "study push"
        );
        Ok(report)
    }

    /// Records the week of a past instant `as_of` as its push would have recorded it
    /// then — the recommendations computed over the events that had occurred by `as_of`
    /// (as the warning rules are) — and mails nothing: for loading history, such as the
    /// demo's earlier weeks. Answers the report and the rows it recorded (member_id,
    /// org_id, resource_id, rank, minutes, signals…), none for members already recorded
    /// that week.
    pub async fn record_past(&self, as_of: DateTime<Utc>) -> Result<(PushReport, Vec<Value>)> {
        let _one = self.running.lock().await;
        let Some(query) = &self.query else {
            return Ok((PushReport::default(), Vec::new()));
        };
        let ctx = self.warehouse.rules_context(as_of).await?;
        without_join_dynamic_filters(&ctx);
        let sql = query.render(&self.warehouse.catalog().params_at(as_of))?;
        let all = Warehouse::rows_in(&ctx, &sql).await?;
        let (report, events) = self.week_events(as_of, &all).await?;
        let recorded: HashSet<&str> = events
            .iter()
            .filter_map(|e| e.member_id.as_deref())
            .collect();
        let rows = all
            .iter()
            .filter(|r| {
                r["member_id"]
                    .as_str()
                    .is_some_and(|m| recorded.contains(m))
            })
            .cloned()
            .collect();
        if !events.is_empty() {
            self.ingest.submit(events).await?;
        }
        Ok((report, rows))
    }

    /// The `study.recommended` events of the week of `as_of` for the recommendations
    /// `all`: members who opted out or whose week is already recorded are left out.
    async fn week_events(
        &self,
        as_of: DateTime<Utc>,
        all: &[Value],
    ) -> Result<(PushReport, Vec<ValidEvent>)> {
        let week = warehouse::clock::monday_of(warehouse::clock::china_today(as_of));
        let week_text = week.to_string();
        let mut report = PushReport {
            week: week_text.clone(),
            ..PushReport::default()
        };
        let opted_out: HashSet<String> = ids(self
            .rows("SELECT member_id FROM push_preferences WHERE opted_out")
            .await?);
        let recorded: HashSet<String> = ids(self
            .rows(&format!(
                "SELECT DISTINCT member_id FROM study_pushes WHERE week = DATE '{week_text}'"
            ))
            .await?);
        let mut by_member: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for row in all {
            if let Some(m) = row["member_id"].as_str() {
                by_member.entry(m.to_string()).or_default().push(row);
            }
        }
        report.opted_out = by_member.keys().filter(|m| opted_out.contains(*m)).count();
        // The recommendations are of the push's instant (never later than now: a push
        // as of a later hour is recorded now), so what is followed after it is counted
        // from then, whenever the push actually ran.
        let now = as_of.min(self.ingest.clock().now());
        let mut events = Vec::new();
        for (member, rows) in &by_member {
            if opted_out.contains(member) || recorded.contains(member) {
                continue;
            }
            for row in rows {
                let text = |k: &str| row[k].as_str().unwrap_or_default().to_string();
                let payload = Payload::StudyRecommended(StudyRecommended {
                    resource_id: Id(text("resource_id")),
                    week: Date(week_text.clone()),
                    rank: row["rank"].as_u64().unwrap_or(0).min(255) as u8,
                    reason: Text(text("reason")),
                    signals: text("signals")
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| Id(s.to_string()))
                        .collect(),
                    topic: row["topic"].as_str().map(|t| Text(t.to_string())),
                });
                events.push(ValidEvent::made(
                    now,
                    &text("org_id"),
                    Some(member),
                    ACTOR,
                    payload,
                )?);
            }
        }
        report.recorded = events.len();
        report.members = by_member.keys().filter(|m| !opted_out.contains(*m)).count();
        Ok((report, events))
    }

    /// Mails the recorded recommendations of `week` to every member with an e-mail
    /// address, not opted out, whose digest of the week was not yet accepted.
    async fn mail_week(&self, week: &str, report: &mut PushReport) -> Result<()> {
        let rows = self
            .rows(&format!(
                "SELECT s.member_id, s.org_id, s.rank, s.reason, r.title, r.minutes, p.name, p.email \
                 FROM study_pushes s \
                 JOIN people p ON p.member_id = s.member_id \
                 LEFT JOIN resources r ON r.resource_id = s.resource_id \
                 LEFT JOIN push_preferences o ON o.member_id = s.member_id \
                 WHERE s.week = DATE '{week}' AND s.mailed_at IS NULL \
                   AND p.email IS NOT NULL AND p.status = 'active' \
                   AND (o.opted_out IS NULL OR NOT o.opted_out) \
                 ORDER BY s.member_id, s.rank"
            ))
            .await?;
        let mut by_member: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for row in &rows {
            if let Some(m) = row["member_id"].as_str() {
                by_member.entry(m.to_string()).or_default().push(row);
            }
        }
        let mut sent = Vec::new();
        for (member, items) in by_member {
            let first = items[0];
            let Some(email) = first["email"].as_str() else {
                continue;
            };
            let Ok(address) = email.parse() else {
                tracing::warn!(member, "an e-mail address that does not parse: no digest");
                continue;
            };
            let name = first["name"].as_str().unwrap_or("同志").to_string();
            let to = Mailbox::new(Some(name.clone()), address);
            let digest = self.compose(to, &name, week, &items);
            match self.mailer.send(&digest).await {
                Ok(()) => {
                    report.mails_sent += 1;
                    let payload = Payload::StudyDigestSent(StudyDigestSent {
                        week: Date(week.to_string()),
                        recipients: vec![Email(email.to_string())],
                    });
                    let org = first["org_id"].as_str().unwrap_or_default();
                    sent.push(ValidEvent::made(
                        self.ingest.clock().now(),
                        org,
                        Some(&member),
                        ACTOR,
                        payload,
                    )?);
                }
                Err(e) => {
                    tracing::warn!(member, error = %e, "study digest not delivered; the next run retries");
                    report.mails_failed.push((email.to_string(), e.to_string()));
                }
            }
        }
        if !sent.is_empty() {
            self.ingest.submit(sent).await?;
        }
        Ok(())
    }

    /// The digest of one member's week: each resource with its reasons, and how to stop.
    fn compose(&self, to: Mailbox, name: &str, week: &str, items: &[&Value]) -> Digest {
        let subject = format!(
            "【智慧党建】{name}同志，本周为您推荐 {} 项学习内容",
            items.len()
        );
        let link = format!("{}/#/me", self.public_url);
        let mut text =
            format!("{name}同志：\n\n根据您的学习和测试情况，本周（{week} 起）为您推荐：\n\n");
        let mut html = format!(
            "<html><body style=\"font-family:sans-serif\"><p>{}同志：</p><p>根据您的学习和测试情况，本周（{week} 起）为您推荐：</p><ol>",
            escape(name)
        );
        for item in items {
            let title = item["title"].as_str().unwrap_or("学习资料");
            let reason = item["reason"].as_str().unwrap_or_default();
            let minutes = item["minutes"]
                .as_f64()
                .map(|m| format!("（约{m:.0}分钟）"))
                .unwrap_or_default();
            text.push_str(&format!(
                "{}. {title}{minutes}\n   推荐理由：{reason}\n",
                item["rank"]
            ));
            html.push_str(&format!(
                "<li><b>{}</b>{}<br><small>推荐理由：{}</small></li>",
                escape(title),
                escape(&minutes),
                escape(reason)
            ));
        }
        text.push_str(&format!(
            "\n在“我的党建”查看详情：{link}\n不想再收到每周推荐？在“我的党建”页面退订即可。\n"
        ));
        html.push_str(&format!(
            "</ol><p>在<a href=\"{}\">我的党建</a>查看详情。不想再收到每周推荐？在“我的党建”页面退订即可。</p></body></html>",
            escape(&link)
        ));
        Digest {
            to: vec![to],
            subject,
            text,
            html,
        }
    }

    /// Runs the push on its schedule until `shutdown`.
    pub async fn run_scheduled(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let schedule = match self.schedule() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "study push: no schedule");
                return;
            }
        };
        crate::schedule::on_schedule(clock.as_ref(), &[schedule], shutdown, |_, at| {
            let this = self.clone();
            async move {
                if let Err(e) = this.push(at, false).await {
                    tracing::error!(error = %e, "study push failed");
                }
            }
        })
        .await;
    }
}

fn ids(rows: Vec<Value>) -> HashSet<String> {
    rows.into_iter()
        .filter_map(|r| r["member_id"].as_str().map(str::to_string))
        .collect()
}
