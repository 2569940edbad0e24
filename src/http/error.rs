//! One mapping from library errors to HTTP answers.
//!
//! The body is always `{"error": "stable_key", "message": "…", "field": …, "index": …}`;
//! a 422 for invalid events adds `errors`, one entry per bad event. Internal detail is
//! logged, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest::{FieldError, IngestError};
use serde::Serialize;
use warehouse::Fault;

#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds for `Retry-After` (busy: come back then).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
            field: None,
            index: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// An error that is ours or the outside world's: log the detail, say little.
    fn opaque(fault: Fault, key: &'static str, detail: &dyn std::fmt::Display) -> Self {
        let id = uuid::Uuid::now_v7();
        tracing::error!(error_id = %id, %detail, "request failed");
        match fault {
            Fault::External => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                key,
                format!("storage is unavailable; nothing was stored, retry later (error id {id})"),
            ),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                key,
                format!("internal error (error id {id})"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        // The audit trail records which error a request ended in.
        response.extensions_mut().insert(ErrorKey(self.error));
        response
    }
}

/// The `error` key of an answer, for the audit middleware.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKey(pub &'static str);

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let key = e.key();
        match e {
            IngestError::Malformed { line, column, .. } => {
                Self::new(StatusCode::BAD_REQUEST, key, e.to_string())
                    .with_field(format!("line {line}, column {column}"))
            }
            IngestError::Invalid { ref errors } => {
                let first = errors.first().cloned();
                let mut api = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    key,
                    match &first {
                        Some(f) if errors.len() == 1 => format!("event {}: {}", f.index, f.message),
                        _ => e.to_string(),
                    },
                );
                if let Some(f) = first {
                    api = api.with_field(f.field).with_index(f.index);
                }
                api.errors = errors.clone();
                api
            }
            IngestError::Conflict { index, .. } => {
                Self::new(StatusCode::CONFLICT, key, e.to_string())
                    .with_field("event_id")
                    .with_index(index)
            }
            IngestError::OrgExists { index, .. } => {
                Self::new(StatusCode::CONFLICT, key, e.to_string())
                    .with_field("org_id")
                    .with_index(index)
            }
            IngestError::Refused { refusal } => {
                let status = match refusal.kind {
                    ingest::RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                    ingest::RefusalKind::Unknown => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Self::new(status, refusal.key, refusal.message)
                    .with_field(refusal.field)
                    .with_index(refusal.index)
            }
            IngestError::Empty => Self::new(StatusCode::BAD_REQUEST, key, e.to_string()),
            IngestError::CommitFailed { .. }
            | IngestError::ShuttingDown
            | IngestError::WriterThreads { .. } => {
                let id = uuid::Uuid::now_v7();
                tracing::error!(error_id = %id, error = ?e, "ingest failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    key,
                    format!("{e}; retry later (error id {id})"),
                )
            }
            IngestError::Warehouse(w) => w.into(),
        }
    }
}

impl From<warehouse::Error> for ApiError {
    fn from(e: warehouse::Error) -> Self {
        let key = e.key();
        match (e.fault(), &e) {
            (_, warehouse::Error::Busy { .. }) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, key, e.to_string()).with_retry_after(2)
            }
            (
                Fault::Caller,
                warehouse::Error::Timeout { .. } | warehouse::Error::MemoryLimit { .. },
            ) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, key, e.to_string()),
            (Fault::Caller, _) => Self::new(StatusCode::BAD_REQUEST, key, e.to_string()),
            (fault, _) => Self::opaque(fault, key, &e),
        }
    }
}

impl From<dashboards::Error> for ApiError {
    fn from(e: dashboards::Error) -> Self {
        match e {
            dashboards::Error::Warehouse(w) => w.into(),
            dashboards::Error::UnknownDashboard { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_dashboard", e.to_string())
            }
            dashboards::Error::UnknownModel { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_model", e.to_string())
            }
            dashboards::Error::InvalidParameter { field, .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.to_string())
                    .with_field(field)
            }
            dashboards::Error::MayNotAcknowledge => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            dashboards::Error::UnknownWarning { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_warning", e.to_string()).with_field("id")
            }
            dashboards::Error::UnknownMember { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_member", e.to_string()).with_field("id")
            }
            dashboards::Error::AlreadyAcknowledged { .. } => {
                Self::new(StatusCode::CONFLICT, "already_acknowledged", e.to_string())
            }
            dashboards::Error::AlreadyResolved { .. } => {
                Self::new(StatusCode::CONFLICT, "already_resolved", e.to_string())
            }
            ref other => Self::opaque(other.fault(), "internal", other),
        }
    }
}

/// The query parameters of a request, or 400 naming the parameter at fault (an
/// unknown one, or one that does not read as its type) as JSON, like every error.
pub fn query_params<T>(
    params: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    params.map(|q| q.0).map_err(|rejection| {
        let text = rejection.body_text();
        // serde names the field between backticks: "unknown field `x`, expected …".
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .unwrap_or("query")
            .to_string();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", text).with_field(field)
    })
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; the API lives under /api/v1",
    )
}
