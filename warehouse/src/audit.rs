//! The audit trail: every data access — a SQL query (its text, rows, time), a dashboard
//! view, a warnings list, an acknowledgement, a refused request — as a row of the Delta
//! table `audit/`, its own table beside `events`.
//!
//! Records are gathered like ingest's group commit: [`AuditLog::record`] only queues
//! (a request never waits for storage), and one task appends what queued as one Delta
//! commit every [`FLUSH_EVERY`] or [`FLUSH_ROWS`] records. The table is registered only
//! in admins' sessions (`SELECT * FROM audit`); retention is a setting, applied by
//! [`AuditLog::expire`] on the vacuum schedule.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::DeltaTable;
use deltalake::kernel::DataType as DeltaType;
use deltalake::protocol::SaveMode;
use tokio::sync::{mpsc, oneshot};

use crate::live::LiveTable;
use crate::{Error, Result, Warehouse};

pub const TABLE: &str = "audit";

/// How long a record waits at most before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Records that are written at once, whatever the time.
pub const FLUSH_ROWS: usize = 2_000;

/// One access.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// The token's name; `None` when no token was recognised.
    pub caller: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    /// The client's address.
    pub client: Option<String>,
    /// `sql`, `dashboard`, `warnings`, `ack`, `member` (a member's page or
    /// recommendations), `push_choice`, or `refused` (401, 403, 429).
    pub action: String,
    /// What was read: the SQL text, the dashboard and org, the path.
    pub target: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The error key of a failed request.
    pub error: Option<String>,
    pub rows: Option<u64>,
    pub elapsed_ms: Option<f64>,
}

const COLUMNS: [(&str, DataType, bool); 12] = [
    (
        "at",
        DataType::Timestamp(TimeUnit::Microsecond, None),
        false,
    ),
    ("caller", DataType::Utf8, true),
    ("role", DataType::Utf8, true),
    ("scope", DataType::Utf8, true),
    ("client", DataType::Utf8, true),
    ("action", DataType::Utf8, false),
    ("target", DataType::Utf8, false),
    ("status", DataType::Int32, false),
    ("error", DataType::Utf8, true),
    ("rows", DataType::Int64, true),
    ("elapsed_ms", DataType::Float64, true),
    ("day", DataType::Utf8, false),
];

fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|(name, t, nullable)| {
                let t = match t {
                    DataType::Timestamp(unit, _) => DataType::Timestamp(*unit, Some("UTC".into())),
                    other => other.clone(),
                };
                Field::new(*name, t, *nullable)
            })
            .collect::<Vec<_>>(),
    ))
}

fn batch(records: &[AuditRecord]) -> RecordBatch {
    let text = |f: &dyn Fn(&AuditRecord) -> Option<&str>| {
        Arc::new(records.iter().map(f).collect::<StringArray>()) as _
    };
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(
                records
                    .iter()
                    .map(|r| Some(r.at.timestamp_micros()))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("UTC"),
            ),
            text(&|r| r.caller.as_deref()),
            text(&|r| r.role.as_deref()),
            text(&|r| r.scope.as_deref()),
            text(&|r| r.client.as_deref()),
            text(&|r| Some(r.action.as_str())),
            text(&|r| Some(r.target.as_str())),
            Arc::new(
                records
                    .iter()
                    .map(|r| Some(i32::from(r.status)))
                    .collect::<Int32Array>(),
            ),
            text(&|r| r.error.as_deref()),
            Arc::new(
                records
                    .iter()
                    .map(|r| r.rows.map(|n| n as i64))
                    .collect::<Int64Array>(),
            ),
            Arc::new(
                records
                    .iter()
                    .map(|r| r.elapsed_ms)
                    .collect::<Float64Array>(),
            ),
            Arc::new(
                records
                    .iter()
                    .map(|r| Some(crate::clock::china_today(r.at).to_string()))
                    .collect::<StringArray>(),
            ),
        ],
    )
    .expect("audit columns match their schema")
}

enum Message {
    Record(Box<AuditRecord>),
    /// Answered once everything queued before it is committed and readable.
    Flush(oneshot::Sender<()>),
}

