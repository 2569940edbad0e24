//! Every answer within the caller's scope: the access matrix (role × scope × surface),
//! the masking of personal data against the tricks an analyst would try, a member's
//! record across a transfer between two scopes, the audit trail, and tokens that end.
//!
//! The data: the fixture (U → C1 → B1 → G1, U → C2 → B2; M1 in B1) plus, in C2, M7
//! (registered in B2, dues paid there) and M8 (registered and admitted as an applicant
//! in B2, then transferred to B1 by the 组织关系转接 pair).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    EXPIRED, Scratch, Server, fixture_server, output, output_on, sha256_hex, write_config,
};

/// Personal data as stored: none of it may reach a leader or analyst in clear.
const PHONES: [&str; 3] = ["13800000001", "13900000002", "13700000003"];
const EMAILS: [&str; 3] = ["wxm@stu", "m2.mail@", "m3.mail@"];
const STUDENT_NOS: [&str; 3] = ["2024001", "2024902", "2024903"];
const NAMES: [&str; 3] = ["王小明", "赵二", "钱三"];
const BIRTH_DATES: [&str; 3] = ["2006-03-01", "2005-07-08", "2004-11-12"];

fn registered(member: &str, org: &str, n: usize) -> Value {
    json!({"event_type": "member.registered", "occurred_at": "2025-09-01T09:00:00+08:00",
           "org_id": org, "member_id": member,
           "payload": {"name": NAMES[n], "student_no": STUDENT_NOS[n], "gender": "female",
                       "grade": 2024, "major": "英语", "class_name": "英语2401班",
                       "email": format!("{}univ.edu.cn", EMAILS[n]), "phone": PHONES[n],
                       "birth_date": BIRTH_DATES[n]}})
}

/// The fixture plus M7 and M8 in C2, and M8's transfer to B1.
async fn scoped_server(name: &str, extra: &str) -> (Scratch, Server) {
    let (scratch, server) = fixture_server(name, extra).await;
    let more = json!([
        registered("M7", "B2", 1),
        {"event_type": "dues.paid", "occurred_at": "2026-06-05T10:00:00+08:00", "org_id": "B2",
         "member_id": "M7", "payload": {"period": "2026-06", "amount_fen": 20}},
        registered("M8", "B2", 2),
        {"event_type": "member.applied", "occurred_at": "2025-10-01T10:00:00+08:00", "org_id": "B2",
         "member_id": "M8", "payload": {"note": "电话 13700000003"}},
        {"event_type": "dues.paid", "occurred_at": "2026-05-05T10:00:00+08:00", "org_id": "B2",
         "member_id": "M8", "payload": {"period": "2026-05", "amount_fen": 20}},
        {"event_type": "member.transferred_out", "occurred_at": "2026-09-01T10:00:00+08:00",
         "org_id": "B2", "member_id": "M8", "payload": {"to_org": "B1"}},
        {"event_type": "member.transferred_in", "occurred_at": "2026-09-02T10:00:00+08:00",
         "org_id": "B1", "member_id": "M8", "payload": {"from_org": "B2", "stage": "applicant"}},
    ]);
    let (status, body) = server.post_json("t-admin", &more).await;
    assert_eq!(status, 200, "{body}");
    (scratch, server)
}

/// What a scope may see, read from the admin's view of the data: the orgs of the
/// subtree and their ancestors (a roll-up of the scope's own figures names its parent),
/// the orgs under which its people's records were filed (a member's record follows
/// them), the people homed in the scope and those with events filed under its orgs.
struct Visible {
    orgs: HashSet<String>,
    members: HashSet<String>,
}

