//! `GET /api/v1/dashboards` and `GET /api/v1/dashboards/{id}?org=&from=&to=&as_of=&live=`.
//!
//! The org defaults to the caller's scope and must lie inside it (403 otherwise: a
//! college leader never sees another college's figures); `from` / `to` are months
//! (`YYYY-MM`, default the last twelve); `as_of` (RFC 3339) answers what the cockpit
//! showed at that instant (the model tables of then), and with `live=true` computes it
//! from the events recorded by then.
//!
//! The access checks run on every request; only then may a materialised answer come
//! from the cockpit's response cache (`dashboards::cockpit::cache`). A client that accepts gzip
//! gets the answer's gzip form, compressed once per cached answer (the compression
//! layer leaves a response that already has a `Content-Encoding` alone).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use dashboards::Period;
use serde::Deserialize;
use serde_json::Value;

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

/// The dashboard specs (their panels and the model each reads).
#[utoipa::path(get, path = "/api/v1/dashboards", tag = "cockpit",
    responses(
        (status = 200, description = "The dashboards", body = Object),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody)))]
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
    /// With `as_of`: compute every panel from the events recorded by then, instead of
    /// reading the model tables of that instant.
    live: Option<String>,
}

/// Every panel's data of a dashboard for an org of the caller's scope and a period.
#[utoipa::path(get, path = "/api/v1/dashboards/{id}", tag = "cockpit",
    params(
        ("id" = String, Path, description = "A dashboard of `GET /api/v1/dashboards`, e.g. `university`, `college`, `branch`"),
        ("org" = Option<String>, Query, description = "An org in the caller's scope (default: the scope's root)"),
        ("from" = Option<String>, Query, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", description = "First month, `YYYY-MM` (default: twelve months ago)"),
        ("to" = Option<String>, Query, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", description = "Last month, `YYYY-MM` (default: this month)"),
        ("as_of" = Option<String>, Query, format = DateTime, description = "RFC 3339 instant: the cockpit as it was then"),
        ("live" = Option<super::openapi::Flag>, Query, description = "`true` (with `as_of`): compute every panel from the events recorded by then")),
    responses(
        (status = 200, description = "The panels", body = Object),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody),
        (status = 422, description = "Invalid events (one entry each in `errors`), or a query over its time or memory limit", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn show(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Result<Query<DashboardParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(Permission::View)?;
    let params = super::query_params(params)?;
    let org = params.org.unwrap_or_else(|| caller.scope.clone());
    caller.check_org(&app, &org)?;
    let period = Period::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        warehouse::clock::china_today(app.clock.now()),
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
    let live = match params.live.as_deref() {
        None | Some("false") => false,
        Some("true") if as_of.is_some() => true,
        Some("true") => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                "live: only with as_of (without it the cockpit answers as of now)".to_string(),
            )
            .with_field("live"));
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                format!("live: `{other}` is neither true nor false"),
            )
            .with_field("live"));
        }
    };
    let as_of = as_of.map(|at| dashboards::AsOf { at, live });
    // A past answer is bounded work, counted among the caller's queries.
    let _slot = as_of.map(|_| app.slot(&caller)).transpose()?;
    let answer = app.cockpit.render_json(&id, &org, period, as_of).await?;
    let json = (header::CONTENT_TYPE, "application/json");
    let vary = (header::VARY, "accept-encoding");
    Ok(if accepts_gzip(&headers) {
        let gzip = (header::CONTENT_ENCODING, "gzip");
        ([json, vary, gzip], answer.gzip().clone()).into_response()
    } else {
        ([json, vary], answer.json().clone()).into_response()
    })
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0, br"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
