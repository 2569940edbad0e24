//! Tables written by an earlier dangjian: `dangjian migrate` and the start-up backfill
//! add the typed payload columns of `events` to a table from before them
//! (`tests/data/events_v1`, written by dangjian at 492fffb) in one commit, and every view
//! and model answers what it answered before.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/events_v1")
}

/// A scratch storage holding a copy of the old table as its `events`.
fn old_table(name: &str) -> Scratch {
    let scratch = Scratch::new(name);
    copy_dir(
        &fixture().join("table"),
        &scratch.0.join("warehouse").join("events"),
    );
    scratch
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The operations of the table's commits, oldest first, from its log.
fn operations(dir: &Path) -> Vec<String> {
    let log = dir.join("warehouse/events/_delta_log");
    let mut entries: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    entries
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find_map(|v| v["commitInfo"]["operation"].as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect()
}

/// Rows where a typed column differs from what the JSON function the views used reads
/// from the payload: none may.
fn mismatches_sql() -> String {
    let predicates: Vec<String> = warehouse::events::TYPED
        .iter()
        .map(|f| {
            format!(
                "({} IS DISTINCT FROM {}(payload, '{}'))",
                f.column,
                f.kind.json_getter(),
                f.key
            )
        })
        .collect();
    format!(
        "SELECT event_id, event_type FROM events WHERE {}",
        predicates.join(" OR ")
    )
}

/// How many rows have each typed column set (a backfill of NULLs must not pass).
fn filled_sql() -> String {
    let counts: Vec<String> = warehouse::events::TYPED
        .iter()
        .map(|f| format!("count({0}) AS {0}", f.column))
        .collect();
    format!("SELECT {} FROM events", counts.join(", "))
}

/// Each row as text, keeping only `keys` (the columns the old answer had), fractions to
/// ten significant digits (a parallel sum or deviation differs in the last digits from
/// run to run), sorted.
fn canonical(rows: &[Value], keys: &[String]) -> Vec<String> {
    let rounded = |v: Value| match v.as_f64() {
        Some(x) if v.is_f64() => Value::String(format!("{x:.9e}")),
        _ => v,
    };
    let mut out: Vec<String> = rows
        .iter()
        .map(|row| {
            let kept: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        rounded(row.get(k).cloned().unwrap_or(Value::Null)),
                    )
                })
                .collect();
            Value::Object(kept).to_string()
        })
        .collect();
    out.sort();
    out
}

async fn assert_backfilled(server: &Server) {
    assert_eq!(server.count_events().await, 294);
    let wrong = server.rows(&mismatches_sql()).await;
    assert!(
        wrong.is_empty(),
        "typed columns differ from their payloads: {wrong:?}"
    );
    let filled = &server.rows(&filled_sql()).await[0];
    // The fixture's counts of each field (dues 134, attendance 32 + meetings 31, …).
    for (column, at_least) in [
        ("meeting_id", 63),
        ("status", 32),
        ("period", 134),
        ("amount_fen", 134),
        ("minutes", 9),
        ("score", 10),
        ("year", 8),
        ("stage", 1),
        ("kind", 7 + 31),
        ("retracts", 8),
    ] {
        assert!(
            filled[column].as_i64().unwrap() >= at_least,
            "{column} is filled for {} rows: {filled}",
            filled[column]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_backfills_the_typed_columns_in_one_commit_with_the_same_answers() {
    let scratch = old_table("migrate-cli");
    let config = write_config(&scratch.0, "");
    let before = operations(&scratch.0);
    assert_eq!(before.len(), 3, "{before:?}");

    let out = output_on(&scratch.0, &config, &["migrate"]);
    assert!(out.contains("filled for 294 events"), "{out}");
    let after = operations(&scratch.0);
    assert_eq!(after.len(), before.len() + 1, "one commit: {after:?}");
    assert_eq!(after.last().unwrap(), "WRITE", "{after:?}");
    let again = output_on(&scratch.0, &config, &["migrate"]);
    assert!(again.contains("nothing to do"), "{again}");
    assert_eq!(operations(&scratch.0).len(), after.len());

    let server = Server::start_with(&scratch.0, config);
    assert_backfilled(&server).await;
    // Every view, model and statistic answers what the old version answered.
    let answers: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("answers.json")).unwrap())
            .unwrap();
    assert!(answers.len() >= 30);
    for (name, old) in &answers {
        let old = old.as_array().unwrap();
        let keys: Vec<String> = old
            .first()
            .map(|r| r.as_object().unwrap().keys().cloned().collect())
            .unwrap_or_default();
        let new = server.rows(&format!("SELECT * FROM {name}")).await;
        assert_eq!(
            canonical(&new, &keys),
            canonical(old, &keys),
            "{name} answers otherwise after the migration"
        );
    }
    // Events written after it carry their typed columns too.
    let payment = dues("B1", "M01");
    let (status, body) = server
        .post_json("t-admin", &Value::Array(vec![payment.clone()]))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = server
        .rows(&format!(
            "SELECT period, amount_fen FROM events WHERE event_id = '{}'",
            payment["event_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        rows,
        vec![serde_json::json!({"period": "2026-09", "amount_fen": 20})]
    );
    assert!(server.rows(&mismatches_sql()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_started_on_an_old_table_backfills_it_first() {
    let scratch = old_table("migrate-start");
    let server = Server::start(&scratch.0, "");
    assert_backfilled(&server).await;
    assert_eq!(operations(&scratch.0).last().unwrap(), "WRITE");
    // The attendance of the old events reads through the typed columns.
    let rows = server
        .rows("SELECT count(*) AS n FROM attendance WHERE status IS NOT NULL")
        .await;
    assert!(rows[0]["n"].as_i64().unwrap() > 0, "{rows:?}");
}
