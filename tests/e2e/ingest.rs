//! Ingest over HTTP against the real binary: validation, all-or-nothing, exactly-once,
//! durability across restarts, SIGKILL and SIGTERM.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{
    Scratch, Server, compactions, dues, every_event_type, org_tree, output_on, server_owned_events,
};

#[tokio::test(flavor = "multi_thread")]
async fn every_event_type_round_trips() {
    let scratch = Scratch::new("roundtrip");
    let server = Server::start(&scratch.0, "");
    let events = every_event_type();
    let (status, body) = server
        .post_json("t-admin", &Value::Array(events.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], events.len());
    assert_eq!(body["duplicates"], 0);
    assert_eq!(body["event_ids"].as_array().unwrap().len(), events.len());
    assert!(body["version"].as_u64().unwrap() >= 1);

    let rows = server
        .rows("SELECT event_type, org_id, member_id, actor_id, payload, schema_version, recorded_at IS NOT NULL AS recorded FROM events")
        .await;
    assert_eq!(rows.len(), events.len());
    for sent in &events {
        let stored = rows
            .iter()
            .find(|r| {
                r["event_type"] == sent["event_type"]
                    && r["org_id"] == sent["org_id"]
                    && r["payload"]
                        .as_str()
                        .map(|p| serde_json::from_str::<Value>(p).unwrap())
                        == Some(sent["payload"].clone())
            })
            .unwrap_or_else(|| panic!("{sent} was not stored as sent"));
        assert_eq!(
            stored["member_id"],
            sent.get("member_id").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(stored["schema_version"], 1);
        assert_eq!(stored["recorded"], true);
        assert_eq!(
            stored["actor_id"], "t-admin",
            "who wrote it is the token's person"
        );
    }

    // The warning lifecycle is the server's: each type is refused, naming it.
    for event in server_owned_events() {
        let (status, body) = server.post_json("t-admin", &event).await;
        assert_eq!(status, 403, "{event}: {body}");
        assert_eq!(body["error"], "server_owned_event", "{body}");
        assert_eq!(body["field"], "event_type", "{body}");
    }
    assert_eq!(server.count_events().await, events.len() as i64);
}

/// Each class of bad input: its status, the field it names, and an unchanged table.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_its_field_and_stores_nothing() {
    let scratch = Scratch::new("bad");
    let server = Server::start(&scratch.0, "[ingest]\nmax_body_bytes = 4096\n");
    let (status, _) = server.post_json("t-admin", &Value::Array(org_tree())).await;
    assert_eq!(status, 200);
    let before = server.count_events().await;

    let good = dues("B1", "M1");
    let with = |patch: Value| {
        let mut e = dues("B1", "M1");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                e.as_object_mut().unwrap().remove(k);
            } else {
                e[k] = v.clone();
            }
        }
        e
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(json!({"event_type": "dues.payed"})),
            "event_type",
            "unknown_event_type",
        ),
        (
            with(json!({"occurred_at": null})),
            "occurred_at",
            "missing_field",
        ),
        (
            with(json!({"occurred_at": "yesterday"})),
            "occurred_at",
            "invalid_value",
        ),
        (
            with(json!({"occurred_at": "2099-01-01T00:00:00Z"})),
            "occurred_at",
            "in_future",
        ),
        (
            with(json!({"recorded_at": "2026-01-01T00:00:00Z"})),
            "recorded_at",
            "server_field",
        ),
        (
            with(json!({"org_id": "bad org"})),
            "org_id",
            "invalid_value",
        ),
        (
            with(json!({"member_id": null})),
            "member_id",
            "missing_field",
        ),
        (
            with(json!({"event_id": "not-a-uuid"})),
            "event_id",
            "invalid_value",
        ),
        (
            with(json!({"payload": {"period": "2026-13", "amount_fen": 20}})),
            "payload.period",
            "invalid_value",
        ),
        (
            with(json!({"payload": {"period": "2026-09", "amount_fen": -5}})),
            "payload.amount_fen",
            "invalid_value",
        ),
        (
            with(json!({"payload": {"period": "2026-09"}})),
            "payload.amount_fen",
            "missing_field",
        ),
        (
            with(
                json!({"event_type": "meeting.attended", "payload": {"meeting_id": "m1", "status": "late"}}),
            ),
            "payload.status",
            "invalid_value",
        ),
        (
            with(
                json!({"event_type": "quiz.taken", "payload": {"quiz_id": "q", "score": 101, "max_score": 100}}),
            ),
            "payload.score",
            "invalid_value",
        ),
        (
            with(
                json!({"event_type": "study.completed", "payload": {"resource_id": "r", "minutes": -1}}),
            ),
            "payload.minutes",
            "invalid_value",
        ),
        (
            with(
                json!({"event_type": "evaluation.submitted", "payload": {"year": 2025, "rating": "good"}}),
            ),
            "payload.rating",
            "invalid_value",
        ),
        (with(json!({"colour": "red"})), "colour", "unknown_field"),
    ];
    for (bad, field, key) in &cases {
        // The bad event sits second in a batch: the good first one must not be stored either.
        let (status, body) = server.post_json("t-producer", &json!([good, bad])).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_events");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["index"], 1, "{body}");
        assert_eq!(errors[0]["field"], *field, "{body}");
        assert_eq!(errors[0]["error"], *key, "{body}");
        assert!(errors[0]["message"].as_str().unwrap().len() > 10);
    }
    // The unknown type names the known ones.
    let (_, body) = server
        .post_json("t-producer", &with(json!({"event_type": "dues.payed"})))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("dues.paid"),
        "{body}"
    );

    // Several bad events: one error each, with its index.
    let (status, body) = server
        .post_json(
            "t-producer",
            &json!([
                with(json!({"org_id": "x y"})),
                good,
                with(json!({"member_id": null}))
            ]),
        )
        .await;
    assert_eq!(status, 422);
    let indexes: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 2]);

    // Malformed JSON: 400 with line and column.
    let (status, body) = server
        .post_events(
            "t-producer",
            "[{\"a\": 1},\n {\"b\": }]",
            "application/json",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "malformed_json");
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    let (status, body) = server
        .post_events(
            "t-producer",
            format!("{}\n{{oops\n", serde_json::to_string(&good).unwrap()),
            "application/x-ndjson",
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );

    // Wrong content type: 415. Too large: 413. Empty: 400.
    let (status, body) = server.post_events("t-producer", "x", "text/plain").await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["field"], "Content-Type");
    let big = Value::Array((0..100).map(|_| dues("B1", "M1")).collect());
    let (status, body) = server.post_json("t-producer", &big).await;
    assert_eq!(status, 413, "{body}");
    let (status, _) = server.post_json("t-producer", &json!([])).await;
    assert_eq!(status, 400);

    assert_eq!(
        server.count_events().await,
        before,
        "nothing of a refused request is stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_gzip_are_accepted() {
    let scratch = Scratch::new("ndjson");
    let server = Server::start(&scratch.0, "");
    server.post_json("t-admin", &Value::Array(org_tree())).await;
    let body: String = (0..3)
        .map(|i| format!("{}\n", dues("B1", &format!("M{i}"))))
        .collect();
    let (status, receipt) = server
        .post_events("t-producer", body.clone(), "application/x-ndjson")
        .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["accepted"], 3);

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(
            serde_json::to_string(&json!([dues("B1", "M9"), dues("B1", "M8")]))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let response = server
        .client
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth("t-producer")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(encoder.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["accepted"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_stored_once_and_conflicts_refused() {
    let scratch = Scratch::new("dupes");
    let server = Server::start(&scratch.0, "");
    server.post_json("t-admin", &Value::Array(org_tree())).await;
    let a = dues("B1", "M1");
    let b = dues("B1", "M2");

    // Within one request.
    let (status, body) = server.post_json("t-producer", &json!([a, a, b])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(2), Some(1))
    );
    // Across requests.
    let (status, body) = server.post_json("t-producer", &json!([a, b])).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(body["event_ids"][0], a["event_id"]);

    // Same id, other content: 409, and the rest of the request is not stored.
    let mut changed = a.clone();
    changed["payload"]["amount_fen"] = json!(30);
    let c = dues("B1", "M3");
    let (status, body) = server.post_json("t-producer", &json!([c, changed])).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "event_id_conflict");
    assert_eq!(body["index"], 1);
    let (status, _) = server.post_json("t-producer", &json!([c, {"event_id": c["event_id"], "event_type": "dues.paid", "occurred_at": "2026-09-05T10:00:00+08:00", "org_id": "B1", "member_id": "M3", "payload": {"period": "2026-09", "amount_fen": 99}}])).await;
    assert_eq!(status, 409, "a conflict inside one request is refused too");

    // Across a restart.
    let config = server.config.clone();
    assert_eq!(server.terminate(), Some(0));
    let server = Server::restart(&scratch.0, config);
    let (status, body) = server.post_json("t-producer", &json!([a, b])).await;
    assert_eq!(status, 200);
    assert_eq!(body["duplicates"], 2);
    let (status, _) = server.post_json("t-producer", &json!([changed])).await;
    assert_eq!(status, 409);
    let rows = server
        .rows(&format!(
            "SELECT count(*) AS n FROM events WHERE event_id IN ('{}', '{}', '{}')",
            a["event_id"].as_str().unwrap(),
            b["event_id"].as_str().unwrap(),
            c["event_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rows[0]["n"], 2, "a and b once each, c never");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_clients_each_event_exactly_once_and_restart_keeps_all() {
    let scratch = Scratch::new("concurrent");
    // Compaction every 40 files, so the table is compacted several times under the load.
    let server = Arc::new(Server::start(
        &scratch.0,
        "[ingest]\ncompact_after_files = 40\n",
    ));
    server.post_json("t-admin", &Value::Array(org_tree())).await;
    let mut tasks = Vec::new();
    for client in 0..50 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..200 {
                let e = dues("B1", &format!("M{client}-{i}"));
                // Some clients send each event twice (a retry): still stored once.
                let (status, body) = server.post_json("t-producer", &e).await;
                assert_eq!(status, 200, "{body}");
                if client % 5 == 0 && i % 10 == 0 {
                    let (status, body) = server.post_json("t-producer", &e).await;
                    assert_eq!((status, body["duplicates"].as_u64()), (200, Some(1)));
                }
                let id = e["event_id"].as_str().unwrap().to_string();
                // Read your writes: an answered event is in the next query's answer,
                // though the writer builds the new snapshot after answering.
                if client % 10 == 3 && i % 4 == 0 {
                    let rows = server
                        .rows(&format!(
                            "SELECT count(*) AS n FROM events WHERE event_id = '{id}'"
                        ))
                        .await;
                    assert_eq!(rows[0]["n"], 1, "{id} is visible once answered");
                }
                ids.push(id);
            }
            ids
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 10_000);
    assert_each_once(&server, &acknowledged).await;
    assert!(
        compactions(&scratch.0) >= 1,
        "the table was compacted under the load"
    );

    let server = Arc::try_unwrap(server).ok().unwrap();
    let config = server.config.clone();
    assert_eq!(server.terminate(), Some(0));
    let server = Server::restart(&scratch.0, config);
    assert_each_once(&server, &acknowledged).await;
}

async fn assert_each_once(server: &Server, acknowledged: &[String]) {
    // Counted in SQL, not by listing every id: a fast run stores more events than one
    // answer may hold (`sql.row_limit`).
    let duplicated = server
        .rows(
            "SELECT count(*) AS n FROM (SELECT event_id FROM events WHERE event_type = 'dues.paid' \
             GROUP BY event_id HAVING count(*) > 1)",
        )
        .await;
    assert_eq!(duplicated[0]["n"], 0, "no event is stored twice");
    for chunk in acknowledged.chunks(2_000) {
        let list = chunk
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let present = server
            .rows(&format!(
                "SELECT count(DISTINCT event_id) AS n FROM events WHERE event_id IN ({list})"
            ))
            .await;
        assert_eq!(
            present[0]["n"].as_u64(),
            Some(chunk.len() as u64),
            "every acknowledged event is stored"
        );
    }
}

/// Steady load, SIGKILL at a random moment, restart: every acknowledged id is there,
/// once, and nothing half-written is visible. Repeated several times.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let scratch = Scratch::new("sigkill");
    // Frequent compaction, so some kills land while the table is being compacted.
    let mut server = Server::spawn(&scratch.0, "[ingest]\ncompact_after_files = 25\n");
    server.post_json("t-admin", &Value::Array(org_tree())).await;
    let config = server.config.clone();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..4u64 {
        let url = server.url.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for client in 0..16 {
            let (url, stop, acknowledged) = (url.clone(), stop.clone(), acknowledged.clone());
            clients.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Mix single events and batches.
                    let batch: Vec<Value> = (0..if client % 2 == 0 { 1 } else { 50 })
                        .map(|j| dues("B1", &format!("K{round}-{client}-{i}-{j}")))
                        .collect();
                    i += 1;
                    let sent = http
                        .post(format!("{url}/api/v1/events"))
                        .bearer_auth("t-producer")
                        .json(&batch)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            let mut ack = acknowledged.lock().await;
                            ack.extend(
                                batch
                                    .iter()
                                    .map(|e| e["event_id"].as_str().unwrap().to_string()),
                            );
                        }
                        _ => break, // the server died mid-request: not acknowledged
                    }
                }
            }));
        }
        // Let the load run until it has been acknowledged a while, then kill at an
        // arbitrary moment.
        let before = acknowledged.lock().await.len();
        for _ in 0..600 {
            if acknowledged.lock().await.len() >= before + 500 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(50 + 97 * round)).await;
        server.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        server = Server::spawn_with(&scratch.0, config.clone());
        let ack = acknowledged.lock().await.clone();
        assert!(
            !ack.is_empty(),
            "round {round}: the load acknowledged something"
        );
        assert_each_once(&server, &ack).await;
        // Nothing half-visible: every stored row is complete and valid.
        let rows = server
            .rows("SELECT count(*) AS n FROM events WHERE event_id IS NULL OR payload IS NULL OR recorded_at IS NULL OR month IS NULL")
            .await;
        assert_eq!(rows[0]["n"], 0);
    }
    assert!(
        compactions(&scratch.0) >= 1,
        "compaction ran during the load"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_commits_what_it_holds_and_exits_zero() {
    let scratch = Scratch::new("sigterm");
    // A long commit window, so requests are still queued when the signal arrives (and
    // a generous wait before the signal, so that on a loaded machine every request has
    // reached the server by then).
    let server = Server::spawn(&scratch.0, "[ingest]\ncommit_window_ms = 4000\n");
    server.post_json("t-admin", &Value::Array(org_tree())).await;
    let server = Arc::new(server);
    let mut inflight = Vec::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let e = dues("B1", &format!("T{i}"));
        ids.push(e["event_id"].as_str().unwrap().to_string());
        let server = server.clone();
        inflight.push(tokio::spawn(async move {
            server.post_json("t-producer", &e).await.0
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    crate::support::signal(server.child(), "TERM");
    for r in inflight {
        assert_eq!(
            r.await.unwrap(),
            200,
            "requests in flight at SIGTERM are committed and answered"
        );
    }
    let server = Arc::try_unwrap(server).ok().unwrap();
    let config = server.config.clone();
    assert_eq!(server.terminate(), Some(0));
    let server = Server::restart(&scratch.0, config);
    assert_each_once(&server, &ids).await;
}

/// The Parquet data files under `dir` (a table's root), at any depth, outside the log.
fn data_files(dir: &std::path::Path) -> usize {
    let mut count = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && name != "_delta_log" {
            count += data_files(&path);
        } else if name.ends_with(".parquet") {
            count += 1;
        }
    }
    count
}

/// `dangjian vacuum` against the storage of a stopped server; answers its stdout.
fn vacuum(dir: &std::path::Path, config: &std::path::Path, retention_hours: &str) -> String {
    output_on(
        dir,
        config,
        &["vacuum", "--retention-hours", retention_hours],
    )
}

/// Commits `commits` requests of five dues payments each, one after the other, so each
/// is a commit of its own.
async fn post_dues_commits(server: &Server, prefix: &str, commits: usize) {
    for i in 0..commits {
        let batch: Vec<Value> = (0..5)
            .map(|j| dues("B1", &format!("{prefix}{i}-{j}")))
            .collect();
        let (status, body) = server.post_json("t-producer", &Value::Array(batch)).await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn vacuum_deletes_replaced_files_and_keeps_every_event() {
    let scratch = Scratch::new("vacuum");
    // A compaction after every third commit, so commits' files are replaced.
    let server = Server::start(&scratch.0, "[ingest]\ncompact_after_commits = 3\n");
    let config = server.config.clone();
    // Every event type (its orgs and people too), so a model has rows to materialise.
    let (status, body) = server
        .post_json("t-admin", &Value::Array(every_event_type()))
        .await;
    assert_eq!(status, 200, "{body}");
    // Creating the same orgs again is refused (one creation per org id): no commit.
    let (status, body) = server.post_json("t-admin", &Value::Array(org_tree())).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "org_exists", "{body}");
    post_dues_commits(&server, "V", 13).await;
    let events = server.count_events().await;
    assert_eq!(server.terminate(), Some(0));
    assert!(compactions(&scratch.0) >= 3, "the commits were compacted");
    // A model refreshed twice: the second refresh replaces the first one's files.
    for _ in 0..2 {
        output_on(&scratch.0, &config, &["refresh", "members_by_stage"]);
    }
    let table = scratch.0.join("warehouse").join("events");
    let model = scratch
        .0
        .join("warehouse")
        .join("models")
        .join("members_by_stage");
    let history = scratch.0.join("warehouse").join("runs").join("history");
    let (before, model_before) = (data_files(&table), data_files(&model));
    assert_eq!(data_files(&history), 2, "one file per recorded run");

    // The default retention (a week) keeps every file written minutes ago.
    let kept = vacuum(&scratch.0, &config, "168");
    assert!(
        kept.contains("events 0 file(s) deleted") && kept.contains("models 0 file(s) deleted"),
        "{kept}"
    );
    assert_eq!(data_files(&table), before);

    // With no retention, every replaced file goes …
    let swept = vacuum(&scratch.0, &config, "0");
    let after = data_files(&table);
    assert!(
        after < before,
        "{swept}: {before} files before, {after} after"
    );
    assert!(
        swept.contains(&format!("events {} file(s) deleted", before - after)),
        "{swept}: {before} → {after}"
    );
    assert!(
        data_files(&model) < model_before,
        "{swept}: model files {model_before} → {}",
        data_files(&model)
    );
    assert_eq!(
        data_files(&history),
        1,
        "the run history is compacted, then vacuumed"
    );
    // … and only those: a second vacuum finds nothing the table does not reference.
    let again = vacuum(&scratch.0, &config, "0");
    assert!(
        again.contains("events 0 file(s) deleted") && again.contains("models 0 file(s) deleted"),
        "{again}"
    );
    let server = Server::restart(&scratch.0, config);
    assert_eq!(
        server.count_events().await,
        events,
        "every event is still there"
    );
    let (status, body) = server
        .sql("t-analyst", "SELECT * FROM members_by_stage")
        .await;
    assert_eq!(status, 200, "the vacuumed model is readable: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_vacuums_on_its_schedule() {
    let scratch = Scratch::new("vacuum-scheduled");
    // Every second, with no retention; the models' own schedules (hourly and slower)
    // do not fire during the test.
    let server = Server::start(
        &scratch.0,
        "[ingest]\ncompact_after_commits = 3\n\n[scheduler]\nenabled = true\nvacuum = \"* * * * * *\"\nvacuum_retention_hours = 0\n",
    );
    let (status, body) = server.post_json("t-admin", &Value::Array(org_tree())).await;
    assert_eq!(status, 200, "{body}");
    let table = scratch.0.join("warehouse").join("events");
    post_dues_commits(&server, "S", 9).await;
    assert!(compactions(&scratch.0) >= 2, "the commits were compacted");
    // Once a vacuum ran after the last compaction, the files stored are exactly the ones
    // added and not removed since (before it, every file ever added is still there).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (added, removed) = log_actions(&table);
        let stored = data_files(&table);
        if removed > 0 && stored == added - removed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled vacuum within 60 s: {stored} files stored, {added} added, {removed} removed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        server.count_events().await,
        45 + org_tree().len() as i64,
        "every event is still there"
    );
}

/// The add and remove actions of every commit in the log of the table at `dir`.
fn log_actions(dir: &std::path::Path) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    for entry in std::fs::read_dir(dir.join("_delta_log")).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        added += text.lines().filter(|l| l.starts_with("{\"add\"")).count();
        removed += text
            .lines()
            .filter(|l| l.starts_with("{\"remove\""))
            .count();
    }
    (added, removed)
}
