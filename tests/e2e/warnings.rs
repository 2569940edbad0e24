//! Early warnings end to end: a rule over real events, the lifecycle (raise → notified →
//! ack; resolve; escalate; severity rising; no repeat mail), the digest received by a
//! real SMTP server (aiosmtpd on loopback), SMTP down then up, and the HTTP API.
//!
//! The rule is the test's own (`dues_gap`, below) so its findings are easy to steer;
//! the rules of `queries/warnings/` have their boundary tests in `tests/slt/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::support::{BIN, Scratch, Server, org_tree, write_config};

/// A member is warned when this month's dues are unpaid; critical when last month's
/// are unpaid too.
const RULE: &str = "-- name: dues_gap
-- title: 党费未缴（测试规则）
-- description: A member with no dues for the month of the evaluation.
-- schedule: 0 0 8 * * *
-- subject: member
-- severity: warning when this month is unpaid; critical when last month is unpaid too
-- ack_days: 7
-- message: 党员{member_id}未缴纳{period}党费
WITH members AS (
    SELECT DISTINCT org_id, member_id FROM live_events WHERE event_type = 'member.registered'
),
paid AS (
    SELECT DISTINCT member_id, json_get_str(payload, 'period') AS period
    FROM live_events WHERE event_type = 'dues.paid'
),
months AS (
    SELECT substr('${as_of_date}', 1, 7) AS this_month,
           to_char(CAST('${as_of_date}' AS DATE) - INTERVAL '1 month', '%Y-%m') AS last_month
)
SELECT m.org_id, m.member_id, mo.this_month AS period,
       CASE WHEN l.member_id IS NULL THEN 'critical' ELSE 'warning' END AS severity
FROM members m
CROSS JOIN months mo
LEFT JOIN paid t ON t.member_id = m.member_id AND t.period = mo.this_month
LEFT JOIN paid l ON l.member_id = m.member_id AND l.period = mo.last_month
WHERE t.member_id IS NULL
";

/// The SMTP server of the test.
pub(crate) struct Smtp {
    child: Child,
}

