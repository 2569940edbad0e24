//! `GET /metrics`: parsed by the `prometheus-client` package's parser
//! (`tests/support/parse_metrics.py`), its counters move with the work — events ingested,
//! a query over HTTP and over the Postgres wire, a model refreshed, a warning run that
//! mails a digest — and only an admin reads it on the main listener.
//!
//! The server is the real binary (its own process, so its own counters), with the
//! scheduler on: it catches up the models at start, and the test's rule runs every two
//! seconds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pg::psql;
use crate::support::{Scratch, Server, org_tree, python};

/// A rule that warns of every registered member, every two seconds.
const RULE: &str = "-- name: registered_members
-- title: 党员登记（测试规则）
-- description: Every registered member, so that every run has findings.
-- schedule: */2 * * * * *
-- subject: member
-- ack_days: 7
-- message: 党员{member_id}
SELECT org_id, member_id, 'notice' AS severity
FROM live_events WHERE event_type = 'member.registered'
";

type Samples = BTreeMap<String, f64>;

async fn scrape(server: &Server, token: &str) -> (u16, String) {
    let response = server
        .client
        .get(format!("{}/metrics", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The samples of `/metrics`, through Prometheus' own parser.
async fn samples(server: &Server) -> Samples {
    let (status, text) = scrape(server, "t-admin").await;
    assert_eq!(status, 200, "{text}");
    let mut parse = tokio::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/parse_metrics.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use tokio::io::AsyncWriteExt;
    let mut stdin = parse.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = parse.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "the exposition does not parse: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of the samples named `name` whose labels include all of `labels`.
fn total(samples: &Samples, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(key, _)| {
            key.split('{').next() == Some(name) && labels.iter().all(|l| key.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_move_with_the_work() {
    let scratch = Scratch::new("metrics");
    let queries = scratch.0.join("queries");
    for folder in ["views", "metrics", "stats", "warnings"] {
        let to = queries.join(folder);
        std::fs::create_dir_all(&to).unwrap();
        if folder == "warnings" {
            continue;
        }
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("queries")
            .join(folder);
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(queries.join("warnings/10_registered_members.sql"), RULE).unwrap();
    let outbox = scratch.0.join("outbox");
    let server = Server::spawn(
        &scratch.0,
        &format!(
            "[queries]\ndir = \"{}\"\n[scheduler]\nenabled = true\nvacuum = \"\"\n\
             [mail]\noutbox = \"{}\"\n",
            queries.display(),
            outbox.display()
        ),
    );

    // Only admins read it here.
    for (token, status) in [("t-analyst", 403), ("t-leader", 403), ("t-admin", 200)] {
        assert_eq!(scrape(&server, token).await.0, status, "{token}");
    }
    assert_eq!(server.get_public("/metrics").await.0, 401);
    let before = samples(&server).await;
    assert_eq!(total(&before, "dangjian_build_info", &[]), 1.0);

    // Ingest: a secretary with mail, the tree and two members.
    let mut events = org_tree();
    events.push(json!({
        "event_type": "org.secretary_appointed", "occurred_at": "2024-09-02T09:00:00+08:00",
        "org_id": "B1",
        "payload": {"secretary_id": "S1", "name": "李书记", "email": "li.shuji@univ.edu.cn"}
    }));
    for m in ["M1", "M2"] {
        events.push(json!({
            "event_type": "member.registered", "occurred_at": "2026-01-05T09:00:00+08:00",
            "org_id": "B1", "member_id": m,
            "payload": {"name": format!("党员{m}"), "student_no": format!("S{m}"),
                        "gender": "female", "grade": 2024, "major": "计算机",
                        "class_name": "计科1班"}
        }));
    }
    let sent = events.len() as f64;
    let (status, body) = server.post_json("t-admin", &Value::Array(events)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server.post_json("t-analyst", &json!([])).await;
    assert_eq!(status, 403);

    // A query over HTTP and one over the wire.
    assert_eq!(
        server
            .sql("t-analyst", "SELECT count(*) FROM events")
            .await
            .0,
        200
    );
    assert_eq!(server.sql("t-analyst", "SELEC 1").await.0, 400);
    let wire = psql(&server, "t-analyst", &["-At", "-c", "SELECT 1"]);
    assert!(wire.status.success());

    let after = samples(&server).await;
    let moved =
        |name: &str, labels: &[&str]| total(&after, name, labels) - total(&before, name, labels);
    assert!(
        moved("dangjian_ingest_events_total", &[]) >= sent,
        "{after:#?}"
    );
    assert_eq!(
        moved("dangjian_ingest_requests_total", &["status=\"ok\""]),
        1.0
    );
    assert_eq!(
        moved("dangjian_ingest_requests_total", &["status=\"forbidden\""]),
        1.0
    );
    assert!(moved("dangjian_ingest_bytes_total", &[]) > 500.0);
    assert!(moved("dangjian_ingest_commit_seconds_count", &[]) >= 1.0);
    assert!(moved("dangjian_ingest_events_per_commit_sum", &[]) >= sent);
    assert_eq!(
        moved(
            "dangjian_sql_queries_total",
            &["via=\"http\"", "status=\"ok\""]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "dangjian_sql_queries_total",
            &["via=\"http\"", "status=\"sql_error\""]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "dangjian_sql_queries_total",
            &["via=\"pg\"", "status=\"ok\""]
        ),
        1.0
    );
    assert_eq!(
        moved("dangjian_sql_query_seconds_count", &["via=\"pg\""]),
        1.0
    );
    assert!(
        moved(
            "dangjian_http_requests_total",
            &["route=\"/api/v1/sql\"", "status=\"200\""]
        ) >= 1.0
    );
    assert!(
        moved(
            "dangjian_http_requests_total",
            &["route=\"/api/v1/events\"", "status=\"403\""]
        ) >= 1.0
    );

    // The scheduler: models refreshed (with their age), the rule run, a digest mailed.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = samples(&server).await;
        let refreshed = total(
            &now,
            "dangjian_model_refreshes_total",
            &["status=\"succeeded\""],
        );
        let runs = total(&now, "dangjian_warning_runs_total", &["status=\"ok\""]);
        let findings = total(
            &now,
            "dangjian_warning_findings_total",
            &["rule=\"registered_members\""],
        );
        let mails = total(&now, "dangjian_mails_total", &["status=\"sent\""]);
        let ages = total(&now, "dangjian_model_age_seconds", &[]);
        let durations = total(&now, "dangjian_model_refresh_seconds_count", &[]);
        if refreshed >= 1.0 && runs >= 1.0 && findings >= 2.0 && mails >= 1.0 {
            assert!(durations >= refreshed, "{now:#?}");
            assert!(ages >= 0.0);
            assert!(
                now.keys()
                    .any(|k| k.starts_with("dangjian_model_age_seconds{")),
                "no model age: {now:#?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler's counters did not move: refreshed {refreshed}, runs {runs}, \
             findings {findings}, mails {mails}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        std::fs::read_dir(&outbox).unwrap().count() >= 1,
        "a digest in the outbox"
    );

    // Every series the Grafana dashboard charts is one the server exposes.
    let now = samples(&server).await;
    let dashboard: Value =
        serde_json::from_str(include_str!("../../deploy/grafana-dashboard.json"))
            .expect("the Grafana dashboard is JSON");
    let mut charted = std::collections::BTreeSet::new();
    collect_series(&dashboard, &mut charted);
    assert!(charted.len() >= 15, "{charted:?}");
    let missing: Vec<&String> = charted
        .iter()
        .filter(|name| !now.keys().any(|k| k.starts_with(&format!("{name}{{"))))
        .collect();
    assert!(missing.is_empty(), "charted but not exposed: {missing:?}");
}

/// The `dangjian_…` series named in the `expr` of every panel target of a Grafana
/// dashboard.
fn collect_series(value: &Value, into: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Value::String(expr)) => {
                        let mut rest = expr.as_str();
                        while let Some(at) = rest.find("dangjian_") {
                            let tail = &rest[at..];
                            let end = tail
                                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                                .unwrap_or(tail.len());
                            into.insert(tail[..end].to_string());
                            rest = &tail[end..];
                        }
                    }
                    _ => collect_series(v, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_series(v, into)),
        _ => {}
    }
}

/// `metrics.listen`: a separate address that serves `/metrics` without a token, and
/// nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_listen_serves_without_a_token() {
    let scratch = Scratch::new("metrics-listen");
    let port = crate::warnings::free_port();
    let server = Server::spawn(
        &scratch.0,
        &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let client = &server.client;
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("dangjian_build_info"), "{text}");
    let other = client
        .get(format!("http://127.0.0.1:{port}/api/v1/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
