//! The projections (`people`, `orgs`, `meetings`, `attendance_latest`: views kept as tables from each
//! commit's events) against the live computation (`live.people`, …),
//! row for row, over the real server: after the fixture, after registrations, stage
//! changes and a transfer between two colleges, after a retraction, an org renamed and a
//! secretary appointed, after a meeting with its attendance, a corrected record, a late
//! record, a retracted record and a retracted meeting — as the
//! admin (every field in clear) and as the whole tree's analyst and leader (the
//! projection's personal columns masked as their events would be). A reader of a subtree
//! reads the view live; the `models` table says which is which.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, fixture_server};

/// Readers of the whole tree (admin, analyst, leader) and one of a subtree.
const READERS: [&str; 4] = ["t-admin", "t-analyst", "t-leader", "t-leader-c1"];

/// Every projected view with the order that makes its rows comparable (by name).
const PROJECTED: [(&str, &str); 4] = [
    ("attendance_latest", "meeting_id, member_id"),
    ("meetings", "meeting_id, event_id"),
    ("orgs", "org_id"),
    ("people", "member_id"),
];

async fn rows_as(server: &Server, token: &str, query: &str) -> Vec<Value> {
    loop {
        let (status, body) = server.sql(token, query).await;
        if status == 429 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        assert_eq!(status, 200, "{token}: {query}: {body}");
        return body["rows"].as_array().unwrap().clone();
    }
}

