//! The `events` table: one row per Party-affairs action, never updated.
//!
//! Envelope columns follow DESIGN.md. `content_hash` is a fingerprint of everything a
//! client sends for an event; it lets ingest tell a harmless retry (same id, same
//! content → duplicate) from a conflict (same id, other content → 409) and rebuild its
//! id index at start-up by reading two narrow columns. `month` is the partition column:
//! `YYYY-MM` of `occurred_at` in China Standard Time, the calendar every rule uses.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::DataType as DeltaType;
use deltalake::{DeltaTable, DeltaTableBuilder};

use crate::local::LocalStore;
use crate::{Error, Result, StorageRoot};

pub const TABLE: &str = "events";

pub const EVENT_ID: &str = "event_id";
pub const EVENT_TYPE: &str = "event_type";
pub const OCCURRED_AT: &str = "occurred_at";
pub const RECORDED_AT: &str = "recorded_at";
pub const ORG_ID: &str = "org_id";
pub const MEMBER_ID: &str = "member_id";
pub const ACTOR_ID: &str = "actor_id";
pub const PAYLOAD: &str = "payload";
pub const SCHEMA_VERSION: &str = "schema_version";
pub const CONTENT_HASH: &str = "content_hash";
pub const MONTH: &str = "month";

/// Columns in table order (the partition column last, as Delta readers present it).
const COLUMNS: [(&str, Kind, bool); 11] = [
    (EVENT_ID, Kind::Text, false),
    (EVENT_TYPE, Kind::Text, false),
    (OCCURRED_AT, Kind::Timestamp, false),
    (RECORDED_AT, Kind::Timestamp, false),
    (ORG_ID, Kind::Text, false),
    (MEMBER_ID, Kind::Text, true),
    (ACTOR_ID, Kind::Text, true),
    (PAYLOAD, Kind::Text, false),
    (SCHEMA_VERSION, Kind::Int, false),
    (CONTENT_HASH, Kind::Long, false),
    (MONTH, Kind::Text, false),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Timestamp,
    Int,
    Long,
}

/// The Arrow schema of a batch written to `events`.
pub fn arrow_schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|(name, kind, nullable)| {
            let data_type = match kind {
                Kind::Text => DataType::Utf8,
                Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                Kind::Int => DataType::Int32,
                Kind::Long => DataType::Int64,
            };
            Field::new(*name, data_type, *nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Opens the `events` table under `root`, creating it on first use.
/// A table builder for `url`: local directories get the [`LocalStore`], whose log
/// listings do not grow with the log; other URLs get delta-rs' store for their scheme.
/// Tables opened later through the warehouse share this store.
fn builder(url: &url::Url) -> deltalake::DeltaResult<DeltaTableBuilder> {
    let builder = DeltaTableBuilder::from_url(url.clone())?;
    Ok(if url.scheme() == "file" {
        builder.with_storage_backend(Arc::new(LocalStore::new()), url.clone())
    } else {
        builder
    })
}

/// Whether a Delta log exists at the table's location. Asked before loading: the
/// kernel logs an ERROR ("No files in log segment") for every load of a table that is
/// not there yet, which would bury real errors under one per new table.
pub(crate) async fn is_table(table: &DeltaTable, name: &str) -> Result<bool> {
    table
        .log_store()
        .is_delta_table_location()
        .await
        .map_err(|e| Error::delta(name, e))
}

pub async fn open_or_create(root: &StorageRoot) -> Result<DeltaTable> {
    let url = root.events_table();
    if let Ok(path) = url.to_file_path() {
        // delta-rs opens only existing local directories; an empty one is "not a table".
        std::fs::create_dir_all(&path).map_err(|e| Error::InvalidStorageUrl {
            url: url.to_string(),
            reason: format!("cannot create directory: {e}"),
        })?;
    }
    let mut table = builder(&url)
        .and_then(|builder| builder.build())
        .map_err(|e| Error::delta(TABLE, e))?;
    if is_table(&table, TABLE).await? {
        match table.load().await {
            Ok(()) => return Ok(table),
            Err(deltalake::DeltaTableError::NotATable(_)) => {}
            Err(e) => return Err(Error::delta(TABLE, e)),
        }
    }
    let mut create = table
        .create()
        .with_table_name(TABLE)
        .with_comment("dangjian: every Party-affairs action as an immutable event")
        .with_partition_columns([MONTH]);
    for (name, kind, nullable) in COLUMNS {
        let data_type = match kind {
            Kind::Text => DeltaType::STRING,
            Kind::Timestamp => DeltaType::TIMESTAMP,
            Kind::Int => DeltaType::INTEGER,
            Kind::Long => DeltaType::LONG,
        };
        create = create.with_column(name, data_type, nullable, None);
    }
    match create.await {
        Ok(created) => Ok(created),
        // Another process created it between our load and our create: open theirs.
        Err(deltalake::DeltaTableError::VersionAlreadyExists(_)) => {
            let mut table = builder(&url)
                .and_then(|builder| builder.build())
                .map_err(|e| Error::delta(TABLE, e))?;
            table.load().await.map_err(|e| Error::delta(TABLE, e))?;
            Ok(table)
        }
        Err(e) => Err(Error::delta(TABLE, e)),
    }
}
