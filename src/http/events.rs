//! `POST /api/v1/events`: all-or-nothing, durable, exactly-once ingest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use ingest::decode::Format;
use ingest::{EventType, Receipt};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

/// Ingest: one event, a JSON array or NDJSON (optionally gzip), committed together.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body(content(
        (super::openapi::EventsRequest = "application/json"),
        (String = "application/x-ndjson")),
        description = "An event, an array of events, or NDJSON; `Content-Encoding: gzip` accepted"),
    responses(
        (status = 200, description = "Committed", body = super::openapi::ReceiptBody),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 409, description = "Conflict", body = super::openapi::ErrorBody),
        (status = 413, description = "Body over `ingest.max_body_bytes`", body = super::openapi::ErrorBody),
        (status = 415, description = "Content type other than JSON / NDJSON", body = super::openapi::ErrorBody),
        (status = 422, description = "Invalid events (one entry each in `errors`), or a query over its time or memory limit", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn ingest(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let answer = ingest_body(app, caller, headers, body).await;
    let status = match &answer {
        Ok(_) => "ok",
        Err(e) => e.error,
    };
    metrics::counter!("dangjian_ingest_requests_total", "status" => status).increment(1);
    answer
}

async fn ingest_body(
    app: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, ApiError> {
    caller.require(Permission::Ingest)?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type `{content_type}` is not accepted: send application/json or application/x-ndjson"),
        )
        .with_field("Content-Type")
    })?;
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let limit = app.config.ingest.max_body_bytes;
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body_too_large",
                format!("the body is larger than the limit of {limit} bytes; split it"),
            )
        } else {
            ApiError::new(status, "unreadable_body", rejection.body_text())
        }
    })?;
    metrics::counter!("dangjian_ingest_bytes_total").increment(body.len() as u64);
    let events = app.ingest.validate_body(&body, format, app.clock.now())?;
    let writer = ingest::WriteCaller {
        scope: &caller.scope,
        admin: caller.role == crate::auth::Role::Admin,
        actor: &caller.actor_id(),
    };
    let events = ingest::rules::admit(&app.warehouse, events, writer).await?;
    Ok(Json(app.ingest.submit(events).await?))
}

/// The event catalogue: every type with its Chinese label and whether it names a member.
#[utoipa::path(get, path = "/api/v1/event-types", tag = "events",
    responses(
        (status = 200, description = "The event catalogue", body = super::openapi::EventTypesBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn catalogue(_caller: Caller) -> Json<Value> {
    let types: Vec<Value> = EventType::ALL
        .iter()
        .map(|t| json!({"event_type": t.as_str(), "label_zh": t.label_zh(), "requires_member": t.requires_member()}))
        .collect();
    Json(json!({"event_types": types}))
}
