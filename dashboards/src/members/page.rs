//! 我的党建: one person's record, as their own page shows it.

use chrono::{DateTime, Datelike, Utc};
use ingest::catalogue::{MeetingKind, Stage};
use serde_json::{Value, json};

use super::{Members, quoted_id};
use crate::{Error, Result};

/// The Chinese name of a development stage (`none`: registered only, 群众).
fn stage_label(stage: &str) -> &'static str {
    Stage::parse(stage).map_or("群众", Stage::label_zh)
}

impl Members {
    /// The page of `member_id` as of `now`: everything 我的党建 shows, for this one
    /// person. The caller's right to read it is checked before (by the route).
    pub async fn page(&self, member_id: &str, now: DateTime<Utc>) -> Result<Value> {
        let id = quoted_id(member_id)?;
        let today = warehouse::clock::china_today(now);
        let year = today.year();
        let person = self
            .rows(&format!(
                "SELECT member_id, name, org_id, stage, CAST(china_date(stage_since) AS VARCHAR) AS stage_since, \
                        status, email IS NOT NULL AS has_email, \
                        CAST(GREATEST(registered_at, transferred_in_at) AS VARCHAR) AS arrived_at \
                 FROM people WHERE member_id = {id}"
            ))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::UnknownMember {
                id: member_id.to_string(),
            })?;
        let org_id = person["org_id"].as_str().unwrap_or_default().to_string();
        let org_name = self.warehouse.orgs().get(&org_id).map(|o| o.name);
        let stage = person["stage"].as_str().unwrap_or("none").to_string();
        let next_step = self
            .rows(&format!(
                "SELECT step, CAST(due_on AS VARCHAR) AS due_on, CAST(earliest_on AS VARCHAR) AS earliest_on, rule \
                 FROM next_steps WHERE member_id = {id}"
            ))
            .await?
            .into_iter()
            .next()
            .map(|mut step| {
                let text = match (step["step"].as_str(), step["due_on"].as_str()) {
                    (Some(s), Some(due)) => format!("{s}：应于 {due} 前完成"),
                    (Some(s), None) => format!("{s}：由党支部按程序安排"),
                    _ => String::new(),
                };
                step["text"] = json!(text);
                step
            });

        // Dues: the member rows of `dues_monthly` (due months, paid or not) this year, and
        // the run owed as `dues_arrears` counts it.
        let months = self
            .rows(&format!(
                "SELECT month, members_paid = 1 AS paid FROM dues_monthly \
                 WHERE level = 'member' AND member_id = {id} AND month >= '{year}-01' ORDER BY month"
            ))
            .await?;
        let owed = self
            .rows(&format!(
                "SELECT CAST(months_owed AS BIGINT) AS months_owed, last_paid_period \
                 FROM dues_arrears WHERE level = 'member' AND member_id = {id}"
            ))
            .await?
            .into_iter()
            .next();
        let monthly_fen = self
            .rows(&format!(
                "SELECT amount_fen FROM dues WHERE member_id = {id} ORDER BY period DESC, occurred_at DESC LIMIT 1"
            ))
            .await?
            .into_iter()
            .next()
            .and_then(|r| r["amount_fen"].as_i64())
            .unwrap_or(20);
        let paid_months = months.iter().filter(|m| m["paid"] == json!(true)).count();
        let months_owed = owed
            .as_ref()
            .and_then(|o| o["months_owed"].as_i64())
            .unwrap_or(0);
        let dues = json!({
            "year": year,
            "due_months": months.len(),
            "paid_months": paid_months,
            "months_owed": months_owed,
            "monthly_fen": monthly_fen,
            "owed_fen": months_owed * monthly_fen,
            "last_paid_period": owed.as_ref().and_then(|o| o["last_paid_period"].as_str()),
            "months": months,
        });

        // 三会一课 this year: the latest record per meeting (`attendance_latest`).
        let by_kind = self
            .rows(&format!(
                "SELECT meeting_kind AS kind, count(*) AS invited, \
                        sum(CASE WHEN status = 'present' THEN 1 ELSE 0 END) AS present, \
                        sum(CASE WHEN status = 'excused' THEN 1 ELSE 0 END) AS excused, \
                        sum(CASE WHEN status = 'absent' THEN 1 ELSE 0 END) AS absent \
                 FROM attendance_latest \
                 WHERE member_id = {id} AND month >= '{year}-01' AND month <= '{year}-12' \
                 GROUP BY meeting_kind ORDER BY meeting_kind"
            ))
            .await?;
        let sum = |key: &str| -> i64 { by_kind.iter().filter_map(|k| k[key].as_i64()).sum() };
        let (invited, present) = (sum("invited"), sum("present"));
        let attendance = json!({
            "year": year,
            "invited": invited,
            "present": present,
            "excused": sum("excused"),
            "absent": sum("absent"),
            "rate": (invited > 0).then(|| present as f64 / invited as f64),
            "by_kind": by_kind.iter().map(|k| {
                let mut k = k.clone();
                let label = MeetingKind::parse(k["kind"].as_str().unwrap_or_default())
                    .map_or("其他会议", MeetingKind::label_zh);
                k["label"] = json!(label);
                k
            }).collect::<Vec<_>>(),
        });

