//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route (utoipa).
//!
//! Each handler carries its `#[utoipa::path]` (method, path, parameters, body, answers);
//! the shapes of the bodies are here. A unit test below fails when a route of
//! [`super::router`] is missing from the description, and schemathesis checks every
//! answer of the running server against it (`tests/e2e/openapi.rs`).

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: a stable key, a message for people, and what it is about.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable key, e.g. `invalid_events`, `forbidden`, `query_timeout`.
    pub error: String,
    pub message: String,
    /// The field, parameter or header at fault.
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// The index of the bad event in the request.
    #[schema(nullable = false)]
    pub index: Option<u64>,
    /// One entry per invalid event (422 `invalid_events`).
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldErrorBody>>,
}

/// One invalid event of a request.
#[derive(Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub error: String,
    pub message: String,
    #[schema(nullable = false)]
    pub field: Option<String>,
    #[schema(nullable = false)]
    pub index: Option<u64>,
}

/// What a committed ingest request answers.
#[derive(Serialize, ToSchema)]
pub struct ReceiptBody {
    /// Events newly stored.
    pub accepted: u64,
    /// Events whose id was already stored with the same content.
    pub duplicates: u64,
    /// The id of every event of the request, in request order.
    #[schema(pattern = "^[0-9a-f-]{36}$")]
    pub event_ids: Vec<String>,
    /// A version of `events` that holds every event of the request.
    pub version: u64,
}

/// One event as sent (a JSON array or NDJSON of these is accepted too).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// UUID; the server makes a UUIDv7 when none is sent.
    #[schema(nullable = false, pattern = "^[0-9a-fA-F-]{36}$")]
    pub event_id: Option<String>,
    /// One of `GET /api/v1/event-types`.
    pub event_type: String,
    /// RFC 3339 with offset.
    pub occurred_at: String,
    pub org_id: String,
    #[schema(nullable = false)]
    pub member_id: Option<String>,
    /// The type's fields.
    pub payload: serde_json::Map<String, serde_json::Value>,
}

/// What `POST /api/v1/events` takes as JSON: one event or an array of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventsRequest {
    One(EventBody),
    Many(Vec<EventBody>),
}

/// A column of a SQL answer.
#[derive(Serialize, ToSchema)]
pub struct ColumnBody {
    pub name: String,
    /// The Arrow type, e.g. `Utf8`, `Int64`, `Timestamp(Microsecond, Some("UTC"))`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// A SQL answer as JSON (`format=json`; CSV and Arrow IPC streams are the others).
#[derive(Serialize, ToSchema)]
pub struct SqlAnswerBody {
    pub columns: Vec<ColumnBody>,
    /// One object per row, every column present (null when empty).
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    pub row_count: u64,
    /// Rows were cut at `sql.row_limit` or `sql.max_result_bytes`.
    pub truncated: bool,
    pub elapsed_ms: f64,
    /// The `events` version the query read.
    pub events_version: Option<u64>,
}

/// The caller, and the server's "now" and "today" (China time).
#[derive(Serialize, ToSchema)]
pub struct WhoamiBody {
    pub name: String,
    pub role: String,
    /// The root of the org subtree the caller sees (empty for a member).
    pub scope: String,
    /// A member token's person (`member_id`); absent for other roles.
    pub member: Option<String>,
    pub now: String,
    /// `YYYY-MM-DD`.
    pub today: String,
}

/// Liveness and readiness.
#[derive(Serialize, ToSchema)]
pub struct HealthBody {
    /// `ok`, `ready` or `shutting_down`.
    pub status: String,
    /// The table's version (`/readyz` with a token only).
    #[schema(nullable = false)]
    pub events_version: Option<u64>,
}

/// An event type of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct EventTypeBody {
    pub event_type: String,
    pub label_zh: String,
    pub requires_member: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EventTypesBody {
    pub event_types: Vec<EventTypeBody>,
}

/// `format` of `POST /api/v1/sql`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SqlFormat {
    Json,
    Csv,
    Arrow,
}

