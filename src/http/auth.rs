//! The `Caller` extractor: every API route takes one, so no route forgets the check.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use std::net::SocketAddr;

use axum::extract::ConnectInfo;

use crate::auth::{Caller, Permission, SignInRefused};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |message: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
                .with_field("Authorization")
        };
        // No token at all is no guess: 401, whatever the address's record.
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("send `Authorization: Bearer <token>`"))?;
        // Addresses that failed too often are not even looked at until they may retry.
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let now = std::time::Instant::now();
        if let Some(wait) = client.and_then(|ip| state.sign_ins.blocked(ip, now)) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sign_ins",
                format!("too many failed sign-ins from this address; retry in {wait} s"),
            )
            .with_retry_after(wait));
        }
        let failed = |message: &str| {
            if let Some(ip) = client {
                state.sign_ins.failed(ip, now);
            }
            unauthorized(message)
        };
        let token = bearer_value(header)
            .ok_or_else(|| failed("the Authorization header must be `Bearer <token>`"))?;
        state
            .tokens
            .current()
            .authenticate(token, state.clock.now())
            .map_err(|refused| {
                failed(match refused {
                    SignInRefused::Unknown => "unknown token",
                    SignInRefused::Expired => "this token has expired",
                    SignInRefused::Revoked => "this token has been revoked",
                })
            })
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_value(header: &axum::http::HeaderValue) -> Option<&str> {
    header
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The bearer token of a request, if it sends one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).and_then(bearer_value)
}

impl Caller {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the role `{}` may not {}",
                    self.role.as_str(),
                    permission.as_str()
                ),
            ))
        }
    }
}

/// The caller, and the server's "now" and "today" (China time): the web pages count
/// ages and default periods from the server's clock, not the browser's, so a server
/// pinned to a day (`clock.today`) shows the same pages on any machine.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "service",
    responses(
        (status = 200, description = "The caller", body = super::openapi::WhoamiBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn whoami(State(app): State<AppState>, caller: Caller) -> Json<serde_json::Value> {
    let now = app.clock.now();
    Json(serde_json::json!({
        "name": caller.name,
        "role": caller.role,
        "scope": caller.scope,
        "member": caller.member,
        "now": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "today": warehouse::clock::china_today(now).to_string(),
    }))
}