        // Study this year against the year's target, at the pace of the day.
        let params = self.warehouse.catalog().params_at(now);
        let target: f64 = self
            .query
            .as_ref()
            .and_then(|q| {
                params
                    .get("study_target_minutes_per_year")
                    .cloned()
                    .or_else(|| {
                        q.get("param.study_target_minutes_per_year")
                            .map(String::from)
                    })
            })
            .and_then(|t| t.parse().ok())
            .unwrap_or(1920.0);
        let recent = self
            .rows(&format!(
                "SELECT s.resource_id, r.title, r.topic, s.minutes, CAST(s.occurred_on AS VARCHAR) AS studied_on \
                 FROM study s LEFT JOIN resources r ON r.resource_id = s.resource_id \
                 WHERE s.member_id = {id} ORDER BY s.occurred_at DESC LIMIT 5"
            ))
            .await?;
        let minutes = self
            .rows(&format!(
                "SELECT COALESCE(sum(minutes), 0.0) AS minutes FROM study \
                 WHERE member_id = {id} AND month >= '{year}-01' AND month <= '{year}-12'"
            ))
            .await?
            .first()
            .and_then(|r| r["minutes"].as_f64())
            .unwrap_or(0.0);
        let expected = target * f64::from(today.ordinal()) / 365.0;
        let study = json!({
            "year": year,
            "minutes": minutes,
            "target_minutes": target,
            "expected_minutes": expected.round(),
            "share": minutes / target,
            "recent": recent,
        });

        let quizzes = self
            .rows(&format!(
                "SELECT quiz_id, topic, score_pct, CAST(occurred_on AS VARCHAR) AS taken_on FROM quizzes \
                 WHERE member_id = {id} ORDER BY occurred_at DESC LIMIT 10"
            ))
            .await?;
        let score = self
            .rows(&format!(
                "SELECT * FROM member_score WHERE member_id = {id} ORDER BY year DESC LIMIT 1"
            ))
            .await?
            .into_iter()
            .next();
        let warnings = self
            .rows(&format!(
                "SELECT warning_id, rule, severity, detail AS message, CAST(deadline AS VARCHAR) AS deadline, raised_at \
                 FROM warnings WHERE member_id = {id} AND status <> 'resolved' \
                 ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, raised_at DESC"
            ))
            .await?
            .into_iter()
            .map(|mut warning| {
                // The rule's title (e.g. 党费欠缴) beside its file name.
                let title = warning["rule"]
                    .as_str()
                    .and_then(|r| self.warehouse.catalog().get(r))
                    .and_then(|q| q.get("title"))
                    .map(str::to_string);
                warning["title"] = json!(title);
                warning
            })
            .collect::<Vec<_>>();
        // Notices of the member's org and the orgs above it that they have not read,
        // published since they came to that org (registration or the latest transfer in).
        let arrived = person["arrived_at"]
            .as_str()
            .unwrap_or("1970-01-01T00:00:00Z");
        let path: Vec<String> = self
            .warehouse
            .orgs()
            .path(&org_id)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        let path = warehouse::queries::sql_string_list(&path);
        let notices = self
            .rows(&format!(
                "SELECT json_get_str(n.payload, 'notice_id') AS notice_id, \
                        json_get_str(n.payload, 'title') AS title, \
                        CAST(n.occurred_on AS VARCHAR) AS published_on \
                 FROM live_events n \
                 WHERE n.event_type = 'notice.published' AND n.org_id IN ({path}) \
                   AND n.occurred_at >= CAST('{arrived}' AS TIMESTAMP) \
                   AND json_get_str(n.payload, 'notice_id') NOT IN ( \
                       SELECT json_get_str(r.payload, 'notice_id') FROM live_events r \
                       WHERE r.event_type = 'notice.read' AND r.member_id = {id} \
                         AND json_get_str(r.payload, 'notice_id') IS NOT NULL) \
                 ORDER BY n.occurred_at DESC"
            ))
            .await?;
        let opted_out = self
            .rows(&format!(
                "SELECT opted_out FROM push_preferences WHERE member_id = {id}"
            ))
            .await?
            .first()
            .and_then(|r| r["opted_out"].as_bool())
            .unwrap_or(false);
        let recommendations = self.recommendations(member_id, now).await?;

        Ok(json!({
            "today": today.to_string(),
            "member": {
                "member_id": member_id,
                "name": person["name"],
                "org_id": org_id,
                "org_name": org_name,
                "stage": stage,
                "stage_label": stage_label(&stage),
                "stage_since": person["stage_since"],
                "status": person["status"],
            },
            "next_step": next_step,
            "dues": dues,
            "attendance": attendance,
            "study": study,
            "quizzes": quizzes,
            "score": score,
            "warnings": warnings,
            "notices": {"unread": notices.len(), "items": notices.into_iter().take(5).collect::<Vec<_>>()},
            "recommendations": recommendations,
            "push": {"opted_out": opted_out, "has_email": person["has_email"]},
        }))
    }
}