/// A flag in a query string.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Flag {
    True,
    False,
}

/// `status` of `GET /api/v1/warnings`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WarningStatus {
    Open,
    Acknowledged,
    Resolved,
    All,
}

/// A warning's severity.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Critical,
}

/// A query as JSON.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequestBody {
    pub sql: String,
}

/// The warnings in the caller's scope, newest first.
#[derive(Serialize, ToSchema)]
pub struct WarningsBody {
    pub warnings: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The body of an acknowledgement (may be empty).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    #[schema(nullable = false)]
    pub note: Option<String>,
}

/// The SQL files of `queries/` and the `models` catalogue.
#[derive(Serialize, ToSchema)]
pub struct QueriesBody {
    pub queries: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dangjian · 智慧党建",
        description = "Event-sourced Party-affairs warehouse: ingest, analyst SQL, the cockpit's dashboards and early warnings. Every `/api/v1` route but this description takes `Authorization: Bearer <token>`; what it answers is the caller's org subtree, masked for their role.",
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::metrics::scrape,
        super::web::index,
        super::web::asset,
        super::events::ingest,
        super::events::catalogue,
        super::sql::run,
        super::auth::whoami,
        super::dashboards::list,
        super::dashboards::show,
        super::queries::list,
        super::warnings::list,
        super::warnings::acknowledge,
        super::members::page,
        super::members::recommendations,
        super::members::push,
        openapi_json,
    ),
    components(schemas(SqlFormat, Flag, WarningStatus, Severity)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "events", description = "Ingest of immutable events"),
        (name = "sql", description = "Read-only analyst SQL in the caller's scope"),
        (name = "cockpit", description = "Dashboards (党建驾驶舱)"),
        (name = "warnings", description = "Early warnings (党建测控预警)"),
        (name = "members", description = "A member's own record (我的党建) and the study pushed to them (智能党建)"),
        (name = "service", description = "Health, metrics, the web cockpit, this description"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a dangjian token (`dangjian token new`)"))
                    .build(),
            ),
        );
    }
}

/// This description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 description", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(method, path)` of every route the router source declares, `/api/v1` added to
    /// those of the API router.
    fn declared_routes() -> Vec<(String, String)> {
        let source = include_str!("mod.rs");
        let start = source.find("pub fn router(").expect("the router");
        let body = &source[start..];
        let api_end = body.find(".layer(").expect("the API router's layers");
        let mut routes = Vec::new();
        // `.route("/path", get(…))`, on one line or as rustfmt breaks a long one.
        for (offset, _) in body.match_indices(".route(") {
            let Some(after) = body[offset + ".route(".len()..]
                .trim_start()
                .strip_prefix('"')
            else {
                continue;
            };
            let path = &after[..after.find('"').expect("a quoted path")];
            let call = &after[..after.find(")\n").unwrap_or(after.len())];
            let prefix = if offset < api_end { "/api/v1" } else { "" };
            for method in ["get", "post", "put", "delete", "patch"] {
                if call.contains(&format!("{method}(")) {
                    routes.push((method.to_string(), format!("{prefix}{path}")));
                }
            }
        }
        routes
    }

    #[test]
    fn every_route_is_described() {
        let doc = ApiDoc::openapi();
        let routes = declared_routes();
        assert!(
            routes.len() >= 15,
            "the router's routes were not found: {routes:?}"
        );
        let described = serde_json::to_value(&doc).unwrap();
        for (method, path) in &routes {
            let path = path.replace("{*path}", "{path}");
            assert!(
                described["paths"][&path][method].is_object(),
                "{method} {path} is a route of the router but not in the OpenAPI description"
            );
        }
        // And nothing described that the router does not serve.
        let paths = described["paths"].as_object().unwrap();
        let count: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(count, routes.len(), "{routes:?}");
        assert_eq!(described["openapi"], "3.1.0");
    }
}
