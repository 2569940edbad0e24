//! Snapshots (insta) of the dashboard JSON of the fixed-seed demo
//! (`dangjian demo --seed 42 --today 2026-11-25`): every dashboard at its level —
//! the university, one college, one branch — and the statistics board at all three,
//! over an explicit period. What depends on the run rather than on the data (when
//! the models were refreshed) is redacted, and fractions are rounded to 9
//! significant digits (a parallel float sum may add in another order from run to
//! run: an ANOVA p-value of 3e-171 moved in its 12th digit); everything else must
//! stay as recorded in `tests/e2e/snapshots/`. A changed figure fails the test:
//! review the `.snap.new` file insta writes beside it (`cargo insta review`, or
//! rename it) and commit it.
//!
//! The demo is left in `<target>/web-demo` with a `snapshot-demo.ok` marker, and
//! `scripts/test` serves it to the browser tests instead of running the demo again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{BIN, Server};

/// The period of every snapshot: the demo's last twelve months, given explicitly
/// (the default follows the wall clock).
const PERIOD: &str = "from=2025-12&to=2026-11";

/// Keys whose values say when this run refreshed the models, not what the data is.
const VOLATILE: &[&str] = &["freshness", "refreshed_at"];

/// `<target>/web-demo`, beside the binary's `debug/`.
fn demo_dir() -> PathBuf {
    Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .join("web-demo")
}

/// Redacts the volatile keys and rounds fractions to 9 significant digits.
fn redact(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let rounded: f64 = format!("{:.8e}", n.as_f64().unwrap()).parse().unwrap();
            *value = serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number);
        }
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if VOLATILE.contains(&key.as_str()) && !v.is_null() {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_dashboards_match_their_snapshots() {
    let dir = demo_dir();
    let marker = dir.join("snapshot-demo.ok");
    crate::fixed_demo::run(&dir).await;
    std::fs::write(&marker, "dangjian demo --seed 42 --today 2026-11-25\n").unwrap();

    let tokens: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("demo-tokens.json")).unwrap()).unwrap();
    let token_of = |name: &str| -> (String, String) {
        let t = tokens
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no demo token `{name}`"));
        (
            t["token"].as_str().unwrap().into(),
            t["org"].as_str().unwrap().into(),
        )
    };
    let (leader, university) = token_of("校党委书记");
    let (_, college) = token_of("学院党委书记");
    let (_, branch) = token_of("支部书记");

    let server = Server::start_with(&dir, dir.join("dangjian.toml"));
    for (dashboard, level, org) in [
        ("university", "university", &university),
        ("college", "college", &college),
        ("branch", "branch", &branch),
        ("statistics", "university", &university),
        ("statistics", "college", &college),
        ("statistics", "branch", &branch),
    ] {
        let path = format!("/api/v1/dashboards/{dashboard}?org={org}&{PERIOD}");
        let (status, mut body) = server.get(&leader, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["source"], "materialised", "{path}");
        redact(&mut body);
        insta::assert_json_snapshot!(format!("{dashboard}_{level}"), body);
    }

    // The projections of the demo against the live views, row for row.
    let of_role = |role: &str| -> String {
        let t = tokens.iter().find(|t| t["role"] == role);
        t.unwrap_or_else(|| panic!("no demo token of role `{role}`"))["token"]
            .as_str()
            .unwrap()
            .into()
    };
    let (admin, analyst) = (of_role("admin"), of_role("analyst"));
    crate::projections::compare(
        &server,
        &admin,
        &[&admin, &analyst, &leader],
        &[],
        "the demo",
    )
    .await;
    precision_at_3(&server, &admin).await;
    assert_eq!(server.terminate(), Some(0));
}

/// 智能党建 on the demo: of the people with a planted quiz gap (`planted_gap`) who took a
/// quiz of that topic and are in the pipeline now, the share whose top three
/// recommendations hold a resource of that topic — kept at 0.8 or more, and printed.
async fn precision_at_3(server: &Server, admin: &str) {
    let (status, body) = server
        .sql(
            admin,
            "SELECT p.member_id, array_to_string(array_agg(DISTINCT q.topic), ',') AS topics \
             FROM people p JOIN quizzes q ON q.member_id = p.member_id \
             WHERE p.status = 'active' AND p.graduated_at IS NULL AND q.topic IS NOT NULL \
               AND p.stage IN ('applicant', 'activist', 'development_target', 'probationary', 'full_member') \
             GROUP BY p.member_id",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["truncated"], true, "{body}");
    let quizzed: Vec<(String, String)> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let member = r["member_id"].as_str().unwrap().to_string();
            r["topics"]
                .as_str()
                .unwrap()
                .split(',')
                .map(move |t| (member.clone(), t.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let planted: std::collections::BTreeSet<(String, &str)> = quizzed
        .iter()
        .filter_map(|(m, t)| {
            dangjian::demo::generate::planted_gap(m)
                .filter(|gap| gap == t)
                .map(|gap| (m.clone(), gap))
        })
        .collect();
    assert!(
        planted.len() >= 50,
        "planted gaps on the demo: {}",
        planted.len()
    );
    let mut hits = 0;
    for (member, topic) in &planted {
        let (status, body) = server
            .get(admin, &format!("/api/v1/members/{member}/recommendations"))
            .await;
        assert_eq!(status, 200, "{body}");
        let top: Vec<&Value> = body["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .take(3)
            .collect();
        if top.iter().any(|r| r["topic"].as_str() == Some(*topic)) {
            hits += 1;
        }
    }
    let precision = f64::from(hits) / planted.len() as f64;
    println!(
        "precision@3 of the study recommendations on the demo: {hits} of {} planted gaps = {precision:.3}",
        planted.len()
    );
    assert!(precision >= 0.8, "precision@3 = {precision:.3}");
}
