//! Errors of model refresh, scheduling and dashboards.

use warehouse::Fault;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "model `{model}`: schedule `{schedule}` is not a cron expression (sec min hour day month weekday): {reason}"
    )]
    Schedule {
        model: String,
        schedule: String,
        reason: String,
    },

    #[error("model `{model}` does not exist; known models: {known}")]
    UnknownModel { model: String, known: String },

    #[error("model `{model}`: its query failed: {source}")]
    Query {
        model: String,
        #[source]
        source: warehouse::datafusion::error::DataFusionError,
    },

    #[error("dashboard spec {file}: {reason}")]
    Spec { file: String, reason: String },

    #[error("dashboard `{id}` does not exist; known dashboards: {known}")]
    UnknownDashboard { id: String, known: String },

    #[error("{field}: {reason}")]
    InvalidParameter { field: &'static str, reason: String },

    #[error(transparent)]
    Warehouse(#[from] warehouse::Error),

    #[error("storing the warning events failed: {0}")]
    Ingest(String),

    #[error(
        "only the secretary of the warning's org or of an org above it, or an admin, may acknowledge warnings"
    )]
    MayNotAcknowledge,

    #[error("there is no warning `{id}` in your scope")]
    UnknownWarning { id: String },

    #[error("there is no member `{id}` whose record you may read")]
    UnknownMember { id: String },

    #[error("warning {id} was acknowledged by {by} at {at}")]
    AlreadyAcknowledged { id: String, by: String, at: String },

    #[error("warning {id} is resolved: its rule no longer finds it")]
    AlreadyResolved { id: String },

    #[error("table `{table}`: {source}")]
    Table {
        table: String,
        #[source]
        source: warehouse::deltalake::DeltaTableError,
    },
}

/// An event the engines make that does not validate (a bug of ours, named by field).
impl From<ingest::FieldError> for Error {
    fn from(e: ingest::FieldError) -> Self {
        Error::Ingest(format!("{}: {}", e.field, e.message))
    }
}

/// The engines' events not stored (the writer refused or could not commit).
impl From<ingest::IngestError> for Error {
    fn from(e: ingest::IngestError) -> Self {
        Error::Ingest(e.to_string())
    }
}

impl Error {
    pub fn fault(&self) -> Fault {
        match self {
            Error::Schedule { .. } | Error::Query { .. } | Error::Spec { .. } => Fault::Internal,
            Error::UnknownModel { .. }
            | Error::UnknownDashboard { .. }
            | Error::InvalidParameter { .. }
            | Error::MayNotAcknowledge
            | Error::UnknownWarning { .. }
            | Error::UnknownMember { .. }
            | Error::AlreadyAcknowledged { .. }
            | Error::AlreadyResolved { .. } => Fault::Caller,
            Error::Warehouse(e) => e.fault(),
            Error::Table { .. } | Error::Ingest(_) => Fault::External,
        }
    }
}
