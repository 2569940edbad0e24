//! `POST /api/v1/sql`: analyst SQL, read-only and bounded.
//!
//! The body is the query (plain text, or JSON `{"sql": "…"}`). The answer is JSON by
//! default, CSV (`text/csv`) or an Arrow IPC stream
//! (`application/vnd.apache.arrow.stream`), chosen by `?format=json|csv|arrow` or else
//! by the `Accept` header.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warehouse::QueryResult;
use warehouse::arrow::datatypes::SchemaRef;

use super::audit::AuditNote;
use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

#[derive(Debug, Deserialize)]
pub struct SqlParams {
    format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Json,
    Csv,
    Arrow,
}

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Read-only SQL in the caller's scope and masking, bounded in rows, bytes, time and
/// memory; every query audited.
#[utoipa::path(post, path = "/api/v1/sql", tag = "sql",
    params(("format" = Option<super::openapi::SqlFormat>, Query, description = "`json` (default), `csv` or `arrow`; else the `Accept` header decides")),
    request_body(content(
        (String = "text/plain"),
        (super::openapi::SqlRequestBody = "application/json")),
        description = "One SELECT / WITH / EXPLAIN / SHOW / DESCRIBE statement"),
    responses(
        (status = 200, description = "The rows (`X-Truncated: true` when cut)",
            content(
                (super::openapi::SqlAnswerBody = "application/json"),
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.apache.arrow.stream"))),
        (status = 400, description = "Bad request: the parameter or body named in `field`", body = super::openapi::ErrorBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 422, description = "Invalid events (one entry each in `errors`), or a query over its time or memory limit", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody),
        (status = 503, description = "Commit failed, shutting down, or every place for bounded work is busy (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn run(
    State(app): State<AppState>,
    caller: Caller,
    params: Result<Query<SqlParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut note = AuditNote::default();
    let started = std::time::Instant::now();
    let answer = run_query(&app, &caller, params, &headers, &body, &mut note).await;
    let status = match &answer {
        Ok(_) => "ok",
        Err(e) => e.error,
    };
    crate::metrics::sql_query("http", status, started.elapsed().as_secs_f64());
    let mut response = answer.into_response();
    // The audit trail gets the query's text and rows, whether it succeeded or not.
    response.extensions_mut().insert(note);
    response
}

async fn run_query(
    app: &AppState,
    caller: &Caller,
    params: Result<Query<SqlParams>, QueryRejection>,
    headers: &HeaderMap,
    body: &[u8],
    note: &mut AuditNote,
) -> Result<Response, ApiError> {
    caller.require(Permission::Sql)?;
    let params = super::query_params(params)?;
    let answer = negotiate(params.format.as_deref(), headers)?;
    let sql = read_sql(headers, body)?;
    note.target = sql.clone();
    let _slot = app.slot(caller)?;
    let access = app.access(caller);
    let result = app
        .warehouse
        .query(&access, &sql, &app.config.sql_limits())
        .await?;
    note.rows = Some(result.rows as u64);
    tracing::info!(
        rows = result.rows,
        truncated = result.truncated,
        elapsed_ms = result.elapsed.as_millis() as u64,
        "sql"
    );
    encode(answer, &result, app.warehouse.events_version())
}

fn negotiate(format: Option<&str>, headers: &HeaderMap) -> Result<Answer, ApiError> {
    match format {
        Some("json") => return Ok(Answer::Json),
        Some("csv") => return Ok(Answer::Csv),
        Some("arrow") => return Ok(Answer::Arrow),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_format",
                format!("format `{other}` is not one of json, csv, arrow"),
            )
            .with_field("format"));
        }
        None => {}
    }
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(if accept.contains(ARROW_STREAM) {
        Answer::Arrow
    } else if accept.contains("text/csv") {
        Answer::Csv
    } else {
        Answer::Json
    })
}

fn read_sql(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let sql = if is_json {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SqlBody {
            sql: String,
        }
        serde_json::from_slice::<SqlBody>(body)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("expected {{\"sql\": \"…\"}}: {e}"),
                )
                .with_field("sql")
            })?
            .sql
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the query is not UTF-8",
            )
            .with_field("sql")
        })?
    };
    if sql.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_query",
            "send the SQL query as the body",
        )
        .with_field("sql"));
    }
    Ok(sql)
}

fn encode(
    answer: Answer,
    result: &QueryResult,
    version: Option<u64>,
) -> Result<Response, ApiError> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "encoding a SQL result failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding_failed",
            "the result could not be encoded",
        )
    };
    let (content_type, bytes) = match answer {
        Answer::Json => {
            let rows = rows_json(&result.batches).map_err(|e| internal(&e))?;
            let body = json!({
                "columns": columns(&result.schema),
                "rows": rows,
                "row_count": result.rows,
                "truncated": result.truncated,
                "elapsed_ms": result.elapsed.as_secs_f64() * 1000.0,
                "events_version": version,
            });
            (
                "application/json",
                serde_json::to_vec(&body).map_err(|e| internal(&e))?,
            )
        }
        Answer::Csv => {
            let mut out = Vec::new();
            warehouse::csv::write_csv(&result.schema, &result.batches, &mut out)
                .map_err(|e| internal(&e))?;
            ("text/csv; charset=utf-8", out)
        }
        Answer::Arrow => {
            let mut out = Vec::new();
            {
                let mut writer =
                    warehouse::arrow::ipc::writer::StreamWriter::try_new(&mut out, &result.schema)
                        .map_err(|e| internal(&e))?;
                // The batches hold their own buffers (`warehouse::sandbox`), so each is
                // written with its own rows' bytes only.
                for batch in &result.batches {
                    writer.write(batch).map_err(|e| internal(&e))?;
                }
                writer.finish().map_err(|e| internal(&e))?;
            }
            (ARROW_STREAM, out)
        }
    };
    let mut response = Body::from(bytes).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(
        "x-truncated",
        HeaderValue::from_static(if result.truncated { "true" } else { "false" }),
    );
    Ok(response)
}

fn columns(schema: &SchemaRef) -> Vec<Value> {
    schema
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
        .collect()
}

pub use warehouse::json::rows_json;