/// The queue of audit records and the task that writes them.
#[derive(Debug)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Message>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl AuditLog {
    /// Opens (or creates) `audit/` under the warehouse root, registers it for admins'
    /// sessions, and starts the writing task.
    pub async fn start(warehouse: &Warehouse) -> Result<Self> {
        let url = warehouse.root().audit_table();
        let mut table = warehouse.open_table(&url).await?;
        if table.version().is_none() {
            let mut create = table
                .create()
                .with_table_name(TABLE)
                .with_comment("dangjian: every data access (who read what, when, and the answer)")
                .with_partition_columns(["day"]);
            for (name, t, nullable) in COLUMNS {
                let t = match t {
                    DataType::Timestamp(..) => DeltaType::TIMESTAMP,
                    DataType::Int32 => DeltaType::INTEGER,
                    DataType::Int64 => DeltaType::LONG,
                    DataType::Float64 => DeltaType::DOUBLE,
                    _ => DeltaType::STRING,
                };
                create = create.with_column(name, t, nullable, None);
            }
            table = create.await.map_err(|e| Error::delta(TABLE, e))?;
        }
        let live = Arc::new(LiveTable::new(provider(&table).await?, table.version()));
        warehouse.add_admin_table(TABLE, live.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_loop(table, live, rx));
        Ok(Self {
            tx,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// Queues a record; it is written within [`FLUSH_EVERY`].
    pub fn record(&self, record: AuditRecord) {
        if self.tx.send(Message::Record(Box::new(record))).is_err() {
            tracing::error!("audit record after the audit log stopped");
        }
    }

    /// Waits until every record queued so far is committed and readable.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Message::Flush(tx)).is_ok() {
            rx.await.ok();
        }
    }

    /// Writes what is queued and stops the task.
    pub async fn shutdown(&self) {
        self.flush().await;
        let task = self.task.lock().expect("audit task lock poisoned").take();
        if let Some(task) = task {
            task.abort();
            task.await.ok();
        }
    }

    /// Deletes the records of days before `before` (the retention of
    /// `access.audit_retention_days`), then vacuums the table's files older than
    /// `file_retention`. Answers the rows and files deleted.
    pub async fn expire(
        warehouse: &Warehouse,
        before: DateTime<Utc>,
        file_retention: Duration,
    ) -> Result<(u64, usize)> {
        let table = warehouse
            .open_table(&warehouse.root().audit_table())
            .await?;
        if table.version().is_none() {
            return Ok((0, 0));
        }
        let day = crate::clock::china_today(before).to_string();
        let (table, metrics) = table
            .delete()
            .with_predicate(format!("day < '{day}'"))
            .await
            .map_err(|e| Error::delta(TABLE, e))?;
        let (_, files) = crate::maintenance::vacuum(table, file_retention)
            .await
            .map_err(|e| Error::delta(TABLE, e))?;
        Ok((metrics.num_deleted_rows.unwrap_or(0) as u64, files))
    }
}

async fn provider(table: &DeltaTable) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    table.table_provider().await.map_err(|e| Error::View {
        view: TABLE.into(),
        source: e,
    })
}

async fn write_loop(
    mut table: DeltaTable,
    live: Arc<LiveTable>,
    mut rx: mpsc::UnboundedReceiver<Message>,
) {
    let mut pending: Vec<AuditRecord> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        // The first record (or flush) starts a window; then gather until it closes.
        let first = match rx.recv().await {
            Some(m) => m,
            None => break,
        };
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        take(first, &mut pending, &mut waiting);
        while pending.len() < FLUSH_ROWS && waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => take(m, &mut pending, &mut waiting),
                Ok(None) | Err(_) => break,
            }
        }
        // A flush also takes whatever is already queued behind it.
        while let Ok(m) = rx.try_recv() {
            take(m, &mut pending, &mut waiting);
        }
        if !pending.is_empty() {
            table = match append(table.clone(), &pending).await {
                Ok(t) => {
                    pending.clear();
                    if let Ok(p) = provider(&t).await {
                        live.publish(p, t.version());
                    }
                    t
                }
                // Kept and written with the next group: storage may be back by then.
                Err(e) => {
                    tracing::error!(error = %e, records = pending.len(), "audit records not written yet");
                    table
                }
            };
        }
        for done in waiting.drain(..) {
            done.send(()).ok();
        }
    }
}

fn take(m: Message, pending: &mut Vec<AuditRecord>, waiting: &mut Vec<oneshot::Sender<()>>) {
    match m {
        Message::Record(r) => pending.push(*r),
        Message::Flush(done) => waiting.push(done),
    }
}

async fn append(table: DeltaTable, records: &[AuditRecord]) -> Result<DeltaTable> {
    table
        .write(vec![batch(records)])
        .with_save_mode(SaveMode::Append)
        .await
        .map_err(|e| Error::delta(TABLE, e))
}
