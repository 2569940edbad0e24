//! The Postgres wire (`pg.listen`) with real clients: Debian's `psql` here, psycopg 3 and
//! pandas over SQLAlchemy in `tests/support/pg_clients.py`. For the same token the
//! answers are the HTTP endpoint's, scope and masking included; writes, syntax errors
//! and runaway queries are refused with their SQLSTATE and the session goes on; every
//! statement is audited.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Scratch, Server, fixture_server, python};

/// Runs `psql` as `token` against the server's Postgres wire with `args`, errors
/// verbose (with their SQLSTATE) and not stopping the session.
pub fn psql(server: &Server, token: &str, args: &[&str]) -> Output {
    let pg = server.pg.expect("the Postgres wire is on");
    Command::new("psql")
        .arg(format!(
            "host={} port={} user=analyst dbname=dangjian sslmode=disable connect_timeout=10",
            pg.ip(),
            pg.port()
        ))
        .args(["-X", "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose"])
        .args(args)
        .env("PGPASSWORD", token)
        .output()
        .expect("psql runs (Debian: apt-get install postgresql-client)")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The HTTP endpoint's CSV of `query` for `token`.
async fn http_csv(server: &Server, token: &str, query: &str) -> String {
    let response = server
        .client
        .post(format!("{}/api/v1/sql?format=csv", server.url))
        .bearer_auth(token)
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// A server holding the models' fixture (a college's branches and their members).
async fn models_fixture_server(name: &str) -> (Scratch, Server) {
    let scratch = Scratch::new(name);
    let server = Server::start(&scratch.0, "");
    let events = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/models_fixture.ndjson"
    ))
    .unwrap();
    let (status, body) = server
        .post_events("t-admin", events, "application/x-ndjson")
        .await;
    assert_eq!(status, 200, "{body}");
    (scratch, server)
}

const PEOPLE: &str = "SELECT member_id, name, org_id, stage FROM people ORDER BY member_id";

