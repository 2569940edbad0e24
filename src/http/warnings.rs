//! `GET /api/v1/warnings?org=&status=&severity=&rule=` and
//! `POST /api/v1/warnings/{id}/ack`.
//!
//! The list holds the warnings of the orgs in the caller's scope (by default the whole
//! scope; `org` narrows it to a subtree), read in the caller's own session (their role's
//! masking). Acknowledging is for the secretary of the warning's org or of an org above
//! it, and for admins; a second acknowledgement is 409. The rules of both live in
//! `dashboards::warnings::list`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dashboards::{Acknowledger, WarningQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission, Role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningParams {
    org: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    rule: Option<String>,
}

/// Warnings in the caller's scope.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings",
    params(
        ("org" = Option<String>, Query, description = "An org in the caller's scope (default: the scope's root)"),
        ("status" = Option<super::openapi::WarningStatus>, Query, description = "`open` (default), `acknowledged`, `resolved` or `all`"),
        ("severity" = Option<super::openapi::Severity>, Query, description = "`notice`, `warning` or `critical`"),
        ("rule" = Option<String>, Query, description = "A rule of `queries/warnings/`")),
    responses(
        (status = 200, description = "The warnings", body = super::openapi::WarningsBody),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    params: Result<Query<WarningParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::View)?;
    let params = super::query_params(params)?;
    let org = params.org.unwrap_or_else(|| caller.scope.clone());
    caller.check_org(&app, &org)?;
    let query = WarningQuery {
        org,
        status: params.status,
        severity: params.severity,
        rule: params.rule,
    };
    let rows = app.warnings.list(&app.access(&caller), &query).await?;
    Ok(Json(json!({ "warnings": rows })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    note: Option<String>,
}

/// Acknowledge a warning (its org's secretary, or one above, or an admin).
#[utoipa::path(post, path = "/api/v1/warnings/{id}/ack", tag = "warnings",
    params(("id" = String, Path, description = "The warning's id")),
    request_body(content((super::openapi::AckBody = "application/json")), description = "An optional note"),
    responses(
        (status = 200, description = "The warning, acknowledged", body = Object),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 409, description = "Conflict", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn acknowledge(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: AckBody = if body.iter().all(u8::is_ascii_whitespace) {
        AckBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body must be JSON {{\"note\": \"…\"}}: {e}"),
            )
            .with_field("note")
        })?
    };
    let who = Acknowledger {
        actor_id: caller.actor_id(),
        scope: caller.scope.clone(),
        may_acknowledge: matches!(caller.role, Role::Secretary | Role::Admin),
    };
    let warning = app
        .warnings
        .acknowledge(&who, &id, body.note.as_deref())
        .await?;
    Ok(Json(warning))
}
