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

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(params): Query<WarningParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::View)?;
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