#[tokio::test(flavor = "multi_thread")]
async fn psql_reads_what_http_answers() {
    let (scratch, server) = models_fixture_server("pg-psql").await;

    // The catalogue psql's meta-commands read: what is stored as tables, the SQL views
    // of queries/views/ as views.
    let tables = psql(&server, "t-analyst", &["-c", r"\dt"]);
    assert!(tables.status.success(), "{}", stderr(&tables));
    let views = psql(&server, "t-analyst", &["-c", r"\dv"]);
    // (schema, name) of the rows of a psql listing.
    let listed = |output: &Output| -> Vec<(String, String)> {
        stdout(output)
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (cells.len() == 4).then(|| (cells[0].to_string(), cells[1].to_string()))
            })
            .collect()
    };
    let public = |name: &str| ("public".to_string(), name.to_string());
    let (tables, views) = (listed(&tables), listed(&views));
    for name in ["events", "member_score", "dues_monthly"] {
        assert!(
            tables.contains(&public(name)),
            "\\dt lacks {name}: {tables:?}"
        );
        assert!(!views.contains(&public(name)), "\\dv lists {name}");
    }
    for name in ["people", "dues", "meetings"] {
        assert!(
            views.contains(&public(name)),
            "\\dv lacks {name}: {views:?}"
        );
        assert!(!tables.contains(&public(name)), "\\dt lists {name}");
    }
    assert!(
        views.contains(&("live".to_string(), "member_score".to_string())),
        "the live computations are views"
    );
    let people = psql(&server, "t-analyst", &["-c", r"\d people"]);
    assert!(people.status.success(), "{}", stderr(&people));
    for column in ["member_id", "org_id", "stage"] {
        assert!(
            stdout(&people).contains(column),
            "\\d people: {}",
            stdout(&people)
        );
    }

    // A query: the same rows as HTTP for each token, its scope and masking.
    let mut answers = Vec::new();
    for token in ["t-admin", "t-analyst", "t-analyst-c1"] {
        let wire = psql(&server, token, &["--csv", "-c", PEOPLE]);
        assert!(wire.status.success(), "{token}: {}", stderr(&wire));
        let http = http_csv(&server, token, PEOPLE).await;
        assert_eq!(stdout(&wire), http, "{token}: psql and HTTP differ");
        answers.push(http);
    }
    assert_ne!(
        answers[0], answers[1],
        "the analyst sees names masked, the admin not"
    );
    assert!(
        answers[2].lines().count() < answers[1].lines().count(),
        "the college's analyst sees their subtree only"
    );

    // \copy: the HTTP CSV, byte for byte (numbers, dates and times included).
    let query = "SELECT event_id, event_type, org_id, occurred_at, amount_fen, score FROM events ORDER BY event_id";
    let file = scratch.0.join("events.csv");
    let copy = psql(
        &server,
        "t-analyst",
        &[
            "-c",
            &format!("\\copy ({query}) TO '{}' CSV HEADER", file.display()),
        ],
    );
    assert!(copy.status.success(), "{}", stderr(&copy));
    let rows = http_csv(&server, "t-analyst", query).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), rows);
    assert_eq!(
        stdout(&copy).trim(),
        format!("COPY {}", rows.lines().count() - 1),
        "psql reports the rows copied"
    );

    // whoami: the token's name; what clients ask on connect and in schema browsers.
    let who = psql(
        &server,
        "t-analyst-c1",
        &[
            "-At",
            "-c",
            "SELECT current_user",
            "-c",
            "SHOW server_version",
            "-c",
            "SELECT version()",
            "-c",
            "SELECT current_schema(), current_database()",
            "-c",
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'people' AND table_schema = 'public'",
            "-c",
            "SHOW transaction_read_only",
        ],
    );
    let lines: Vec<String> = stdout(&who).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 6, "{}{}", stdout(&who), stderr(&who));
    assert_eq!(lines[0], "t-analyst-c1");
    assert_eq!(lines[1], "16.6");
    assert!(
        lines[2].starts_with("PostgreSQL 16.6 (dangjian "),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "public|dangjian");
    assert!(lines[4].parse::<u32>().unwrap() > 10, "{}", lines[4]);
    assert_eq!(lines[5], "on");
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_errors_have_their_sqlstate_and_the_session_goes_on() {
    let (_scratch, server) = fixture_server(
        "pg-errors",
        "[sql]\ntimeout_secs = 2\nmemory_limit_bytes = 20000000\nspill_dir = \"off\"\n",
    )
    .await;
    let marker = format!("SELECT 42 AS audited_{}", uuid::Uuid::now_v7().simple());
    let run = psql(
        &server,
        "t-analyst",
        &[
            "-At",
            "-c",
            "CREATE TABLE x (a int)",
            "-c",
            "DELETE FROM events",
            "-c",
            "SELEC 1",
            "-c",
            "SELECT count(*) FROM generate_series(1, 20000000000)",
            "-c",
            "SELECT v, count(*) AS n FROM (SELECT value % 1000000 AS v FROM generate_series(1, 4000000)) \
             GROUP BY v ORDER BY v DESC",
            "-c",
            "SET datafusion.runtime.memory_limit = '10G'",
            "-c",
            "SET datafusion.execution.batch_size = 1024",
            "-c",
            "SHOW datafusion.execution.batch_size",
            "-c",
            &marker,
        ],
    );
    let errors = stderr(&run);
    for code in ["25006", "42601", "57014", "53200", "42501"] {
        assert!(errors.contains(code), "no {code} in: {errors}");
    }
    assert_eq!(errors.matches("25006").count(), 2, "{errors}");
    assert!(
        errors.contains("datafusion.runtime.memory_limit is the server's setting"),
        "{errors}"
    );
    // The connection's own engine setting holds for its later statements.
    assert_eq!(
        stdout(&run),
        "SET\ndatafusion.execution.batch_size|1024\n42\n",
        "the session answered after the errors: {errors}"
    );

    // A token that is not one, and a role without SQL, are refused at sign-in.
    let wrong = psql(&server, "not-a-token", &["-c", "SELECT 1"]);
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("password authentication failed"),
        "{}",
        stderr(&wrong)
    );
    let producer = psql(&server, "t-producer", &["-c", "SELECT 1"]);
    assert!(!producer.status.success());
    assert!(
        stderr(&producer).contains("may not"),
        "{}",
        stderr(&producer)
    );

    // The audit trail has the wire's statements, refused ones too.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = server
            .rows(
                "SELECT target, status, error, rows, caller, client FROM audit \
                 WHERE action = 'sql' AND caller = 't-analyst' ORDER BY at",
            )
            .await;
        let find = |text: &str| rows.iter().find(|r| r["target"] == text).cloned();
        if let (Some(done), Some(refused)) = (find(&marker), find("CREATE TABLE x (a INT)")) {
            assert_eq!(
                (&done["status"], &done["rows"]),
                (&Value::from(200), &Value::from(1))
            );
            assert_eq!(done["client"], "127.0.0.1");
            assert_eq!(refused["status"], 400, "{refused}");
            let timed_out = rows
                .iter()
                .find(|r| {
                    r["target"]
                        .as_str()
                        .unwrap_or("")
                        .contains("generate_series")
                })
                .expect("the cancelled query is audited");
            assert_eq!(timed_out["error"], "query_timeout", "{timed_out}");
            break;
        }
        assert!(Instant::now() < deadline, "audit rows missing: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn python_clients_read_what_http_answers() {
    let (_scratch, server) = models_fixture_server("pg-python").await;
    let pg = server.pg.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pg_clients.py");
    let run = tokio::process::Command::new(python())
        .arg(script)
        .args([
            pg.ip().to_string(),
            pg.port().to_string(),
            server.url.clone(),
            "t-analyst".into(),
            "t-analyst-c1".into(),
        ])
        .output()
        .await
        .expect("python runs");
    let (out, err) = (stdout(&run), stderr(&run));
    assert!(run.status.success(), "pg_clients.py failed:\n{out}\n{err}");
    assert!(out.contains("all python clients agree with HTTP"), "{out}");
}