async fn visible(server: &Server, scope: &str) -> Visible {
    let subtree: &[&str] = match scope {
        "C1" => &["C1", "B1", "G1"],
        "C2" => &["C2", "B2"],
        _ => unreachable!(),
    };
    let list = subtree
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let column = |sql: String| {
        let server = &server;
        async move {
            let (status, body) = server.sql("t-admin", &sql).await;
            assert_eq!(status, 200, "{sql}: {body}");
            body["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["v"].as_str().map(str::to_string))
                .collect::<HashSet<String>>()
        }
    };
    let homed = column(format!(
        "SELECT member_id AS v FROM people WHERE org_id IN ({list})"
    ))
    .await;
    let mut members = column(format!(
        "SELECT DISTINCT member_id AS v FROM events WHERE org_id IN ({list})"
    ))
    .await;
    members.extend(homed.iter().cloned());
    let homed_list = homed
        .iter()
        .map(|m| format!("'{m}'"))
        .chain(["''".to_string()])
        .collect::<Vec<_>>()
        .join(", ");
    let mut orgs = column(format!(
        "SELECT DISTINCT org_id AS v FROM events WHERE member_id IN ({homed_list})"
    ))
    .await;
    orgs.extend(subtree.iter().map(|s| s.to_string()));
    orgs.insert("U".into());
    Visible { orgs, members }
}

/// Rows of `rows` that reach outside what `v` holds: an org or a person it may not see.
fn leaks(v: &Visible, rows: &[Value]) -> Vec<Value> {
    let org_columns = [
        "org_id",
        "unit_id",
        "branch_id",
        "college_id",
        "parent_id",
        "escalated_to",
    ];
    rows.iter()
        .filter(|row| {
            let member_out = ["member_id", "subject_id"].iter().any(|c| {
                row.get(*c)
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.starts_with('M') && !v.members.contains(m))
            });
            let org_out = org_columns.iter().any(|c| {
                row.get(*c)
                    .and_then(Value::as_str)
                    .is_some_and(|o| !o.is_empty() && !v.orgs.contains(o))
            });
            member_out || org_out
        })
        .cloned()
        .collect()
}

