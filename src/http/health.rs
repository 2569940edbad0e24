//! Liveness and readiness for process supervisors and load balancers.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let version = app.warehouse.events_version();
    if app.ready.load(Ordering::Relaxed) {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "events_version": version})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "shutting_down", "events_version": version})),
        )
    }
}
