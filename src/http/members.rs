//! A member's own record (我的党建) and the study pushed to them (智能党建):
//! `GET /api/v1/members/{id}`, `GET /api/v1/members/{id}/recommendations` and
//! `POST /api/v1/members/{id}/push`.
//!
//! Who may read a member's page: the member themselves (a `member` token naming that
//! id), and a secretary, leader or admin whose scope holds the member's home org.
//! Anyone else — another member, a secretary of another branch — learns nothing, not
//! even whether the id exists (404 `unknown_member`); analysts and producers are refused
//! by role (403). The push choice is the member's own, or their secretary's or an
//! admin's on their behalf; it is recorded as an event and honoured from the next push.
//! A reader other than the member sees the page's personal data (the name, the text of
//! warnings) masked for their role, as everywhere else.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ingest::catalogue::{PushPreference, Text};
use ingest::{Payload, ValidEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::auth::{Caller, Role};

/// The member `id` if `caller` may read their page, with their home org; else the
/// refusal (403 by role, 404 for a member out of reach).
fn reachable(app: &AppState, caller: &Caller, id: &str) -> Result<String, ApiError> {
    if !caller.role.reads_member_pages() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the role `{}` may not read members' own pages",
                caller.role.as_str()
            ),
        ));
    }
    let unknown = || -> ApiError { dashboards::Error::UnknownMember { id: id.to_string() }.into() };
    if caller.role == Role::Member && caller.member.as_deref() != Some(id) {
        return Err(unknown());
    }
    let home = app.members.home(id).map_err(|_| unknown())?;
    if caller.role != Role::Member && !app.warehouse.orgs().is_within(&home, &caller.scope) {
        return Err(unknown());
    }
    Ok(home)
}

/// One member's page: stage and next step, dues, attendance, study, quizzes, score,
/// open warnings, unread notices, recommendations and the push choice.
#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members",
    params(("id" = String, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The member's own record (我的党建)", body = Object),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn page(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    reachable(&app, &caller, &id)?;
    let _slot = app.slot(&caller)?;
    let mut page = app.members.page(&id, app.clock.now()).await?;
    if caller.role != Role::Member {
        mask_page(&app, &caller, &id, &mut page);
    }
    Ok(Json(page))
}

/// The personal data of a member's page as the reader's role sees it everywhere else
/// (`access.<role>`): the member's name, and the text of their open warnings (which names
/// them). The member reads their own page in clear; a leader whose settings mask names
/// reads `张**` here as in SQL and on the dashboards.
fn mask_page(app: &AppState, caller: &Caller, id: &str, page: &mut Value) {
    use warehouse::access::PersonalKind;
    let masking = app.access(caller).masking;
    let personal = app.warehouse.personal_fields();
    let treat = |kind: PersonalKind, value: &mut Value| {
        if let Some(text) = value.as_str() {
            *value = personal
                .mask_text(kind, masking.treatment(kind), text, Some(id))
                .map_or(Value::Null, Value::from);
        }
    };
    treat(PersonalKind::Name, &mut page["member"]["name"]);
    if let Some(warnings) = page["warnings"].as_array_mut() {
        for warning in warnings {
            treat(PersonalKind::FreeText, &mut warning["message"]);
        }
    }
}

/// The study recommended to a member this week, best first, each with its reasons.
#[utoipa::path(get, path = "/api/v1/members/{id}/recommendations", tag = "members",
    params(("id" = String, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The recommendations", body = Object),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn recommendations(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    reachable(&app, &caller, &id)?;
    let _slot = app.slot(&caller)?;
    let now = app.clock.now();
    let rows = app.members.recommendations(&id, now).await?;
    Ok(Json(json!({
        "member_id": id,
        "today": warehouse::clock::china_today(now).to_string(),
        "recommendations": rows,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    /// false: no more weekly digests; true: digests again.
    enabled: bool,
    note: Option<String>,
}

/// Opt out of (or back into) the weekly study digest.
#[utoipa::path(post, path = "/api/v1/members/{id}/push", tag = "members",
    params(("id" = String, Path, description = "The member's id")),
    request_body(content = Object, description = "`{\"enabled\": false}` to stop the weekly digest, `true` to have it again; an optional `note`"),
    responses(
        (status = 200, description = "The choice, recorded", body = Object),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn push(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let home = reachable(&app, &caller, &id)?;
    if caller.role == Role::Leader {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the push choice is the member's, or their secretary's or an admin's on their behalf",
        ));
    }
    let body: PushBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body must be JSON {{\"enabled\": true|false, \"note\": \"…\"}}: {e}"),
        )
        .with_field("enabled")
    })?;
    let preference = PushPreference {
        note: body.note.filter(|n| !n.trim().is_empty()).map(Text),
    };
    let payload = if body.enabled {
        Payload::StudyPushOptedIn(preference)
    } else {
        Payload::StudyPushOptedOut(preference)
    };
    let event = ValidEvent::made(
        app.clock.now(),
        &home,
        Some(&id),
        &caller.actor_id(),
        payload,
    )
    .map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_event", e.message).with_field("note")
    })?;
    app.ingest
        .submit(vec![event])
        .await
        .map_err(dashboards::Error::from)?;
    Ok(Json(
        json!({ "member_id": id, "push_enabled": body.enabled }),
    ))
}
