//! 智能党建 end to end: the member role against the access matrix (their own page and
//! recommendations, nothing of anyone else: API, SQL, dashboards, warnings, ingest), what
//! the page says of a member, the opt-out, and the weekly push received by a real SMTP
//! server (aiosmtpd): one mail per member per week, the opt-out honoured, no repeat.
//!
//! The data is `tests/data/recommendations_fixture.ndjson` (its people and what the
//! recommendations find for them are described in `tests/slt/recommendations_2026-11-25.slt`).

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{BIN, Scratch, Server, write_config};
use crate::warnings::{Smtp, free_port, received};

fn fixture() -> Value {
    Value::Array(
        include_str!("../data/recommendations_fixture.ndjson")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

async fn post(server: &Server, token: &str, path: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A server (`extra` added to its config) over the members' fixture.
async fn with_members(scratch: Scratch, extra: &str) -> (Scratch, Server) {
    let server = Server::start(&scratch.0, extra);
    let (status, body) = server.post_json("t-admin", &fixture()).await;
    assert_eq!(status, 200, "{body}");
    (scratch, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_reads_their_own_record_and_nothing_else() {
    let (_scratch, server) = with_members(Scratch::new("members-access"), "").await;

    // Their own page: stage, next step by the time rules, study, quizzes, recommendations.
    let (status, page) = server.get("t-member-r", "/api/v1/members/M_R").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["member"]["member_id"], "M_R");
    assert_eq!(page["member"]["stage"], "probationary");
    assert_eq!(page["member"]["org_name"], "计算机学院本科生第一党支部");
    // Admitted on 10 January, not yet approved: the higher committee has three months.
    assert_eq!(page["next_step"]["step"], "上级党委审批入党", "{page}");
    assert_eq!(page["next_step"]["due_on"], "2026-04-10", "{page}");
    assert_eq!(page["study"]["minutes"], json!(2000.0), "{page}");
    assert_eq!(page["quizzes"].as_array().unwrap().len(), 2, "{page}");
    let recommended: Vec<&str> = page["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(recommended, ["R_DS1", "R_DS2"], "{page}");
    assert_eq!(
        page["recommendations"][0]["reason"],
        "「党史」测试平均70分，低于本支部平均80分"
    );
    assert_eq!(page["push"]["opted_out"], false);
    assert_eq!(page["member"]["stage_since"], "2026-01-10", "{page}");

    // Unread notices: of the member's org and the orgs above it, published since they
    // came (registered 2025-03-01), not read.
    let notice = |id: &str, org: &str, at: &str| {
        json!({"event_type": "notice.published", "occurred_at": at, "org_id": org,
               "payload": {"notice_id": id, "title": format!("通知{id}")}})
    };
    let (status, body) = server
        .post_json(
            "t-admin",
            &json!([
                notice("N_OLD", "U", "2025-02-01T09:00:00+08:00"),
                notice("N_U", "U", "2026-11-01T09:00:00+08:00"),
                notice("N_B1", "B1", "2026-11-02T09:00:00+08:00"),
                notice("N_READ", "C1", "2026-11-03T09:00:00+08:00"),
                notice("N_B2", "B2", "2026-11-04T09:00:00+08:00"),
                {"event_type": "notice.read", "occurred_at": "2026-11-03T12:00:00+08:00",
                 "org_id": "B1", "member_id": "M_R", "payload": {"notice_id": "N_READ"}},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = server.get("t-member-r", "/api/v1/members/M_R").await;
    let unread: Vec<&str> = page["notices"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["notice_id"].as_str().unwrap())
        .collect();
    assert_eq!(unread, ["N_B1", "N_U"], "{page}");
    assert_eq!(page["notices"]["unread"], 2);
    let (status, rec) = server
        .get("t-member-r", "/api/v1/members/M_R/recommendations")
        .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["recommendations"], page["recommendations"]);

    // Anyone else's record: nothing, not even whether it exists.
    for path in [
        "/api/v1/members/M_P",
        "/api/v1/members/M_P/recommendations",
        "/api/v1/members/NOBODY",
    ] {
        let (status, body) = server.get("t-member-r", path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "unknown_member", "{body}");
        assert!(!body.to_string().contains("成员"), "{body}");
    }
    // No other door: SQL, dashboards, warnings, the model list, ingest.
    let (status, _) = server.sql("t-member-r", "SELECT * FROM people").await;
    assert_eq!(status, 403);
    for path in [
        "/api/v1/dashboards",
        "/api/v1/dashboards/branch?org=B1",
        "/api/v1/warnings",
        "/api/v1/queries",
    ] {
        let (status, body) = server.get("t-member-r", path).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, _) = server
        .post_json(
            "t-member-r",
            &json!([{"event_type": "study.completed", "occurred_at": "2026-11-25T09:00:00+08:00",
                     "org_id": "B1", "member_id": "M_R", "payload": {"resource_id": "R_DS1", "minutes": 30}}]),
        )
        .await;
    assert_eq!(status, 403);
    let (status, me) = server.get("t-member-r", "/api/v1/whoami").await;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "member");
    assert_eq!(me["member"], "M_R");

    // Secretaries, leaders and admins over the member's home read the page; others not.
    for (token, member, expected) in [
        ("t-secretary-b1", "M_R", 200),
        ("t-secretary-b2", "M_R", 404),
        // Transferred from B1 to B2: the receiving branch's now.
        ("t-secretary-b2", "M_T", 200),
        ("t-secretary-b1", "M_T", 404),
        ("t-leader-c1", "M_R", 200),
        ("t-leader-c2", "M_R", 404),
        ("t-leader", "M_R", 200),
        ("t-admin", "M_T", 200),
        ("t-analyst", "M_R", 403),
        ("t-producer", "M_R", 403),
    ] {
        let (status, body) = server
            .get(token, &format!("/api/v1/members/{member}/recommendations"))
            .await;
        assert_eq!(status, expected, "{token} → {member}: {body}");
    }

    // The push choice: the member's own (or their secretary's), recorded as an event.
    let (status, body) = post(
        &server,
        "t-member-r",
        "/api/v1/members/M_R/push",
        r#"{"enabled": false}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = server.get("t-member-r", "/api/v1/members/M_R").await;
    assert_eq!(page["push"]["opted_out"], true, "{page}");
    let (status, body) = post(
        &server,
        "t-member-r",
        "/api/v1/members/M_P/push",
        r#"{"enabled": false}"#,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(
        &server,
        "t-leader",
        "/api/v1/members/M_R/push",
        r#"{"enabled": true}"#,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post(
        &server,
        "t-member-r",
        "/api/v1/members/M_R/push",
        r#"{"enabled": "no"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "enabled", "{body}");
    // The recommendation events are the server's: no producer writes them.
    let (status, body) = server
        .post_json(
            "t-admin",
            &json!([{"event_type": "study.recommended", "occurred_at": "2026-11-25T09:00:00+08:00",
                     "org_id": "B1", "member_id": "M_R",
                     "payload": {"resource_id": "R_DS1", "week": "2026-11-23", "rank": 1, "reason": "x", "signals": []}}]),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // Every read of a member's record is audited — the member's own, their secretary's,
    // the asking after someone else's — and so is the push choice.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rows = server
            .rows(
                "SELECT caller, action, target, status FROM audit \
                 WHERE action IN ('member', 'push_choice') ORDER BY at",
            )
            .await;
        let has = |caller: &str, action: &str, target: &str, status: u16| {
            rows.iter().any(|r| {
                r["caller"] == caller
                    && r["action"] == action
                    && r["target"] == target
                    && r["status"] == json!(status)
            })
        };
        if has("t-member-r", "member", "GET /api/v1/members/M_R", 200)
            && has(
                "t-member-r",
                "member",
                "GET /api/v1/members/M_R/recommendations",
                200,
            )
            && has(
                "t-secretary-b1",
                "member",
                "GET /api/v1/members/M_R/recommendations",
                200,
            )
            && has(
                "t-secretary-b2",
                "member",
                "GET /api/v1/members/M_R/recommendations",
                404,
            )
            && has("t-member-r", "member", "GET /api/v1/members/M_P", 404)
            && has(
                "t-member-r",
                "push_choice",
                "POST /api/v1/members/M_R/push",
                200,
            )
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "audit rows missing: {rows:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `dangjian study push --as-of <day>` with the server stopped.
fn push(scratch: &Scratch, config: &std::path::Path, as_of: &str) -> String {
    let storage = format!("storage.url={}", scratch.0.join("warehouse").display());
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "--set", &storage])
        .args(["study", "push", "--as-of", as_of])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A member's page shows each reader its personal data as their SQL does: with leaders'
/// names masked by the settings, a leader reads `成**`, the member, their secretary and an
/// admin the name in clear.
#[tokio::test(flavor = "multi_thread")]
async fn a_members_page_is_masked_for_the_readers_role() {
    let (_scratch, server) = with_members(
        Scratch::new("members-masked"),
        "[access.leader]\nname = \"masked\"\n",
    )
    .await;
    for (token, name) in [
        ("t-member-r", "成员R"),
        ("t-secretary-b1", "成员R"),
        ("t-admin", "成员R"),
        ("t-leader", "成**"),
        ("t-leader-c1", "成**"),
    ] {
        let (status, page) = server.get(token, "/api/v1/members/M_R").await;
        assert_eq!(status, 200, "{token}: {page}");
        assert_eq!(page["member"]["name"], name, "{token}: {page}");
        // Members and secretaries have no SQL.
        if token == "t-admin" || token.starts_with("t-leader") {
            let (status, rows) = server
                .sql(token, "SELECT name FROM people WHERE member_id = 'M_R'")
                .await;
            assert_eq!(status, 200, "{token}: {rows}");
            assert_eq!(rows["rows"][0]["name"], name, "{token}: SQL {rows}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_weekly_push_mails_each_member_once_and_honours_the_opt_out() {
    let scratch = Scratch::new("members-push");
    let port = free_port();
    let inbox = scratch.0.join("inbox");
    let config = write_config(
        &scratch.0,
        &format!(
            "[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nsecurity = \"none\"\n\
             attempts = 2\nretry_backoff_ms = 100\n"
        ),
    );
    let server = Server::spawn_with(&scratch.0, config.clone());
    let (status, body) = server.post_json("t-admin", &fixture()).await;
    assert_eq!(status, 200, "{body}");
    // M_N opts out before the push.
    let (status, body) = post(
        &server,
        "t-member-n",
        "/api/v1/members/M_N/push",
        r#"{"enabled": false}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate(), Some(0));

    let _smtp = Smtp::start(port, &inbox);
    let out = push(&scratch, &config, "2026-11-25");
    // M_R (2), M_S61 (3), M_T (1); M_N opted out.
    assert!(
        out.contains(
            "3 member(s) with recommendations (1 opted out), 6 recommendation(s) recorded"
        ),
        "{out}"
    );
    assert!(out.contains("3 digest(s) sent"), "{out}");
    let mails = received(&inbox);
    let mut to: Vec<&str> = mails.iter().map(|(rcpt, _)| rcpt.trim()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "m_r@stu.univ.edu.cn",
            "m_s61@stu.univ.edu.cn",
            "m_t@stu.univ.edu.cn"
        ]
    );
    let to_r = &mails
        .iter()
        .find(|(rcpt, _)| rcpt.contains("m_r@"))
        .unwrap()
        .1;
    assert!(to_r.contains("Subject:"), "{to_r}");

    // Again in the same week (the evening of the same day: on a later day a member
    // newly behind the year's pace would get their first push of the week): nothing
    // recorded, nothing mailed.
    let out = push(&scratch, &config, "2026-11-25T20:00:00+08:00");
    assert!(out.contains("0 recommendation(s) recorded"), "{out}");
    assert!(out.contains("0 digest(s) sent"), "{out}");
    assert_eq!(received(&inbox).len(), 3);

    // What was recorded: one event per recommendation, one digest per member mailed.
    let storage = format!("storage.url={}", scratch.0.join("warehouse").display());
    let counts = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "--set", &storage, "sql"])
        .arg("SELECT event_type, count(*) AS n FROM events WHERE event_type LIKE 'study.%' AND event_type <> 'study.completed' GROUP BY event_type ORDER BY event_type")
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&counts.stdout).to_string();
    let count = |event_type: &str| -> Option<String> {
        counts
            .lines()
            .find(|l| l.contains(&format!(" {event_type} ")))
            .map(|l| l.split('|').nth(2).unwrap_or_default().trim().to_string())
    };
    assert_eq!(count("study.digest_sent").as_deref(), Some("3"), "{counts}");
    assert_eq!(
        count("study.push_opted_out").as_deref(),
        Some("1"),
        "{counts}"
    );
    assert_eq!(count("study.recommended").as_deref(), Some("6"), "{counts}");
}
