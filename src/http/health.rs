//! Liveness and readiness for process supervisors and load balancers.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready or shutting down; the table's version only for a caller with a token (an
/// anonymous prober learns nothing about the data).
pub async fn readyz(State(app): State<AppState>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let known = super::auth::bearer(&headers).is_some_and(|t| {
        app.tokens
            .current()
            .authenticate(t, app.clock.now())
            .is_ok()
    });
    let (status, text) = if app.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
    };
    let mut body = json!({ "status": text });
    if known {
        body["events_version"] = json!(app.warehouse.events_version());
    }
    (status, Json(body))
}
