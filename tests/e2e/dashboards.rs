//! Dashboard JSON over HTTP: every panel of every dashboard answers over the models
//! fixture, materialised and live agree, scope is enforced, drill-down follows the tree.

use serde_json::Value;

use crate::support::{Scratch, Server, output_on, write_config};

/// The events of `tests/data/models_fixture.ndjson` (2023–2025, orgs U, C1, C2, B1–B3, G1).
fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/models_fixture.ndjson"
    ))
    .unwrap()
}

const PERIOD: &str = "from=2025-01&to=2025-12";

fn panel<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no panel `{id}` in {body}"))
}

/// A server over the model fixture whose models an operator has materialised by hand
/// (`dangjian refresh` while it was stopped), with its storage and config.
async fn refreshed_fixture(name: &str) -> (Scratch, std::path::PathBuf, Server) {
    let scratch = Scratch::new(name);
    let config = write_config(&scratch.0, "");
    let server = Server::start_with(&scratch.0, config.clone());
    let (status, body) = server
        .post_events("t-admin", fixture(), "application/x-ndjson")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate(), Some(0));
    output_on(&scratch.0, &config, &["refresh"]);
    let server = Server::start_with(&scratch.0, config.clone());
    (scratch, config, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboards_answer_within_scope() {
    let (_scratch, _config, server) = refreshed_fixture("dashboards").await;

    // The list.
    let (status, list) = server.get("t-leader", "/api/v1/dashboards").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    for id in ["university", "college", "branch", "statistics"] {
        assert!(ids.contains(&id), "{ids:?}");
    }

    // Every panel of every dashboard answers without error from the materialised
    // tables; for the college, as_of after everything reads the same tables (history)
    // and, computed live from the events (`live=true`), gives the same rows.
    // (Live is the slow path — every model planned and run over the events — so one
    // dashboard stands for the rest.)
    for (id, org) in [
        ("university", "U"),
        ("college", "C1"),
        ("branch", "B1"),
        ("statistics", "U"),
    ] {
        let path = format!("/api/v1/dashboards/{id}?org={org}&{PERIOD}");
        let (status, stored) = server.get("t-admin", &path).await;
        assert_eq!(status, 200, "{id}: {stored}");
        assert_eq!(stored["source"], "materialised", "{id}");
        assert!(stored["freshness"].is_string(), "{id}: {stored}");
        for p in stored["panels"].as_array().unwrap() {
            assert!(p["error"].is_null(), "{id}/{}: {}", p["id"], p["error"]);
        }
        if id != "college" {
            continue;
        }
        let (status, past) = server
            .get("t-admin", &format!("{path}&as_of=2100-01-01T00:00:00Z"))
            .await;
        assert_eq!(status, 200, "{id}: {past}");
        assert_eq!(past["source"], "history", "{past}");
        assert_eq!(past["panels"], stored["panels"]);
        let (status, live) = server
            .get(
                "t-admin",
                &format!("{path}&as_of=2100-01-01T00:00:00Z&live=true"),
            )
            .await;
        assert_eq!(status, 200, "{id}: {live}");
        assert_eq!(live["source"], "live");
        for p in stored["panels"].as_array().unwrap() {
            let l = panel(&live, p["id"].as_str().unwrap());
            assert!(
                l["error"].is_null(),
                "{id}/{} live: {}",
                p["id"],
                l["error"]
            );
            assert_eq!(
                p["rows"], l["rows"],
                "{id}/{}: materialised ≠ live",
                p["id"]
            );
        }
    }

    read_models_answer_as_live(&server).await;

    // Figures: the fixture's funnel and dues, worked out in tests/slt/models.slt.
    let (_, u) = server
        .get(
            "t-leader",
            &format!("/api/v1/dashboards/university?org=U&{PERIOD}"),
        )
        .await;
    let funnel = panel(&u, "funnel")["rows"].as_array().unwrap();
    assert_eq!(funnel.len(), 6, "six stages: {funnel:?}");
    assert!(
        !panel(&u, "dues_trend")["rows"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Drill-down: the college's children are its branches, with names; the branch
    // dashboard's breadcrumb runs U → C1 → B1 and its figures are the branch's own.
    let (status, c1) = server
        .get(
            "t-leader-c1",
            &format!("/api/v1/dashboards/college?{PERIOD}"),
        )
        .await;
    assert_eq!(status, 200, "{c1}");
    assert_eq!(
        c1["org"]["org_id"], "C1",
        "the default org is the caller's scope"
    );
    let children: Vec<&str> = c1["org"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["org_id"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["B1", "B2"]);
    let by_branch = panel(&c1, "dues_by_branch")["rows"].as_array().unwrap();
    assert!(
        by_branch
            .iter()
            .all(|r| r["org_id"] == "B1" || r["org_id"] == "B2")
    );
    assert!(by_branch.iter().all(|r| r["org_name"].is_string()));
    let (status, b1) = server
        .get(
            "t-leader-c1",
            &format!("/api/v1/dashboards/branch?org=B1&{PERIOD}"),
        )
        .await;
    assert_eq!(status, 200, "{b1}");
    let crumbs: Vec<&str> = b1["org"]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["org_id"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["U", "C1", "B1"]);
    assert_ne!(
        panel(&b1, "dues_trend")["rows"],
        panel(&c1, "dues_trend")["rows"],
        "the branch's figures differ from its college's"
    );

    // Scope: a college leader never sees another college; producers see no dashboards.
    let (status, body) = server
        .get("t-leader-c1", "/api/v1/dashboards/college?org=C2")
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["field"], "org");
    let (status, _) = server
        .get("t-secretary-b1", "/api/v1/dashboards/college?org=C1")
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get("t-secretary-b1", "/api/v1/dashboards/branch")
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.get("t-producer", "/api/v1/dashboards").await;
    assert_eq!(status, 403);

    // Bad parameters name themselves.
    for (query, field, expected) in [
        ("/api/v1/dashboards/college?org=NOPE", "org", 404),
        ("/api/v1/dashboards/college?from=2025-13", "from", 400),
        (
            "/api/v1/dashboards/college?from=2025-06&to=2025-01",
            "from",
            400,
        ),
        ("/api/v1/dashboards/college?as_of=yesterday", "as_of", 400),
        (
            "/api/v1/dashboards/college?as_of=2026-01-01T00:00:00Z&live=maybe",
            "live",
            400,
        ),
        ("/api/v1/dashboards/college?live=true", "live", 400),
    ] {
        let (status, body) = server.get("t-admin", query).await;
        assert_eq!(status, expected, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (status, body) = server.get("t-admin", "/api/v1/dashboards/nope").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_dashboard"))
    );

    // as_of before any event was recorded: the cockpit was empty then.
    let (status, before) = server
        .get(
            "t-admin",
            &format!("/api/v1/dashboards/university?org=U&{PERIOD}&as_of=2000-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["source"], "live", "no model table existed then");
    assert!(
        panel(&before, "dues_trend")["rows"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// `as_of` an instant between two refreshes reads each model table at the version of
/// the first (Delta time travel), which answers what the events recorded by then answer
/// computed live; now, the second refresh's tables answer otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn as_of_reads_the_model_tables_of_that_instant() {
    let (scratch, config, server) = refreshed_fixture("dashboards-history").await;
    let refreshed = server
        .rows("SELECT max(refreshed_at) AS t FROM models")
        .await;
    let first = chrono::DateTime::parse_from_rfc3339(refreshed[0]["t"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("{refreshed:?}: {e}"))
        .with_timezone(&chrono::Utc);
    let between = first + chrono::TimeDelta::seconds(1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // A new applicant after that instant, then a second refresh.
    let newcomer = serde_json::json!([
        {"event_type": "member.registered", "occurred_at": "2025-06-01T09:00:00+08:00",
         "org_id": "B1", "member_id": "M-NEW",
         "payload": {"name": "新同学", "student_no": "S0999", "gender": "female", "grade": 2024,
                     "major": "专业", "class_name": "班级"}},
        {"event_type": "member.applied", "occurred_at": "2025-06-02T09:00:00+08:00",
         "org_id": "B1", "member_id": "M-NEW", "payload": {}}
    ]);
    let (status, body) = server.post_json("t-admin", &newcomer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate(), Some(0));
    output_on(&scratch.0, &config, &["refresh"]);
    let server = Server::start_with(&scratch.0, config);

    let path = format!("/api/v1/dashboards/university?org=U&{PERIOD}");
    let at = between.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, past) = server.get("t-admin", &format!("{path}&as_of={at}")).await;
    assert_eq!(status, 200, "{past}");
    assert_eq!(past["source"], "history", "{past}");
    let (status, live) = server
        .get("t-admin", &format!("{path}&as_of={at}&live=true"))
        .await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["source"], "live");
    for p in past["panels"].as_array().unwrap() {
        assert!(p["error"].is_null(), "{}: {}", p["id"], p["error"]);
        let l = panel(&live, p["id"].as_str().unwrap());
        assert_eq!(p["rows"], l["rows"], "{}: history ≠ live", p["id"]);
    }
    let (status, now) = server.get("t-admin", &path).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["source"], "materialised");
    assert_ne!(
        panel(&now, "funnel")["rows"],
        panel(&past, "funnel")["rows"],
        "the second refresh counts the new applicant"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cockpit_page_and_its_assets_are_served() {
    let scratch = Scratch::new("web");
    let server = Server::start(&scratch.0, "");
    let page = server
        .client
        .get(format!("{}/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("党建驾驶舱"), "{html}");
    let missing = server
        .client
        .get(format!("{}/assets/nope.js", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let (status, queries) = server.get("t-analyst", "/api/v1/queries").await;
    assert_eq!(status, 200);
    assert!(
        queries["queries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "dues_monthly" && q["kind"] == "metric")
    );
}

/// Read models in SQL: once refreshed, each model's name reads its table (the `models`
/// catalogue says so, with the refresh time) and answers row for row what its live
/// computation `live.<name>` answers; `GET /api/v1/queries` names both.
async fn read_models_answer_as_live(server: &Server) {
    let (status, catalogue) = server.sql("t-admin", "SELECT * FROM models").await;
    assert_eq!(status, 200, "{catalogue}");
    let (_, queries) = server.get("t-analyst", "/api/v1/queries").await;
    let models: Vec<&Value> = queries["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] == "metric" || q["kind"] == "stat")
        .collect();
    assert!(models.len() > 15, "{queries}");
    let sorted = |body: &Value| {
        let mut rows: Vec<String> = body["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|row| rounded(row.clone()).to_string())
            .collect();
        rows.sort();
        rows
    };
    let (count, mut nonempty) = (models.len(), 0);
    for model in models {
        let name = model["name"].as_str().unwrap();
        assert_eq!(model["source"], "table", "{model}");
        assert_eq!(model["live"], format!("live.{name}"));
        assert!(model["refreshed_at"].is_string(), "{model}");
        let row = catalogue["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in `models`: {catalogue}"));
        assert_eq!(row["source"], "table", "{row}");
        assert!(row["refreshed_at"].is_string(), "{row}");
        let (status, table) = server
            .sql("t-admin", &format!("SELECT * FROM {name}"))
            .await;
        assert_eq!(status, 200, "{name}: {table}");
        let (status, live) = server
            .sql("t-admin", &format!("SELECT * FROM live.{name}"))
            .await;
        assert_eq!(status, 200, "live.{name}: {live}");
        nonempty += usize::from(!sorted(&table).is_empty());
        assert_eq!(sorted(&table), sorted(&live), "{name}: table ≠ live");
        // The plan says where the answer comes from: the model's table, not `events`.
        let explain = |sql: String| async move {
            let (status, plan) = server.sql("t-admin", &format!("EXPLAIN {sql}")).await;
            assert_eq!(status, 200, "{sql}: {plan}");
            plan.to_string().contains("TableScan: events")
        };
        assert!(
            !explain(format!("SELECT * FROM {name}")).await,
            "{name} reads events"
        );
        assert!(
            explain(format!("SELECT * FROM live.{name}")).await,
            "live.{name}"
        );
    }
    // The fixture has no open warning and no weekly study push (recommendation_uplift);
    // every other model has rows.
    assert_eq!(nonempty, count - 2);
}

/// `value` with every fraction rounded to 9 decimals: sums and deviations computed in
/// another order differ in their last bits.
fn rounded(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap();
            serde_json::json!((x * 1e9).round() / 1e9)
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, rounded(v))).collect())
        }
        other => other,
    }
}
