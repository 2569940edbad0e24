//! The `events` table: one row per Party-affairs action, never updated.
//!
//! Envelope columns follow DESIGN.md. `content_hash` is a fingerprint of everything a
//! client sends for an event; it lets ingest tell a harmless retry (same id, same
//! content → duplicate) from a conflict (same id, other content → 409) and rebuild its
//! id index at start-up by reading two narrow columns. `month` is the partition column:
//! `YYYY-MM` of `occurred_at` in China Standard Time, the calendar every rule uses.
//!
//! The payload is JSON text, complete and authoritative. The fields that views and
//! models read over and over ([`TYPED`]: `meeting_id`, `status`, `period`, `amount_fen`,
//! `minutes`, `score`, `stage`, …) are stored a second time as typed nullable columns
//! beside it, so SQL reads a Parquet column instead of parsing every payload again.
//! Ingest fills them from the payload (its `batch` module); a table written before they
//! existed gains them by [`crate::migrate`].

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

/// The envelope columns in table order (the partition column last of them); the
/// [`TYPED`] columns follow.
pub(crate) const COLUMNS: [(&str, Kind, bool); 11] = [
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Timestamp,
    Int,
    Long,
    Double,
}

impl Kind {
    fn arrow(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::Int => DataType::Int32,
            Kind::Long => DataType::Int64,
            Kind::Double => DataType::Float64,
        }
    }

    fn delta(self) -> DeltaType {
        match self {
            Kind::Text => DeltaType::STRING,
            Kind::Timestamp => DeltaType::TIMESTAMP,
            Kind::Int => DeltaType::INTEGER,
            Kind::Long => DeltaType::LONG,
            Kind::Double => DeltaType::DOUBLE,
        }
    }

    /// The JSON function that reads a payload field as this kind: the typed column
    /// holds exactly what it answers (a string only from a JSON string, an integer only
    /// from an integral number, a float from any number; NULL otherwise).
    pub fn json_getter(self) -> &'static str {
        match self {
            Kind::Text => "json_get_str",
            Kind::Long => "json_get_int",
            Kind::Double => "json_get_float",
            Kind::Int | Kind::Timestamp => unreachable!("no typed payload field is {self:?}"),
        }
    }
}

/// A payload field stored again as a typed column of `events`.
#[derive(Clone, Copy, Debug)]
pub struct TypedField {
    /// The column's name.
    pub column: &'static str,
    /// The payload's key it is read from.
    pub key: &'static str,
    pub kind: Kind,
}

const fn typed(column: &'static str, key: &'static str, kind: Kind) -> TypedField {
    TypedField { column, key, kind }
}

/// The hot payload fields, by the views that read them: meetings and attendance,
/// dues, study, quizzes, stages, evaluations, and the retraction's target (`retracts`,
/// the payload's `event_id`, which every view's `live_events` excludes). A field any
/// event type carries under the same key lands in the same column (`kind` is a
/// meeting's kind on `meeting.held` and an org's kind on `org.created`).
///
/// A new column here is filled by ingest and by [`crate::migrate`] on its own; for views
/// to read it, name it also in `queries/views/00_live_events.sql`, which lists its
/// columns, and in the view that reads it. An existing table gains it at the next start
/// (the migration adds whatever of `TYPED` a table lacks).
pub const TYPED: [TypedField; 14] = [
    typed("meeting_id", "meeting_id", Kind::Text),
    typed("kind", "kind", Kind::Text),
    typed("status", "status", Kind::Text),
    typed("period", "period", Kind::Text),
    typed("amount_fen", "amount_fen", Kind::Long),
    typed("resource_id", "resource_id", Kind::Text),
    typed("minutes", "minutes", Kind::Double),
    typed("quiz_id", "quiz_id", Kind::Text),
    typed("score", "score", Kind::Double),
    typed("max_score", "max_score", Kind::Double),
    typed("stage", "stage", Kind::Text),
    typed("year", "year", Kind::Long),
    typed("rating", "rating", Kind::Text),
    typed("retracts", "event_id", Kind::Text),
];

/// The Arrow schema of a batch written to `events`: the envelope, then [`TYPED`].
pub fn arrow_schema() -> SchemaRef {
    let envelope = COLUMNS
        .iter()
        .map(|(name, kind, nullable)| Field::new(*name, kind.arrow(), *nullable));
    let typed = TYPED
        .iter()
        .map(|f| Field::new(f.column, f.kind.arrow(), true));
    Arc::new(Schema::new(envelope.chain(typed).collect::<Vec<_>>()))
}

/// Whether `table`'s schema has every [`TYPED`] column (tables written before they
/// existed do not, until [`crate::migrate::typed_columns`] has run).
pub fn has_typed_columns(table: &DeltaTable) -> Result<bool> {
    let snapshot = table.snapshot().map_err(|e| Error::delta(TABLE, e))?;
    let schema = snapshot.schema();
    Ok(TYPED
        .iter()
        .all(|f| schema.fields().any(|field| field.name() == f.column)))
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
        create = create.with_column(name, kind.delta(), nullable, None);
    }
    for field in TYPED {
        create = create.with_column(field.column, field.kind.delta(), true, None);
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
