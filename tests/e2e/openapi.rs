//! The OpenAPI description (`GET /api/v1/openapi.json`) against the running server:
//! schemathesis (PyPI, in `target/py`) sends generated requests to every operation as
//! an admin and as a college's analyst, and checks that no answer is a 5xx, every
//! status, content type, header and body is the one described, a request without its
//! token is refused, and invalid data is rejected.

use std::process::Command;

use crate::support::{fixture_server, python};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,missing_required_header,ignored_auth,\
negative_data_rejection";

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_every_answer_described() {
    // Its negative tests send wrong tokens on purpose: no throttle for this address.
    let (_scratch, server) = fixture_server("openapi", "[access]\nsign_in_burst = 1000000\n").await;
    let (status, doc) = server.get_public("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/sql"]["post"].is_object(), "{doc}");

    let st = python().with_file_name("st");
    for token in ["t-admin", "t-analyst-c1"] {
        let run = Command::new(&st)
            .args(["run", &format!("{}/api/v1/openapi.json", server.url)])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                CHECKS,
                "--max-examples",
                "40",
                "--seed",
                "20261203",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .env("NO_COLOR", "1")
            .output()
            .expect("schemathesis is installed in target/py (./scripts/test)");
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{token}: schemathesis found failures:\n{out}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(out.contains(" passed"), "{out}");
    }
}