/// The access matrix: every role × {own subtree, a sibling college, the parent} ×
/// {SQL over `events`, each view, each model, dashboards, warnings, ack}.
#[tokio::test(flavor = "multi_thread")]
async fn the_access_matrix() {
    let (scratch, server) = scoped_server("matrix", "").await;
    // The models' tables too: refreshed by hand, read by their names from the restart on.
    assert_eq!(server.terminate(), Some(0));
    let config = write_config(&scratch.0, "");
    output_on(&scratch.0, &config, &["refresh"]);
    let server = Server::start_with(&scratch.0, config);
    // The tests hash tokens themselves: the same as the command.
    assert_eq!(
        output(&["token", "hash", "t-admin"]).trim(),
        sha256_hex("t-admin")
    );

    let (_, queries) = server.get("t-admin", "/api/v1/queries").await;
    let mut relations: Vec<String> = queries["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] != "warning" && q["kind"] != "recommendation")
        .flat_map(|q| [&q["name"], &q["live"]])
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect();
    relations.push("events".into());
    assert!(
        relations.iter().any(|r| r == "live.attendance_rates"),
        "{relations:?}"
    );
    assert!(relations.iter().any(|r| r == "models"), "{relations:?}");
    assert!(relations.len() > 20, "{relations:?}");

    let scopes = [
        ("C1", visible(&server, "C1").await),
        ("C2", visible(&server, "C2").await),
    ];
    let seen = |scope: &str| &scopes.iter().find(|(s, _)| *s == scope).unwrap().1;
    // The sets themselves: C1 holds M8 (moved in) but not M7; C2 keeps M8's past.
    assert!(seen("C1").members.contains("M8") && !seen("C1").members.contains("M7"));
    assert!(seen("C2").members.contains("M8") && !seen("C2").members.contains("M1"));
    assert!(!seen("C1").orgs.contains("C2") && !seen("C2").orgs.contains("B1"));
    let mut leak_count = 0;
    // SQL: own subtree (C1 leader, C1 analyst), the sibling college (C2 leader).
    for (token, scope) in [
        ("t-leader-c1", "C1"),
        ("t-analyst-c1", "C1"),
        ("t-leader-c2", "C2"),
    ] {
        for relation in &relations {
            let (status, body) = server
                .sql(token, &format!("SELECT * FROM {relation}"))
                .await;
            assert_eq!(status, 200, "{token} {relation}: {body}");
            let rows = body["rows"].as_array().unwrap();
            let leaked = leaks(seen(scope), rows);
            if !leaked.is_empty() {
                eprintln!("{token} {relation}: {leaked:?}");
            }
            leak_count += leaked.len();
        }
        // The tricks: joins, sub-queries, UNION, information_schema, EXPLAIN.
        for sql in [
            "SELECT e.org_id, e.member_id FROM events e JOIN people p USING (member_id)",
            "SELECT org_id, member_id FROM events WHERE org_id IN (SELECT org_id FROM orgs)",
            "SELECT org_id, NULL AS member_id FROM orgs UNION ALL SELECT org_id, member_id FROM dues",
            "WITH a AS (SELECT * FROM events) SELECT org_id, member_id FROM a",
        ] {
            let (status, body) = server.sql(token, sql).await;
            assert_eq!(status, 200, "{sql}: {body}");
            leak_count += leaks(seen(scope), body["rows"].as_array().unwrap()).len();
        }
        let (status, body) = server
            .sql(token, "SELECT table_name FROM information_schema.tables")
            .await;
        assert_eq!(status, 200);
        let tables = body.to_string();
        assert!(!tables.contains("\"audit\""), "{token}: {tables}");
        let (status, body) = server.sql(token, "SELECT * FROM audit").await;
        assert_eq!(status, 400, "only admins read the audit trail: {body}");
    }
    // The university-wide roles see every org; the C1 analyst counts only C1's.
    let count = |token: &'static str| {
        let server = &server;
        async move {
            let (_, body) = server
                .sql(token, "SELECT count(DISTINCT org_id) AS n FROM events")
                .await;
            body["rows"][0]["n"].as_i64().unwrap()
        }
    };
    assert_eq!(count("t-admin").await, 6);
    assert_eq!(count("t-analyst").await, 6);
    assert_eq!(count("t-leader").await, 6);
    // C1, B1, G1 and B2 (M8's record, filed in B2 before the transfer).
    assert_eq!(count("t-analyst-c1").await, 4);
    assert_eq!(count("t-leader-c2").await, 2);
    assert_eq!(leak_count, 0, "rows outside the caller's scope");

    // Roles without SQL.
    for token in ["t-secretary-b1", "t-producer"] {
        assert_eq!(server.sql(token, "SELECT 1").await.0, 403, "{token}");
    }
    // Dashboards and warnings: own subtree 200, sibling and parent 403, producers 403.
    for (token, org, status) in [
        ("t-leader-c1", "C1", 200),
        ("t-leader-c1", "B1", 200),
        ("t-leader-c1", "C2", 403),
        ("t-leader-c1", "U", 403),
        ("t-analyst-c1", "C2", 403),
        ("t-secretary-b1", "B1", 200),
        ("t-secretary-b1", "C1", 403),
        ("t-secretary-b1", "B2", 403),
        ("t-admin", "C2", 200),
        ("t-producer", "U", 403),
    ] {
        let (got, body) = server
            .get(token, &format!("/api/v1/dashboards/college?org={org}"))
            .await;
        assert_eq!(got, status, "{token} dashboard {org}: {body}");
        let (got, body) = server
            .get(token, &format!("/api/v1/warnings?org={org}&status=all"))
            .await;
        assert_eq!(got, status, "{token} warnings {org}: {body}");
        if got == 200 {
            let rows = body["warnings"].as_array().unwrap();
            let scope = if org.starts_with('B') || org == "C1" {
                "C1"
            } else {
                "C2"
            };
            if token != "t-admin" {
                assert!(leaks(seen(scope), rows).is_empty(), "{token}: {rows:?}");
            }
        }
    }
    // Acknowledging: a leader may not; a secretary outside the warning's scope learns
    // nothing (404, as for an id that does not exist).
    let (_, all) = server.get("t-admin", "/api/v1/warnings?status=all").await;
    if let Some(w) = all["warnings"].as_array().unwrap().first() {
        let id = w["warning_id"].as_str().unwrap();
        let ack = |token: &'static str| {
            let server = &server;
            let url = format!("{}/api/v1/warnings/{id}/ack", server.url);
            async move {
                server
                    .client
                    .post(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(ack("t-leader-c1").await, 403);
        assert_eq!(ack("t-secretary-b2").await, 404);
    }
}

/// A member's record across a transfer: the receiving branch gets it whole; the
/// sending branch keeps what was filed under it.
#[tokio::test(flavor = "multi_thread")]
async fn a_transferred_members_record() {
    let (_scratch, server) = scoped_server("transfer", "").await;
    let person = |token: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server
                .sql(
                    token,
                    "SELECT org_id, stage, status, name FROM people WHERE member_id = 'M8'",
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["rows"].as_array().unwrap().clone()
        }
    };
    // C1 (receiving): M8 lives in B1, as an applicant, with their registration.
    let c1 = person("t-leader-c1").await;
    assert_eq!(c1.len(), 1, "{c1:?}");
    assert_eq!(
        (
            &c1[0]["org_id"],
            &c1[0]["stage"],
            &c1[0]["status"],
            &c1[0]["name"]
        ),
        (
            &json!("B1"),
            &json!("applicant"),
            &json!("active"),
            &json!(NAMES[2])
        )
    );
    // C2 (sending): M8 as they left: registered in B2, transferred out.
    let c2 = person("t-leader-c2").await;
    assert_eq!(c2.len(), 1, "{c2:?}");
    assert_eq!(
        (&c2[0]["org_id"], &c2[0]["status"]),
        (&json!("B2"), &json!("transferred_out"))
    );
    // Dues M8 paid in B2 are part of their record for C1 too; C2 keeps them.
    for token in ["t-leader-c1", "t-leader-c2"] {
        let (_, body) = server
            .sql(
                token,
                "SELECT count(*) AS n FROM events WHERE member_id = 'M8' AND event_type = 'dues.paid'",
            )
            .await;
        assert_eq!(body["rows"][0]["n"], 1, "{token}: {body}");
    }
    // After the transfer, what B1 records about M8 is not C2's.
    let later = json!([{"event_type": "dues.paid", "occurred_at": "2026-10-05T10:00:00+08:00",
        "org_id": "B1", "member_id": "M8", "payload": {"period": "2026-10", "amount_fen": 20}}]);
    assert_eq!(server.post_json("t-admin", &later).await.0, 200);
    let (_, body) = server
        .sql(
            "t-leader-c2",
            "SELECT count(*) AS n FROM events WHERE member_id = 'M8' AND event_type = 'dues.paid'",
        )
        .await;
    assert_eq!(body["rows"][0]["n"], 1, "{body}");
    let (_, body) = server
        .sql(
            "t-leader-c1",
            "SELECT count(*) AS n FROM events WHERE member_id = 'M8' AND event_type = 'dues.paid'",
        )
        .await;
    assert_eq!(body["rows"][0]["n"], 2, "{body}");
}

/// Masking holds against every trick, per role; admins see what is stored.
#[tokio::test(flavor = "multi_thread")]
async fn personal_data_is_masked_in_the_scan() {
    let (_scratch, server) = scoped_server("masking", "").await;
    let tricks = [
        "SELECT name, student_no, email, phone, birth_date FROM people ORDER BY phone",
        "SELECT substr(phone, 1, 11) AS p, substr(email, 1, 20) AS e FROM people",
        "SELECT count(*) AS n FROM people WHERE phone = '13800000001'",
        "SELECT count(*) AS n FROM people WHERE phone LIKE '1380000%' OR email LIKE 'wxm%'",
        "SELECT count(*) AS n FROM people WHERE regexp_like(phone, '^138000')",
        "SELECT regexp_replace(phone, '(\\d)', '$1-') AS p FROM people",
        "SELECT CAST(phone AS VARCHAR) || '' AS p, upper(email) AS e FROM people",
        "SELECT json_get_str(payload, 'phone') AS p, json_get_str(payload, 'name') AS n, \
                json_get_str(payload, 'student_no') AS s FROM events WHERE event_type = 'member.registered'",
        "SELECT payload FROM events",
        "SELECT name, count(*) AS n FROM people GROUP BY name",
        "SELECT p.phone, e.payload FROM people p JOIN events e USING (member_id)",
        "SELECT max(phone) AS a, min(email) AS b, string_agg(student_no, ',') AS c FROM people",
    ];
    // The fingerprint of what was sent (personal fields included) is not a probe either.
    for token in ["t-leader", "t-analyst"] {
        let (_, body) = server
            .sql(token, "SELECT count(content_hash) AS n FROM events")
            .await;
        assert_eq!(body["rows"][0]["n"], 0, "{token}: {body}");
    }
    for (token, role) in [("t-leader", "leader"), ("t-analyst", "analyst")] {
        for sql in tricks {
            let (status, body) = server.sql(token, sql).await;
            assert_eq!(status, 200, "{token}: {sql}: {body}");
            let text = body["rows"].to_string();
            let mut forbidden: Vec<&str> = PHONES
                .iter()
                .chain(&EMAILS)
                .chain(&STUDENT_NOS)
                .copied()
                .collect();
            if role == "analyst" {
                forbidden.extend(NAMES);
                forbidden.extend(BIRTH_DATES);
            }
            for value in forbidden {
                assert!(
                    !text.contains(value),
                    "{role} saw `{value}` via {sql}: {text}"
                );
            }
            if sql.contains("count(*) AS n FROM people WHERE") {
                assert_eq!(body["rows"][0]["n"], 0, "{role}: {sql}");
            }
        }
    }
    // What each role sees instead.
    let m1 = |token: &'static str| {
        let server = &server;
        async move {
            let (_, body) = server
                .sql(
                    token,
                    "SELECT name, student_no, email, phone, CAST(birth_date AS VARCHAR) AS birth_date FROM people WHERE member_id = 'M1'",
                )
                .await;
            body["rows"][0].clone()
        }
    };
    let admin = m1("t-admin").await;
    assert_eq!(admin["phone"], PHONES[0]);
    assert_eq!(admin["name"], NAMES[0]);
    let leader = m1("t-leader").await;
    assert_eq!(leader["name"], NAMES[0]);
    assert_eq!(leader["phone"], "138****0001");
    assert_eq!(leader["email"], "w***@stu.univ.edu.cn");
    assert_eq!(leader["student_no"], "***4001");
    let analyst = m1("t-analyst").await;
    let pseudonym = analyst["name"].as_str().unwrap().to_string();
    assert!(pseudonym.starts_with("P-"), "{analyst}");
    assert_eq!(analyst["phone"], Value::Null);
    assert_eq!(analyst["email"], Value::Null);
    assert_eq!(analyst["student_no"], Value::Null);
    assert_eq!(analyst["birth_date"], "2006-01-01");
    // The pseudonym is stable: the same in another query and for another analyst.
    assert_eq!(m1("t-analyst-c1").await["name"], pseudonym);
    // Free text: a note with a phone number, masked for leaders, gone for analysts.
    let note = |token: &'static str| {
        let server = &server;
        async move {
            let (_, body) = server
                .sql(
                    token,
                    "SELECT json_get_str(payload, 'note') AS note FROM events WHERE member_id = 'M8' AND event_type = 'member.applied'",
                )
                .await;
            body["rows"][0]["note"].clone()
        }
    };
    assert_eq!(note("t-admin").await, "电话 13700000003");
    assert_eq!(note("t-leader").await, "电话 137****0003");
    assert_eq!(note("t-analyst").await, Value::Null);
}

