//! The access matrix: who may do what, and where.

use serde_json::{Value, json};

use crate::support::{Scratch, Server, dues, org_tree};

#[tokio::test(flavor = "multi_thread")]
async fn tokens_roles_and_scopes() {
    let scratch = Scratch::new("access");
    let server = Server::start(&scratch.0, "");
    let (status, _) = server.post_json("t-admin", &Value::Array(org_tree())).await;
    assert_eq!(status, 200);

    // No token, a malformed header, an unknown token: 401.
    let response = server
        .client
        .post(format!("{}/api/v1/sql", server.url))
        .body("SELECT 1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let response = server
        .client
        .post(format!("{}/api/v1/sql", server.url))
        .header("authorization", "Basic dXNlcjpwdw==")
        .body("SELECT 1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(server.sql("t-nobody", "SELECT 1").await.0, 401);

    // SQL: analysts, leaders and admins.
    for (token, expected) in [
        ("t-admin", 200),
        ("t-leader", 200),
        ("t-analyst", 200),
        ("t-secretary-b1", 403),
        ("t-producer", 403),
    ] {
        let (status, body) = server.sql(token, "SELECT 1").await;
        assert_eq!(status, expected, "{token}: {body}");
        if status == 403 {
            assert_eq!(body["error"], "forbidden");
        }
    }

    // Ingest: producers, secretaries and admins, each within their scope.
    for (token, org, expected) in [
        ("t-producer", "B1", 200),
        ("t-admin", "B2", 200),
        ("t-secretary-b1", "B1", 200),
        ("t-secretary-b1", "B2", 403),
        ("t-producer-c2", "B2", 200),
        ("t-producer-c2", "B1", 403),
        ("t-analyst", "B1", 403),
        ("t-leader", "B1", 403),
    ] {
        let (status, body) = server.post_json(token, &dues(org, "M1")).await;
        assert_eq!(status, expected, "{token} → {org}: {body}");
        if status == 403 && (token.starts_with("t-producer") || token == "t-secretary-b1") {
            assert_eq!(body["error"], "org_out_of_scope");
            assert!(body["message"].as_str().unwrap().contains(org), "{body}");
            assert_eq!(body["field"], "org_id");
        }
    }
    // A producer scoped to a college may create an org under it, and use it at once.
    let (status, body) = server
        .post_json(
            "t-producer-c2",
            &json!([
                {"event_type": "org.created", "occurred_at": "2026-01-01", "org_id": "B3", "payload": {"name": "新支部", "kind": "branch", "parent_id": "C2"}},
                dues("B3", "M7")
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server.post_json("t-producer-c2", &dues("B3", "M8")).await;
    assert_eq!(
        status, 200,
        "the new org is known to the scope check after its commit"
    );

    // whoami tells the caller who they are.
    let me: Value = server
        .client
        .get(format!("{}/api/v1/whoami", server.url))
        .bearer_auth("t-leader-c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&me["name"], &me["role"], &me["scope"]),
        (&json!("t-leader-c1"), &json!("leader"), &json!("C1"))
    );
    // … and the server's clock, which the web pages count from (the test config pins
    // the day: `clock.today`).
    assert_eq!(me["today"], crate::support::TODAY, "{me}");
    assert!(me["now"].as_str().unwrap().starts_with("2026-11-2"), "{me}");

    // Health needs no token.
    let (health, _) = server.get_public("/healthz").await;
    assert_eq!(health, 200);
    let (_, ready) = server.get_public("/readyz").await;
    assert_eq!(ready["status"], "ready");
}

/// The Postgres wire admits whom the SQL endpoint admits, and answers each the same:
/// every token of the test config signs in (or is refused) and counts the events it sees.
#[tokio::test(flavor = "multi_thread")]
async fn the_postgres_wire_admits_whom_sql_admits() {
    use crate::pg::{psql, stderr, stdout};
    let (_scratch, server) = crate::support::fixture_server("access-pg", "").await;
    let query = "SELECT count(*) AS n FROM events";
    for (token, role, _) in crate::support::TOKENS {
        let (status, body) = server.sql(token, query).await;
        let wire = psql(&server, token, &["-At", "-c", query]);
        let admitted =
            matches!(*role, "admin" | "leader" | "analyst") && *token != crate::support::EXPIRED;
        assert_eq!(status == 200, admitted, "{token} over HTTP: {body}");
        assert_eq!(
            wire.status.success(),
            admitted,
            "{token}: {}",
            stderr(&wire)
        );
        if admitted {
            assert_eq!(
                stdout(&wire).trim(),
                body["rows"][0]["n"].to_string(),
                "{token}: the wire and HTTP count differently"
            );
        } else {
            let refused = stderr(&wire);
            let why = if *token == crate::support::EXPIRED {
                "expired"
            } else {
                "may not"
            };
            assert!(refused.contains(why), "{token}: {refused}");
        }
    }
}

/// The service endpoints of the operators: `/metrics` for admins only (every other
/// token 403, an expired one and none 401), the OpenAPI description for anyone.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_for_admins_and_the_description_for_anyone() {
    let scratch = Scratch::new("access-service");
    let server = Server::start(&scratch.0, "");
    for (token, role, _) in crate::support::TOKENS {
        let expected = if *token == crate::support::EXPIRED {
            401
        } else if *role == "admin" {
            200
        } else {
            403
        };
        let response = server
            .client
            .get(format!("{}/metrics", server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{token} /metrics");
        let (status, doc) = server.get(token, "/api/v1/openapi.json").await;
        assert_eq!((status, &doc["openapi"]), (200, &json!("3.1.0")), "{token}");
    }
    assert_eq!(server.get_public("/metrics").await.0, 401);
    assert_eq!(server.get_public("/api/v1/openapi.json").await.0, 200);
}
