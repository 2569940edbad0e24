//! The SQL endpoint and CLI: read-only, bounded, in three formats.

use serde_json::Value;

use crate::support::{Scratch, Server, every_event_type, output_on};

#[tokio::test(flavor = "multi_thread")]
async fn read_only_and_limits() {
    let scratch = Scratch::new("sql");
    let server = Server::start(
        &scratch.0,
        // Spilling off: what outgrows the pool is refused (spilling has its unit test,
        // `queries_spill_what_outgrows_their_pool`).
        "[sql]\nrow_limit = 5\ntimeout_secs = 2\nmemory_limit_bytes = 20000000\nspill_dir = \"off\"\n",
    );
    server
        .post_json("t-admin", &Value::Array(every_event_type()))
        .await;

    // Writes of every kind are refused, naming the statement.
    for (query, kind) in [
        ("INSERT INTO events SELECT * FROM events", "INSERT"),
        ("DELETE FROM events", "DELETE"),
        ("UPDATE events SET org_id = 'x'", "UPDATE"),
        ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
        ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
        ("DROP VIEW people", "DROP VIEW"),
        ("COPY (SELECT 1) TO '/tmp/dangjian-copy.csv'", "COPY"),
        (
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
            "CREATE EXTERNAL TABLE",
        ),
        ("SET datafusion.execution.batch_size = 1", "SET"),
    ] {
        let (status, body) = server.sql("t-analyst", query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], "read_only", "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with(kind),
            "{query}: {body}"
        );
    }
    let (status, body) = server.sql("t-analyst", "SELECT 1; SELECT 2").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("one_statement_expected"))
    );

    // Reads of every allowed kind.
    for query in [
        "SELECT 1 AS one",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
        "EXPLAIN SELECT * FROM people",
        "SHOW TABLES",
        "DESCRIBE events",
    ] {
        let (status, body) = server.sql("t-analyst", query).await;
        assert_eq!(status, 200, "{query}: {body}");
    }

    // Bad SQL is the caller's error and says what is wrong.
    let (status, body) = server.sql("t-analyst", "SELECT nope FROM events").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "sql_error");
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");

    // Row limit: cut and flagged.
    let (status, body) = server.sql("t-analyst", "SELECT event_id FROM events").await;
    assert_eq!(status, 200);
    assert_eq!(body["row_count"], 5);
    assert_eq!(body["truncated"], true);
    let (_, body) = server
        .sql("t-analyst", "SELECT event_id FROM events LIMIT 3")
        .await;
    assert_eq!(body["truncated"], false);

    // Time limit: a query that runs too long is cancelled with a clear 4xx.
    let (status, body) = server
        .sql(
            "t-analyst",
            "SELECT count(*) FROM generate_series(1, 2000000000) a",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "query_timeout");

    // Memory limit.
    let (status, body) = server
        .sql(
            "t-analyst",
            "SELECT value FROM generate_series(1, 5000000) ORDER BY value DESC",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "query_memory_exceeded");

    // … and the server keeps serving everyone else.
    let (status, _) = server.sql("t-analyst", "SELECT count(*) FROM people").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn formats_json_csv_arrow() {
    let scratch = Scratch::new("formats");
    let server = Server::start(&scratch.0, "");
    server
        .post_json("t-admin", &Value::Array(every_event_type()))
        .await;
    let query = "SELECT org_id, name, kind FROM orgs ORDER BY org_id";
    let (_, body) = server.sql("t-analyst", query).await;
    assert_eq!(body["columns"][0]["name"], "org_id");
    assert_eq!(body["rows"][0]["org_id"], "B1");
    assert_eq!(body["rows"].as_array().unwrap().len(), 6);

    let csv = server
        .client
        .post(format!("{}/api/v1/sql?format=csv", server.url))
        .bearer_auth("t-analyst")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("org_id,name,kind\nB1,计算机学院本科生第一党支部,branch\n"),
        "{text}"
    );

    let arrow = server
        .client
        .post(format!("{}/api/v1/sql", server.url))
        .bearer_auth("t-analyst")
        .header("accept", "application/vnd.apache.arrow.stream")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(arrow.status(), 200);
    let bytes = arrow.bytes().await.unwrap();
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(bytes.to_vec()),
        None,
    )
    .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 6);

    let (status, body) = server
        .client
        .post(format!("{}/api/v1/sql?format=xml", server.url))
        .bearer_auth("t-analyst")
        .body(query)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 400);
    assert_eq!(body.json::<Value>().await.unwrap()["field"], "format");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sql_command_prints_a_table() {
    let scratch = Scratch::new("sqlcli");
    let server = Server::start(&scratch.0, "");
    server
        .post_json("t-admin", &Value::Array(every_event_type()))
        .await;
    let config = server.config.clone();
    assert_eq!(server.terminate(), Some(0));
    let out = output_on(
        &scratch.0,
        &config,
        &[
            "sql",
            "SELECT stage, count(*) AS n FROM people GROUP BY stage ORDER BY stage",
        ],
    );
    assert!(out.contains("| stage"), "{out}");
    assert!(out.contains("full_member"), "{out}");
    let file = scratch.0.join("q.sql");
    std::fs::write(&file, "SELECT count(*) AS orgs FROM orgs").unwrap();
    let out = output_on(&scratch.0, &config, &["sql", "-f", file.to_str().unwrap()]);
    assert!(out.contains("| 6 "), "{out}");
}

/// A long `IN (…)` list neither brings the server down nor changes the answer: deltalake
/// walks a pushed-down `IN` list as a chain of `OR`s as deep as the list, which overflowed
/// the query thread's stack at tens of thousands of literals (the process aborted), so
/// such a filter stays above the scan. A hundred thousand literals, three of them real ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_in_list_does_not_bring_the_server_down() {
    let (_scratch, server) = crate::support::fixture_server("sql-in-list", "").await;
    let (status, body) = server
        .sql(
            "t-analyst",
            "SELECT CAST(event_id AS VARCHAR) AS id FROM events ORDER BY event_id LIMIT 3",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let real = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("'{}'", r["id"].as_str().unwrap()));
    let ids = (0..99_997)
        .map(|i| format!("'00000000-0000-7000-8000-{i:012}'"))
        .chain(real)
        .collect::<Vec<_>>()
        .join(", ");
    let (status, body) = server
        .sql(
            "t-analyst",
            &format!("SELECT count(*) AS n FROM events WHERE event_id IN ({ids})"),
        )
        .await;
    assert_eq!(
        (status, &body["rows"][0]["n"]),
        (200, &serde_json::json!(3)),
        "{body}"
    );
    let (status, body) = server.sql("t-analyst", "SELECT 1 AS one").await;
    assert_eq!(
        (status, &body["rows"][0]["one"]),
        (200, &serde_json::json!(1))
    );
}
