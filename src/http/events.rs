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
pub async fn catalogue(_caller: Caller) -> Json<Value> {
    let types: Vec<Value> = EventType::ALL
        .iter()
        .map(|t| json!({"event_type": t.as_str(), "label_zh": t.label_zh(), "requires_member": t.requires_member()}))
        .collect();
    Json(json!({"event_types": types}))
}