/// Each kind of access leaves exactly one audit row; refused ones too; only admins
/// read the trail.
#[tokio::test(flavor = "multi_thread")]
async fn every_access_is_audited() {
    let (_scratch, server) = scoped_server("audit", "").await;
    let marker = format!("SELECT 1 AS audited_{}", uuid::Uuid::now_v7().simple());
    assert_eq!(server.sql("t-analyst", &marker).await.0, 200);
    let bad = format!("SELECT nope FROM nowhere_{}", uuid::Uuid::now_v7().simple());
    assert_eq!(server.sql("t-leader", &bad).await.0, 400);
    assert_eq!(
        server
            .get("t-leader-c1", "/api/v1/dashboards/college?org=C1")
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .get("t-secretary-b1", "/api/v1/warnings?status=all")
            .await
            .0,
        200
    );
    assert_eq!(server.get("dj_not_a_token", "/api/v1/whoami").await.0, 401);
    let ack = format!("/api/v1/warnings/{}/ack", uuid::Uuid::now_v7());
    let response = server
        .client
        .post(format!("{}{ack}", server.url))
        .bearer_auth("t-secretary-b1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        server
            .get("t-leader-c1", "/api/v1/dashboards/college?org=C2")
            .await
            .0,
        403
    );
    let expect = [
        ("sql", marker.clone(), "t-analyst", 200),
        ("sql", bad.clone(), "t-leader", 400),
        (
            "dashboard",
            "GET /api/v1/dashboards/college?org=C1".to_string(),
            "t-leader-c1",
            200,
        ),
        (
            "warnings",
            "GET /api/v1/warnings?status=all".to_string(),
            "t-secretary-b1",
            200,
        ),
        (
            "refused",
            "GET /api/v1/dashboards/college?org=C2".to_string(),
            "t-leader-c1",
            403,
        ),
        ("ack", format!("POST {ack}"), "t-secretary-b1", 404),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = server
            .sql(
                "t-admin",
                "SELECT action, target, caller, role, scope, client, status, error, rows FROM audit \
                 WHERE action <> 'sql' OR coalesce(caller, '') <> 't-admin' ORDER BY at",
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let rows = body["rows"].as_array().unwrap().clone();
        let found: Vec<usize> = expect
            .iter()
            .map(|(action, target, caller, status)| {
                rows.iter()
                    .filter(|r| {
                        r["action"] == *action
                            && r["target"] == *target
                            && r["caller"] == *caller
                            && r["status"] == *status
                    })
                    .count()
            })
            .collect();
        let refused_401 = rows
            .iter()
            .filter(|r| r["status"] == 401 && r["target"] == "GET /api/v1/whoami")
            .collect::<Vec<_>>();
        if found.iter().all(|n| *n >= 1) && !refused_401.is_empty() {
            assert_eq!(found, vec![1; expect.len()], "{rows:#?}");
            assert_eq!(refused_401.len(), 1);
            let r = refused_401[0];
            assert_eq!(
                (&r["action"], &r["caller"], &r["client"]),
                (&json!("refused"), &Value::Null, &json!("127.0.0.1"))
            );
            let sql_row = rows
                .iter()
                .find(|r| r["target"] == marker.as_str())
                .unwrap();
            assert_eq!(
                (&sql_row["rows"], &sql_row["role"], &sql_row["scope"]),
                (&json!(1), &json!("analyst"), &json!("U"))
            );
            let failed = rows.iter().find(|r| r["target"] == bad.as_str()).unwrap();
            assert_eq!(failed["error"], "sql_error");
            break;
        }
        assert!(Instant::now() < deadline, "audit rows missing: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Only admins read it.
    for token in ["t-analyst", "t-leader"] {
        let (status, body) = server.sql(token, "SELECT count(*) FROM audit").await;
        assert_eq!(status, 400, "{token}: {body}");
    }
}

/// Tokens that end: by date, by revocation (the running server reloads its list), and
/// failed sign-ins throttled per address.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_expire_are_revoked_and_guessing_is_throttled() {
    let scratch = Scratch::new("tokens");
    // Spawned: the last step kills it.
    let server = Server::spawn(
        &scratch.0,
        "[access]\nreload_secs = 1\nsign_in_burst = 5\nsign_in_refill_secs = 60\n",
    );
    let (status, body) = server.get(EXPIRED, "/api/v1/whoami").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert_eq!(server.get("t-leader-c1", "/api/v1/whoami").await.0, 200);
    let config = server.config.to_str().unwrap().to_string();
    let said = output(&["--config", &config, "token", "revoke", "t-leader-c1"]);
    assert!(said.contains("revoked `t-leader-c1`"), "{said}");
    let revoked_at = Instant::now();
    loop {
        let (status, body) = server.get("t-leader-c1", "/api/v1/whoami").await;
        if status == 401 {
            assert!(
                body["message"].as_str().unwrap().contains("revoked"),
                "{body}"
            );
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(10),
            "the revoked token still works"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Others still work.
    assert_eq!(server.get("t-leader", "/api/v1/whoami").await.0, 200);
    // Guessing: the expired and revoked tries above count too (burst of 5).
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(
            server
                .get(&format!("dj_guess{i}"), "/api/v1/whoami")
                .await
                .0,
        );
    }
    assert!(statuses.contains(&401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let response = server
        .client
        .get(format!("{}/api/v1/whoami", server.url))
        .bearer_auth("t-admin")
        .send()
        .await
        .unwrap();
    // Once throttled, even a good token waits: the address is not heard until then.
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    // A restart keeps the revocation: the list is read at start, not only on a change.
    let config = server.config.clone();
    server.kill();
    let server = Server::restart(&scratch.0, config);
    let (status, body) = server.get("t-leader-c1", "/api/v1/whoami").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(server.get("t-leader", "/api/v1/whoami").await.0, 200);
}