impl Smtp {
    pub(crate) fn start(port: u16, dir: &Path) -> Smtp {
        let python = crate::support::python();
        let mut child = Command::new(&python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/smtp_sink.py"
            ))
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "aiosmtpd did not start under {} (./scripts/test installs it into target/py)",
            python.display()
        );
        Smtp { child }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A port free now on loopback (for a server a test starts on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The received messages, oldest first: (recipients, raw message).
pub(crate) fn received(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort();
    files
        .iter()
        .map(|p| {
            (
                std::fs::read_to_string(p.with_extension("rcpt")).unwrap(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect()
}

struct Setup {
    scratch: Scratch,
    config: PathBuf,
    storage: String,
}

impl Setup {
    /// `dangjian warnings run --as-of <day>` (the server is stopped meanwhile). The
    /// broken rule fails every run, so the command exits 1 after running the others.
    fn run(&self, as_of: &str, extra: &[&str]) -> String {
        let out = Command::new(BIN)
            .args([
                "--config",
                self.config.to_str().unwrap(),
                "--set",
                &self.storage,
            ])
            .args(["warnings", "run", "--as-of", as_of])
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("✗ rule broken failed"), "{stdout}");
        stdout
    }

    fn count(&self, event_type: &str) -> i64 {
        let out = Command::new(BIN)
            .args([
                "--config",
                self.config.to_str().unwrap(),
                "--set",
                &self.storage,
            ])
            .args(["sql", "--output", "json"])
            .arg(format!(
                "SELECT count(*) AS n FROM events WHERE event_type = '{event_type}'"
            ))
            .output()
            .unwrap();
        let rows: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        rows[0]["n"].as_i64().unwrap()
    }

    fn server(&self) -> Server {
        Server::start_with(&self.scratch.0, self.config.clone())
    }
}

fn event(event_type: &str, org: &str, member: Option<&str>, at: &str, payload: Value) -> Value {
    let mut e =
        json!({"event_type": event_type, "occurred_at": at, "org_id": org, "payload": payload});
    if let Some(m) = member {
        e["member_id"] = json!(m);
    }
    e
}

fn dues(member: &str, period: &str) -> Value {
    event(
        "dues.paid",
        "B1",
        Some(member),
        &format!("{period}-03T10:00:00+08:00"),
        json!({"period": period, "amount_fen": 50}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn warnings_lifecycle_and_digest_mail() {
    let scratch = Scratch::new("warnings");
    let queries = scratch.0.join("queries");
    std::fs::create_dir_all(queries.join("views")).unwrap();
    std::fs::create_dir_all(queries.join("warnings")).unwrap();
    let views = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/views");
    for entry in std::fs::read_dir(views).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, queries.join("views").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(queries.join("warnings/10_dues_gap.sql"), RULE).unwrap();
    // A rule whose query fails: reported on every run, and the other rule still runs.
    std::fs::write(
        queries.join("warnings/20_broken.sql"),
        RULE.replace("dues_gap", "broken").replace(
            "FROM live_events WHERE event_type = 'member.registered'",
            "FROM no_such_table",
        ),
    )
    .unwrap();
    let port = free_port();
    let inbox = scratch.0.join("inbox");
    let config = write_config(
        &scratch.0,
        &format!(
            "[queries]\ndir = \"{}\"\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\n\
             security = \"none\"\nattempts = 2\nretry_backoff_ms = 100\n",
            queries.display()
        ),
    );
    let setup = Setup {
        storage: format!("storage.url={}", scratch.0.join("warehouse").display()),
        scratch,
        config,
    };

    // The tree, two secretaries with mail, two members; M1 paid September.
    let server = setup.server();
    let mut events = org_tree();
    events.push(event(
        "org.secretary_appointed",
        "B1",
        None,
        "2024-09-02T09:00:00+08:00",
        json!({"secretary_id": "S1", "name": "李书记", "email": "li.shuji@univ.edu.cn"}),
    ));
    events.push(event(
        "org.secretary_appointed",
        "C1",
        None,
        "2024-09-02T09:00:00+08:00",
        json!({"secretary_id": "S2", "name": "王书记", "email": "wang.shuji@univ.edu.cn"}),
    ));
    for m in ["M1", "M2"] {
        events.push(event(
            "member.registered",
            "B1",
            Some(m),
            "2026-01-05T09:00:00+08:00",
            json!({"name": format!("党员{m}"), "student_no": format!("S{m}"), "gender": "female",
                   "grade": 2024, "major": "计算机", "class_name": "计科1班"}),
        ));
    }
    events.push(dues("M1", "2026-09"));
    let (status, body) = server.post_json("t-admin", &Value::Array(events)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate(), Some(0));

    // A dry run finds both and raises nothing.
    let smtp = Smtp::start(port, &inbox);
    let out = setup.run("2026-10-05", &["--dry-run"]);
    assert!(out.contains("2 finding(s)"), "{out}");
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(setup.count("warning.raised"), 0);

    // Run 1: M1 owes October (warning), M2 September and October (critical): both
    // raised, one digest to B1's secretary, both notified.
    let out = setup.run("2026-10-05", &[]);
    assert!(
        out.contains("raised 2, severity raised 0, resolved 0, escalated 0; 1 digest(s)"),
        "{out}"
    );
    let mail = received(&inbox);
    assert_eq!(mail.len(), 1);
    let (rcpt, raw) = &mail[0];
    assert_eq!(rcpt.trim(), "li.shuji@univ.edu.cn");
    assert!(
        raw.contains("Subject: =?utf-8?"),
        "an encoded UTF-8 subject:\n{raw}"
    );
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(
        raw.contains("text/plain") && raw.contains("text/html"),
        "{raw}"
    );
    assert_eq!(setup.count("warning.notified"), 2);

    // Run 2, same day: nothing new, nothing mailed again.
    let out = setup.run("2026-10-05", &[]);
    assert!(
        out.contains("raised 0, severity raised 0, resolved 0, escalated 0; 0 digest(s)"),
        "{out}"
    );
    assert_eq!(received(&inbox).len(), 1);

    // The secretary lists and acknowledges M2's warning over HTTP; M1 pays October.
    let server = setup.server();
    let (status, list) = server.get("t-secretary-b1", "/api/v1/warnings").await;
    assert_eq!(status, 200, "{list}");
    let open = list["warnings"].as_array().unwrap();
    assert_eq!(open.len(), 2, "{list}");
    assert_eq!(open[0]["severity"], "critical", "the most severe first");
    assert_eq!(open[0]["title"], "党费未缴（测试规则）");
    let m2 = open[0]["warning_id"].as_str().unwrap().to_string();
    let ack = |token: &'static str| {
        let client = server.client.clone();
        let url = format!("{}/api/v1/warnings/{m2}/ack", server.url);
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"note": "已约谈，本周补缴"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = ack("t-leader").await;
    assert_eq!(status, 403, "a leader does not acknowledge: {body}");
    let (status, body) = ack("t-secretary-b2").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_warning")),
        "another branch's secretary does not learn it exists: {body}"
    );
    let (status, body) = ack("t-secretary-b1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(body["note"], "已约谈，本周补缴");
    let (status, body) = ack("t-secretary-b1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("already_acknowledged"))
    );
    let (status, list) = server
        .get("t-secretary-b1", "/api/v1/warnings?status=open")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        list["warnings"].as_array().unwrap().len(),
        1,
        "the acknowledged one left the open list"
    );
    let (status, body) = server.get("t-admin", "/api/v1/warnings?status=nope").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("status")));
    let (status, _) = server.get("t-leader-c1", "/api/v1/warnings?org=C2").await;
    assert_eq!(status, 403);
    let (status, body) = server
        .post_json("t-admin", &json!([dues("M1", "2026-10")]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.terminate(), Some(0));

    // Run 3: M1's warning is resolved; M2's is acknowledged, so it does not escalate.
    let out = setup.run("2026-10-20", &[]);
    assert!(
        out.contains("raised 0, severity raised 0, resolved 1, escalated 0; 0 digest(s)"),
        "{out}"
    );

    // Run 4 with the mail server down: M1 owes November — raised, but not notified.
    drop(smtp);
    let out = setup.run("2026-11-05", &[]);
    assert!(
        out.contains("raised 1, severity raised 0, resolved 0, escalated 0; 0 digest(s)"),
        "{out}"
    );
    assert!(out.contains("not delivered"), "{out}");
    assert_eq!(setup.count("warning.notified"), 2);
    // Up again: the next run mails it, once.
    let _smtp = Smtp::start(port, &inbox);
    let out = setup.run("2026-11-05", &[]);
    assert!(
        out.contains("raised 0, severity raised 0, resolved 0, escalated 0; 1 digest(s)"),
        "{out}"
    );
    assert_eq!(received(&inbox).len(), 2);
    assert_eq!(setup.count("warning.notified"), 3);
    let out = setup.run("2026-11-05", &[]);
    assert!(out.contains("0 digest(s)"), "{out}");
    assert_eq!(received(&inbox).len(), 2, "never mailed twice");

    // Run 5, past the 7-day deadline and unacknowledged: escalated to C1's secretary.
    let out = setup.run("2026-11-20", &[]);
    assert!(out.contains("escalated 1; 1 digest(s)"), "{out}");
    let mail = received(&inbox);
    assert_eq!(mail.len(), 3);
    assert_eq!(mail[2].0.trim(), "wang.shuji@univ.edu.cn");

    // Run 6: December unpaid too — the severity rises to critical: raised again under
    // the same warning id and mailed again.
    let out = setup.run("2026-12-05", &[]);
    assert!(out.contains("raised 0, severity raised 1"), "{out}");
    assert_eq!(received(&inbox).len(), 4);
    assert_eq!(setup.count("warning.escalated"), 1);
}
