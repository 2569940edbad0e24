//! Errors of model refresh and scheduling.

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

    #[error("table `{table}`: {source}")]
    Table {
        table: String,
        #[source]
        source: warehouse::deltalake::DeltaTableError,
    },
}

impl Error {
    pub fn fault(&self) -> Fault {
        match self {
            Error::Schedule { .. } | Error::Query { .. } => Fault::Internal,
            Error::UnknownModel { .. } => Fault::Caller,
            Error::Table { .. } => Fault::External,
        }
    }
}