/// Waits until every projection is read from its table (they reflect every event):
/// the server's start-up work is done.
pub async fn projections_current(server: &Server, admin: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = rows_as(
            server,
            admin,
            "SELECT name, source FROM models WHERE kind = 'projection' ORDER BY name",
        )
        .await;
        let sources: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r["name"].as_str().unwrap(), r["source"].as_str().unwrap()))
            .collect();
        let all: Vec<(&str, &str)> = PROJECTED.iter().map(|(v, _)| (*v, "table")).collect();
        if sources == all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the projections did not catch up: {sources:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every projected view equals its `live.` computation for every reader, and the
/// projection is what whole-tree readers read.
async fn same_as_live(server: &Server, step: &str) {
    compare(server, "t-admin", &READERS, &["t-leader-c1"], step).await;
}

/// Each projected view against its `live.` computation, row for row, for each of
/// `readers` (`admin` among them), once the projections have caught up; the `models`
/// table lists the projections for all but the readers of a subtree (`subtree`).
pub async fn compare(server: &Server, admin: &str, readers: &[&str], subtree: &[&str], step: &str) {
    projections_current(server, admin).await;
    for &token in readers {
        for (view, key) in PROJECTED {
            let projected = rows_as(
                server,
                token,
                &format!("SELECT * FROM {view} ORDER BY {key}"),
            )
            .await;
            let live = rows_as(
                server,
                token,
                &format!("SELECT * FROM live.{view} ORDER BY {key}"),
            )
            .await;
            assert!(!live.is_empty(), "{step}: {token} sees no {view}");
            assert_eq!(
                projected, live,
                "{step}: {token}: {view} against live.{view}"
            );
            // Beyond the row limit too (the demo's views may have more rows than it):
            // the same number of rows, and none on one side only.
            let differ = rows_as(
                server,
                token,
                &format!(
                    "SELECT (SELECT count(*) FROM {view}) - (SELECT count(*) FROM live.{view}) AS more, \
                            (SELECT count(*) FROM (SELECT * FROM {view} EXCEPT SELECT * FROM live.{view})) AS only_projected, \
                            (SELECT count(*) FROM (SELECT * FROM live.{view} EXCEPT SELECT * FROM {view})) AS only_live"
                ),
            )
            .await;
            assert_eq!(
                differ,
                [json!({"more": 0, "only_projected": 0, "only_live": 0})],
                "{step}: {token}: {view} against live.{view}, every row"
            );
        }
        let sources = rows_as(
            server,
            token,
            "SELECT name, source FROM models WHERE kind = 'projection'",
        )
        .await;
        let whole_tree = !subtree.contains(&token);
        assert_eq!(
            sources.len(),
            if whole_tree { PROJECTED.len() } else { 0 },
            "{step}: {token}: {sources:?}"
        );
    }
}

fn event(event_type: &str, at: &str, org: &str, member: Option<&str>, payload: Value) -> Value {
    let mut e = json!({"event_type": event_type, "occurred_at": at, "org_id": org,
                       "payload": payload});
    if let Some(member) = member {
        e["member_id"] = json!(member);
    }
    e
}

async fn post(server: &Server, events: Value) -> Vec<String> {
    let (status, body) = server.post_json("t-admin", &events).await;
    assert_eq!(status, 200, "{body}");
    body["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_answer_as_the_live_views_do() {
    let (_scratch, server) = fixture_server("projections", "").await;
    same_as_live(&server, "the fixture").await;

    // Two people in C2's branch, one of them through the pipeline, then moved to B1.
    let registered = |member: &str, name: &str, phone: &str| {
        event(
            "member.registered",
            "2025-09-01T09:00:00+08:00",
            "B2",
            Some(member),
            json!({"name": name, "student_no": format!("S{member}"), "gender": "male",
                   "grade": 2025, "major": "数学", "class_name": "数学2501班",
                   "email": format!("{member}@univ.edu.cn"), "phone": phone,
                   "birth_date": "2006-05-04"}),
        )
    };
    let ids = post(
        &server,
        json!([
            registered("P1", "孙一", "13600000001"),
            registered("P2", "周二", "13600000002"),
            event(
                "member.applied",
                "2025-10-01T10:00:00+08:00",
                "B2",
                Some("P1"),
                json!({"note": "入党申请"})
            ),
            event(
                "member.activist_designated",
                "2026-04-01T10:00:00+08:00",
                "B2",
                Some("P1"),
                json!({})
            ),
        ]),
    )
    .await;
    same_as_live(&server, "registrations and stages").await;

    post(
        &server,
        json!([
            event(
                "member.transferred_out",
                "2026-09-01T10:00:00+08:00",
                "B2",
                Some("P1"),
                json!({"to_org": "B1"})
            ),
            event(
                "member.transferred_in",
                "2026-09-02T10:00:00+08:00",
                "B1",
                Some("P1"),
                json!({"from_org": "B2", "stage": "activist"})
            ),
        ]),
    )
    .await;
    same_as_live(&server, "a transfer").await;
    let moved = rows_as(
        &server,
        "t-admin",
        "SELECT org_id, stage FROM people WHERE member_id = 'P1'",
    )
    .await;
    assert_eq!(moved, [json!({"org_id": "B1", "stage": "activist"})]);

    // A correction: the activist designation taken back, and P2's registration too.
    post(
        &server,
        json!([
            event(
                "event.retracted",
                "2026-09-03T10:00:00+08:00",
                "B2",
                None,
                json!({"event_id": ids[3], "reason": "录入错误"})
            ),
            event(
                "event.retracted",
                "2026-09-03T10:00:00+08:00",
                "B2",
                None,
                json!({"event_id": ids[1], "reason": "重复登记"})
            ),
        ]),
    )
    .await;
    same_as_live(&server, "retractions").await;
    let gone = rows_as(
        &server,
        "t-admin",
        "SELECT member_id FROM people WHERE member_id = 'P2'",
    )
    .await;
    assert!(
        gone.is_empty(),
        "a retracted registration leaves no person: {gone:?}"
    );

    // The org tree: a rename and a new secretary.
    post(
        &server,
        json!([
            event(
                "org.renamed",
                "2026-09-10T10:00:00+08:00",
                "B2",
                None,
                json!({"name": "数学系第二党支部"})
            ),
            event(
                "org.secretary_appointed",
                "2026-09-11T10:00:00+08:00",
                "B2",
                None,
                json!({"secretary_id": "P2", "name": "周二", "email": "p2@univ.edu.cn"})
            ),
        ]),
    )
    .await;
    same_as_live(&server, "a rename and a secretary").await;

    // A branch assembly of B1 with its attendance; then a record corrected (excused after
    // absent), a late record, one taken back and a second meeting taken back whole.
    let attended = |meeting: &str, member: &str, at: &str, status: &str| {
        event(
            "meeting.attended",
            at,
            "B1",
            Some(member),
            json!({"meeting_id": meeting, "status": status}),
        )
    };
    let held = |meeting: &str, at: &str| {
        event(
            "meeting.held",
            at,
            "B1",
            None,
            json!({"meeting_id": meeting, "kind": "branch_assembly", "title": "支部党员大会",
                   "duration_minutes": 90}),
        )
    };
    let ids = post(
        &server,
        json!([
            held("PM1", "2026-10-09T14:00:00+08:00"),
            attended("PM1", "P1", "2026-10-09T14:00:00+08:00", "present"),
            attended("PM1", "M1", "2026-10-09T14:00:00+08:00", "absent"),
            held("PM2", "2026-10-16T14:00:00+08:00"),
            attended("PM2", "P1", "2026-10-16T14:00:00+08:00", "present"),
        ]),
    )
    .await;
    same_as_live(&server, "meetings and their attendance").await;
    post(
        &server,
        json!([
            attended("PM1", "M1", "2026-10-10T09:00:00+08:00", "excused"),
            attended("PM1", "M2", "2026-10-11T09:00:00+08:00", "present"),
        ]),
    )
    .await;
    same_as_live(&server, "a corrected and a late record").await;
    let latest = rows_as(
        &server,
        "t-admin",
        "SELECT member_id, status FROM attendance_latest WHERE meeting_id = 'PM1' ORDER BY member_id",
    )
    .await;
    assert_eq!(
        latest,
        [
            json!({"member_id": "M1", "status": "excused"}),
            json!({"member_id": "M2", "status": "present"}),
            json!({"member_id": "P1", "status": "present"}),
        ]
    );
    post(
        &server,
        json!([
            event(
                "event.retracted",
                "2026-10-12T10:00:00+08:00",
                "B1",
                None,
                json!({"event_id": ids[1], "reason": "误记"})
            ),
            event(
                "event.retracted",
                "2026-10-17T10:00:00+08:00",
                "B1",
                None,
                json!({"event_id": ids[3], "reason": "会议未召开"})
            ),
        ]),
    )
    .await;
    same_as_live(&server, "a retracted record and a retracted meeting").await;
    let left = rows_as(
        &server,
        "t-admin",
        "SELECT meeting_id, member_id, meeting_kind FROM attendance_latest \
         WHERE meeting_id IN ('PM1', 'PM2') ORDER BY meeting_id, member_id",
    )
    .await;
    assert_eq!(
        left,
        [
            json!({"meeting_id": "PM1", "member_id": "M1", "meeting_kind": "branch_assembly"}),
            json!({"meeting_id": "PM1", "member_id": "M2", "meeting_kind": "branch_assembly"}),
            json!({"meeting_id": "PM2", "member_id": "P1", "meeting_kind": null}),
        ],
        "P1's record of PM1 taken back; PM2's attendance stays, its meeting gone"
    );
}
