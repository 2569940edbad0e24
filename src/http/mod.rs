//! The HTTP surface: thin handlers over the libraries, one file per resource.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /healthz` | anyone | the process is up |
//! | `GET /metrics` | admin (or anyone on `metrics.listen`) | Prometheus metrics |
//! | `GET /readyz` | anyone | the warehouse is open and the writer takes events |
//! | `POST /api/v1/events` | admin, producer, secretary | ingest (JSON, array, NDJSON; gzip) |
//! | `GET /api/v1/event-types` | any token | the event catalogue |
//! | `POST /api/v1/sql` | admin, leader, analyst | read-only SQL; JSON, CSV or Arrow |
//! | `GET /api/v1/whoami` | any token | the caller's name, role and scope |
//! | `GET /api/v1/dashboards` | all but producer | the dashboard specs |
//! | `GET /api/v1/dashboards/{id}` | all but producer | every panel's data for an org in scope |
//! | `GET /api/v1/queries` | admin, leader, analyst | the SQL files of `queries/` |
//! | `GET /api/v1/warnings` | all but producer | warnings in scope, filtered |
//! | `POST /api/v1/warnings/{id}/ack` | secretary of the org or above, admin | acknowledge |
//! | `GET /api/v1/members/{id}` | the member; secretary, leader, admin over their home | 我的党建: the member's own record |
//! | `GET /api/v1/members/{id}/recommendations` | as above | the study recommended this week, with reasons |
//! | `POST /api/v1/members/{id}/push` | the member; their secretary, admin | opt out of (or into) the weekly digest |
//! | `GET /`, `GET /assets/{*path}` | anyone | the web cockpit (it signs in with a token) |
//! | `GET /api/v1/openapi.json` | anyone | the OpenAPI 3.1 description of these routes |

mod audit;
mod auth;
mod dashboards;
mod error;
mod events;
mod health;
mod members;
pub mod metrics;
pub mod openapi;
mod queries;
mod sql;
mod warnings;
mod web;

pub use sql::rows_json;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use ingest::Ingestor;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use warehouse::Warehouse;

pub use error::{ApiError, query_params};

use crate::auth::{Caller, Maskings, Tokens};
use crate::config::Config;
use crate::throttle::{CallerSlots, SignInThrottle, Slot};

/// Everything a handler may need, shared by `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// What "now" is for every handler (the writer's clock; `clock.today` pins it).
    pub clock: warehouse::SharedClock,
    pub warehouse: Arc<Warehouse>,
    pub ingest: Arc<Ingestor>,
    /// The tokens in force (replaced when the config or the revoked list changes).
    pub tokens: Arc<Tokens>,
    /// What each role sees of personal data: a caller's reader session.
    pub maskings: Arc<Maskings>,
    /// Bounded queries each token runs at once (`sql.max_concurrent_per_token`).
    pub slots: Arc<CallerSlots>,
    /// Failed sign-ins per client address.
    pub sign_ins: Arc<SignInThrottle>,
    /// The audit trail of every data access.
    pub audit: Arc<warehouse::audit::AuditLog>,
    /// Materialises the models; the scheduler and the dashboards share it.
    pub runner: Arc<::dashboards::ModelRunner>,
    /// The dashboard specs and their rendering.
    pub cockpit: Arc<::dashboards::Cockpit>,
    /// The early-warning rules, their lifecycle and the digest mail.
    pub warnings: Arc<::dashboards::WarningEngine>,
    /// The members' own pages, their study recommendations and the weekly push.
    pub members: Arc<::dashboards::Members>,
    /// False once shutdown began: `/readyz` turns 503 so balancers stop sending.
    pub ready: Arc<AtomicBool>,
}

impl AppState {
    /// The reader session of `caller`: their scope, their role's masking.
    pub fn access(&self, caller: &Caller) -> warehouse::ReadAccess {
        self.maskings.access(caller)
    }

    /// A place for one more bounded query of `caller` (429 with `Retry-After` when
    /// `sql.max_concurrent_per_token` of theirs run now); hold it while the work runs.
    pub fn slot(&self, caller: &Caller) -> Result<Slot, ApiError> {
        self.slots.take(&caller.name).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_queries",
                format!(
                    "{} queries of this token are running, the most at once (sql.max_concurrent_per_token); retry when one has finished",
                    self.slots.per_token()
                ),
            )
            .with_retry_after(2)
        })
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.ingest.max_body_bytes;
    let api = Router::new()
        .route("/events", post(events::ingest))
        .route("/event-types", get(events::catalogue))
        .route("/sql", post(sql::run))
        .route("/whoami", get(auth::whoami))
        .route("/dashboards", get(dashboards::list))
        .route("/dashboards/{id}", get(dashboards::show))
        .route("/queries", get(queries::list))
        .route("/warnings", get(warnings::list))
        .route("/warnings/{id}/ack", post(warnings::acknowledge))
        .route("/members/{id}", get(members::page))
        .route(
            "/members/{id}/recommendations",
            get(members::recommendations),
        )
        .route("/members/{id}/push", post(members::push))
        .route("/openapi.json", get(openapi::openapi_json))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ));
    let cors = cors(&state.config.access.cors_origins);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .nest("/api/v1", api)
        // Counted once routed: the route's pattern, not each path, is the label.
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(error::not_found)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", id, method = %request.method(), uri = %request.uri())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(axum::middleware::from_fn(security_headers))
                .layer(CompressionLayer::new().gzip(true)),
        )
        .layer(tower::util::option_layer(cors))
}

/// CORS for the origins of `access.cors_origins` only (none by default: the cockpit is
/// served from this origin and needs none).
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "access.cors_origins: not a valid origin, ignored");
                None
            }
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// The page's Content-Security-Policy: scripts, styles and connections only from this
/// server (no inline script or style, no framing, nothing fetched from elsewhere).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Security headers on every answer; API answers (tokens' data) are never cached.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if api {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}
