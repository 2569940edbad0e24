//! Errors of the warehouse, each saying whose fault it is.

use std::time::Duration;

use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who has to act on an error: the caller (fix the request), us (a bug), or the
/// outside world (storage unavailable). The HTTP layer maps this to a status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Caller,
    Internal,
    External,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage url `{url}` is not usable: {reason}")]
    InvalidStorageUrl { url: String, reason: String },

    #[error("Delta table `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: DeltaTableError,
    },

    #[error("query file `{file}`: {reason}")]
    QueryFile { file: String, reason: String },

    #[error("view `{view}` does not plan: {source}")]
    View {
        view: String,
        #[source]
        source: DataFusionError,
    },

    #[error(
        "{statement} statements are not allowed: the SQL endpoint is read-only (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE)"
    )]
    ReadOnly { statement: String },

    #[error("a row of `{query}` does not read as {into}: {reason}")]
    Decode {
        query: String,
        into: &'static str,
        reason: String,
    },

    #[error("exactly one statement is expected, found {count}")]
    StatementCount { count: usize },

    #[error("{message}")]
    Sql {
        message: String,
        #[source]
        source: DataFusionError,
    },

    #[error("the query ran longer than the limit of {} s and was cancelled", limit.as_secs_f64())]
    Timeout { limit: Duration },

    #[error("the query needed more memory than the limit of {limit_bytes} bytes: {detail}")]
    MemoryLimit { limit_bytes: usize, detail: String },

    #[error("the server is busy: {reason}; retry in a moment")]
    Busy { reason: String },

    #[error("the query runtime could not start: {source}")]
    Runtime {
        #[source]
        source: std::io::Error,
    },

    #[error("the query was cancelled (the server is shutting down)")]
    Cancelled,

    #[error("the query failed unexpectedly")]
    QueryPanicked,

    #[error("query execution failed: {source}")]
    Execution {
        #[source]
        source: DataFusionError,
    },
}

impl Error {
    pub fn fault(&self) -> Fault {
        match self {
            Error::ReadOnly { .. }
            | Error::StatementCount { .. }
            | Error::Sql { .. }
            | Error::Timeout { .. }
            | Error::MemoryLimit { .. } => Fault::Caller,
            Error::InvalidStorageUrl { .. }
            | Error::QueryFile { .. }
            | Error::View { .. }
            | Error::Decode { .. } => Fault::Internal,
            Error::Runtime { .. } | Error::QueryPanicked => Fault::Internal,
            Error::Delta { .. } | Error::Busy { .. } | Error::Cancelled => Fault::External,
            Error::Execution { source } => match source.find_root() {
                DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => Fault::External,
                _ => Fault::Internal,
            },
        }
    }

    /// A stable snake_case key for API clients.
    pub fn key(&self) -> &'static str {
        match self {
            Error::InvalidStorageUrl { .. } => "invalid_storage_url",
            Error::Delta { .. } => "storage_unavailable",
            Error::QueryFile { .. } => "query_file_invalid",
            Error::View { .. } => "view_invalid",
            Error::Decode { .. } => "query_failed",
            Error::ReadOnly { .. } => "read_only",
            Error::StatementCount { .. } => "one_statement_expected",
            Error::Sql { .. } => "sql_error",
            Error::Timeout { .. } => "query_timeout",
            Error::MemoryLimit { .. } => "query_memory_exceeded",
            Error::Busy { .. } => "server_busy",
            Error::Runtime { .. } => "runtime_failed",
            Error::Cancelled => "query_cancelled",
            Error::QueryPanicked => "query_failed",
            Error::Execution { .. } => "query_failed",
        }
    }

    pub(crate) fn delta(table: &str, source: DeltaTableError) -> Self {
        Error::Delta {
            table: table.to_string(),
            source,
        }
    }

    /// Classifies an error raised while planning or running an analyst's query.
    pub fn from_query(source: DataFusionError, memory_limit: usize) -> Self {
        match source.find_root() {
            DataFusionError::ResourcesExhausted(detail)
                if detail.contains(crate::budget::BUDGET_EXHAUSTED) =>
            {
                Error::Busy {
                    reason: crate::budget::BUDGET_EXHAUSTED.to_string(),
                }
            }
            DataFusionError::ResourcesExhausted(detail) => Error::MemoryLimit {
                limit_bytes: memory_limit,
                detail: detail.clone(),
            },
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_) => Error::Sql {
                message: source.find_root().to_string(),
                source,
            },
            _ => Error::Execution { source },
        }
    }
}
