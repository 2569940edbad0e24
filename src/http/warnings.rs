//! `GET /api/v1/warnings?org=&status=&severity=&rule=` and
//! `POST /api/v1/warnings/{id}/ack`.
//!
//! The list holds the warnings of the orgs in the caller's scope (by default the whole
//! scope; `org` narrows it to a subtree). Acknowledging is for the secretary of the
//! warning's org or of an org above it, and for admins; a second acknowledgement is 409.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
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

const COLUMNS: &str = "warning_id, rule, severity, status, org_id, member_id, subject_kind, \
    subject_id, detail AS message, raised_at, last_raised_at, CAST(deadline AS VARCHAR) AS deadline, \
    notified_at, acknowledged_at, acknowledged_by, note, escalated_at, escalated_to, resolved_at";

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(params): Query<WarningParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::View)?;
    let org = params.org.unwrap_or_else(|| caller.scope.clone());
    caller.check_org(&app, &org)?;
    let bad = |field: &str, value: &str, allowed: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{field}: `{value}` is not one of {allowed}"),
        )
        .with_field(field)
    };
    let mut predicates = Vec::new();
    match params.status.as_deref().unwrap_or("open") {
        "all" => {}
        s @ ("open" | "acknowledged" | "resolved") => predicates.push(format!("status = '{s}'")),
        other => return Err(bad("status", other, "open, acknowledged, resolved, all")),
    }
    if let Some(s) = params.severity.as_deref() {
        if dashboards::Severity::parse(s).is_none() {
            return Err(bad("severity", s, "notice, warning, critical"));
        }
        predicates.push(format!("severity = '{s}'"));
    }
    if let Some(r) = params.rule.as_deref() {
        if app.warnings.rule(r).is_none() {
            let known: Vec<&str> = app
                .warnings
                .rules()
                .iter()
                .map(|r| r.name.as_str())
                .collect();
            return Err(bad("rule", r, &known.join(", ")));
        }
        predicates.push(format!("rule = '{r}'"));
    }
    let subtree = warehouse::queries::sql_string_list(&app.warehouse.orgs().subtree(&org));
    // Escalated warnings also belong to the org they went up to.
    predicates.push(format!(
        "(org_id IN ({subtree}) OR escalated_to IN ({subtree}))"
    ));
    let sql = format!(
        "SELECT {COLUMNS} FROM warnings WHERE {} \
         ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, \
                  last_raised_at DESC, warning_id",
        predicates.join(" AND ")
    );
    // In the caller's own session: their scope, and personal data as their role sees it.
    let mut rows = app.warehouse.rows_as(&app.access(&caller), &sql).await?;
    for row in rows.iter_mut().filter_map(Value::as_object_mut) {
        decorate(&app, row);
    }
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
    // The role first: a token that may not acknowledge learns nothing about warnings.
    if !matches!(caller.role, Role::Secretary | Role::Admin) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the secretary of the warning's org or of an org above it, or an admin, may acknowledge warnings",
        ));
    }
    // One acknowledgement at a time, so two clicks cannot both pass the check.
    let _one = app.acks.lock().await;
    let warning = find(&app, &id).await?;
    let org = warning["org_id"].as_str().unwrap_or_default().to_string();
    // A warning outside the caller's scope is answered as if it did not exist: whether
    // an id exists, and whose it is, is not for them to learn.
    if !app.warehouse.orgs().is_within(&org, &caller.scope) {
        return Err(unknown_warning(&id));
    }
    match warning["status"].as_str() {
        Some("acknowledged") => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_acknowledged",
                format!(
                    "warning {id} was acknowledged by {} at {}",
                    warning["acknowledged_by"].as_str().unwrap_or("?"),
                    warning["acknowledged_at"].as_str().unwrap_or("?")
                ),
            ));
        }
        Some("resolved") => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_resolved",
                format!("warning {id} is resolved: its rule no longer finds it"),
            ));
        }
        _ => {}
    }
    let mut payload = json!({ "warning_id": id });
    if let Some(note) = body.note.filter(|n| !n.trim().is_empty()) {
        payload["note"] = json!(note);
    }
    let actor = caller.actor_id();
    app.ingest
        .ingest(vec![json!({
            "event_type": "warning.acknowledged",
            "occurred_at": app.clock.now().to_rfc3339(),
            "org_id": org,
            "actor_id": actor,
            "payload": payload,
        })])
        .await?;
    let mut after = find(&app, &id).await?;
    if let Some(row) = after.as_object_mut() {
        decorate(&app, row);
    }
    Ok(Json(after))
}

fn unknown_warning(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_warning",
        format!("there is no warning `{id}` in your scope"),
    )
    .with_field("id")
}

async fn find(app: &AppState, id: &str) -> Result<Value, ApiError> {
    let not_found = || unknown_warning(id);
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(not_found());
    }
    let rows = query(
        app,
        &format!("SELECT {COLUMNS} FROM warnings WHERE warning_id = '{id}'"),
    )
    .await?;
    rows.into_iter().next().ok_or_else(not_found)
}

/// Adds the rule's title and the org's name.
fn decorate(app: &AppState, row: &mut serde_json::Map<String, Value>) {
    let title = row
        .get("rule")
        .and_then(Value::as_str)
        .and_then(|r| app.warnings.rule(r))
        .map(|r| r.title.clone());
    let org_name = row
        .get("org_id")
        .and_then(Value::as_str)
        .and_then(|o| app.warehouse.orgs().get(o))
        .map(|n| n.name);
    row.insert("title".into(), json!(title));
    row.insert("org_name".into(), json!(org_name));
    let subject = match row.get("member_id").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => org_name.unwrap_or_default(),
    };
    row.insert("subject".into(), json!(subject));
}

async fn query(app: &AppState, sql: &str) -> Result<Vec<Value>, ApiError> {
    Ok(app.warehouse.rows(sql).await?)
}
