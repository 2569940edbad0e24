//! Errors of ingest. Each says whose fault it is through [`IngestError::fault`].

use serde::Serialize;
use warehouse::Fault;

pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// What is wrong with one event of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A stable snake_case key (`missing_field`, `invalid_value`, `unknown_event_type`…).
    pub error: &'static str,
    pub message: String,
    /// The field, as a path: `occurred_at`, `payload.period`.
    pub field: String,
    /// The position of the event in the request (0-based).
    pub index: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{} of the events in the request are invalid; nothing was stored", errors.len())]
    Invalid { errors: Vec<FieldError> },

    #[error("event_id {event_id} (index {index}) is already stored with different content")]
    Conflict { event_id: String, index: usize },

    #[error(
        "event {index} creates org `{org_id}`, which already exists (rename it with org.renamed)"
    )]
    OrgExists { org_id: String, index: usize },

    #[error("{}", refusal.message)]
    Refused { refusal: crate::rules::Refusal },

    #[error("the request is empty: send at least one event")]
    Empty,

    #[error("the events table could not be committed; nothing of this request was stored")]
    CommitFailed {
        #[source]
        source: std::sync::Arc<warehouse::deltalake::DeltaTableError>,
    },

    #[error("the ingest writer is shutting down")]
    ShuttingDown,

    #[error("could not start the ingest writer's threads: {source}")]
    WriterThreads {
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Warehouse(#[from] warehouse::Error),
}

impl IngestError {
    pub fn fault(&self) -> Fault {
        match self {
            IngestError::Malformed { .. }
            | IngestError::Invalid { .. }
            | IngestError::Conflict { .. }
            | IngestError::OrgExists { .. }
            | IngestError::Refused { .. }
            | IngestError::Empty => Fault::Caller,
            IngestError::CommitFailed { .. } | IngestError::ShuttingDown => Fault::External,
            IngestError::WriterThreads { .. } => Fault::Internal,
            IngestError::Warehouse(e) => e.fault(),
        }
    }

    pub fn key(&self) -> &'static str {
        match self {
            IngestError::Malformed { .. } => "malformed_json",
            IngestError::Invalid { .. } => "invalid_events",
            IngestError::Conflict { .. } => "event_id_conflict",
            IngestError::OrgExists { .. } => "org_exists",
            IngestError::Refused { refusal } => refusal.key,
            IngestError::Empty => "empty_request",
            IngestError::CommitFailed { .. } => "commit_failed",
            IngestError::ShuttingDown => "shutting_down",
            IngestError::WriterThreads { .. } => "writer_threads",
            IngestError::Warehouse(e) => e.key(),
        }
    }
}