/// With `pg.tls_cert` and `pg.tls_key`, clients connect over TLS (`sslmode=require`);
/// loopback clients may still connect without it.
#[tokio::test(flavor = "multi_thread")]
async fn psql_connects_over_tls() {
    let scratch = Scratch::new("pg-tls");
    let (cert, key) = (scratch.0.join("cert.pem"), scratch.0.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs (Debian: apt-get install openssl)");
    assert!(made.status.success(), "{}", stderr(&made));
    let extra = format!(
        "[pg]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = Server::start(&scratch.0, &extra);
    let pg = server.pg.unwrap();
    for (mode, secure) in [("require", true), ("disable", false)] {
        let run = Command::new("psql")
            .arg(format!(
                "host=localhost port={} user=analyst sslmode={mode} connect_timeout=10",
                pg.port()
            ))
            .args(["-X", "-At", "-c", "SELECT 7", "-c", r"\conninfo"])
            .env("PGPASSWORD", "t-analyst")
            .output()
            .unwrap();
        let out = stdout(&run);
        assert!(run.status.success(), "{mode}: {}", stderr(&run));
        assert!(out.starts_with("7\n"), "{out}");
        assert_eq!(out.contains("SSL connection"), secure, "{mode}: {out}");
    }
}

/// SIGTERM closes the wire's open connections (a client sees the server go) and the
/// server still stops cleanly, instead of serving readers while it shuts down.
#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_open_connections() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let (_scratch, server) = crate::support::spawned_fixture_server("pg-shutdown", "").await;
    let pg = server.pg.expect("the Postgres wire is on");
    let mut client = Command::new("psql")
        .arg(format!(
            "host={} port={} user=analyst dbname=dangjian sslmode=disable connect_timeout=10",
            pg.ip(),
            pg.port()
        ))
        .args(["-X", "-At", "-v", "ON_ERROR_STOP=0"])
        .env("PGPASSWORD", "t-analyst")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs (Debian: apt-get install postgresql-client)");
    let mut input = client.stdin.take().unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    writeln!(input, "SELECT 41 + 1;").unwrap();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "42",
        "the connection is open"
    );

    assert_eq!(
        server.terminate(),
        Some(0),
        "a clean stop with a client connected"
    );
    writeln!(input, "SELECT 1;").ok();
    drop(input);
    let done = client.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(
        said.contains("server closed the connection") || said.contains("no connection"),
        "psql was not told the server went: {said}"
    );
}
