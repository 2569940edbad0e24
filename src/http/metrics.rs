//! `GET /metrics` (Prometheus text format, an admin token on this listener) and the
//! HTTP series of every routed request. The series are listed in [`crate::metrics`].

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::auth::{Caller, Role};

/// The exposition, for admins: it names models, rules and the build.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Metrics are off (`metrics.enabled = false`)", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn scrape(State(app): State<AppState>, caller: Caller) -> Response {
    if caller.role != Role::Admin {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins read /metrics here (a scraper without a token uses metrics.listen)",
        )
        .into_response();
    }
    exposition(&app)
}

/// The exposition without a token: the router of `metrics.listen`.
pub async fn open_scrape(State(app): State<AppState>) -> Response {
    exposition(&app)
}

fn exposition(app: &AppState) -> Response {
    match crate::metrics::render(app) {
        Some(text) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_off",
            "metrics are off on this server (metrics.enabled = false)",
        )
        .into_response(),
    }
}

/// Counts a routed request by method, route pattern and status, with its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "dangjian_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.clone()
    )
    .increment(1);
    metrics::histogram!(
        "dangjian_http_request_seconds",
        "method" => method,
        "route" => route,
        "status" => status
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The router of `metrics.listen`: `/metrics` only, no token.
pub fn open_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(open_scrape))
        .with_state(state)
}
