//! `GET /api/v1/dashboards` and `GET /api/v1/dashboards/{id}?org=&from=&to=&as_of=`.
//!
//! The org defaults to the caller's scope and must lie inside it (403 otherwise: a
//! college leader never sees another college's figures); `from` / `to` are months
//! (`YYYY-MM`, default the last twelve); `as_of` (RFC 3339) answers what the cockpit
//! would have shown at that instant.
//!
//! The access checks run on every request; only then may a materialised answer come
//! from the cockpit's response cache (`dashboards::cache`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use dashboards::Period;
use serde::Deserialize;
use serde_json::Value;

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

pub async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::View)?;
    Ok(Json(app.cockpit.list()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
    as_of: Option<String>,
}

pub async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<DashboardParams>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::View)?;
    let org = params.org.unwrap_or_else(|| caller.scope.clone());
    caller.check_org(&app, &org)?;
    let period = Period::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        Utc::now().with_timezone(&ingest::china_time()).date_naive(),
    )?;
    let as_of = params
        .as_of
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_parameter",
                        format!("as_of: `{t}` is not an RFC 3339 instant ({e}); e.g. 2026-09-01T08:00:00+08:00"),
                    )
                    .with_field("as_of")
                })
        })
        .transpose()?;
    let json = app.cockpit.render_json(&id, &org, period, as_of).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json))
}

impl Caller {
    /// The org must exist (404) and lie in the caller's scope (403, naming it).
    pub fn check_org(&self, app: &AppState, org: &str) -> Result<(), ApiError> {
        let orgs = app.warehouse.orgs();
        if orgs.get(org).is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_org",
                format!("org: there is no org `{org}`"),
            )
            .with_field("org"));
        }
        if !orgs.is_within(org, &self.scope) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("org: `{org}` is outside your scope `{}`", self.scope),
            )
            .with_field("org"));
        }
        Ok(())
    }
}
