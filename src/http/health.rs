//! Liveness and readiness for process supervisors and load balancers.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AppState;

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "Up", body = super::openapi::HealthBody)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready or shutting down; the table's version only for a caller with a token (an
/// anonymous prober learns nothing about the data).
#[utoipa::path(get, path = "/readyz", tag = "service", security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Ready to take events (with a token: the table's version)", body = super::openapi::HealthBody),
        (status = 503, description = "Shutting down", body = super::openapi::HealthBody)))]
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
