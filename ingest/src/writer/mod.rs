//! [`Ingestor`]: the one writer of the `events` table.
//!
//! Requests are queued to a single task. It gathers what arrives within the commit
//! window (or until the batch is full) and writes all of it as **one** Delta commit —
//! group commit — so a thousand single-event requests cost one commit, not a thousand.
//! Only after that commit succeeded is any request of the group answered; if it fails,
//! every request of the group gets an error and none of their events is visible.
//!
//! A commit has succeeded when its log entry is written: the requests are answered then,
//! and the new table snapshot (delta-rs' post-commit update, the longest step of a small
//! commit) is built afterwards, while the clients already send their next requests. The
//! version is marked acknowledged before the answers go out, and queries wait for it to
//! be published (see `warehouse::live`), so an answered event is visible to SQL.
//!
//! Exactly once: an in-memory index maps every stored `event_id` to the fingerprint of
//! its content. It is rebuilt at start-up from two narrow columns of the table
//! (`event_id`, `content_hash`), so ids stored years ago are known after a restart. A
//! known id with the same fingerprint is a duplicate (acknowledged, not stored again);
//! with another fingerprint it is a conflict (the request is refused).
//!
//! Retried commits: every commit carries a Delta application transaction
//! (`dangjian-ingest`, sequence number). When a commit reports failure, the writer
//! reloads the table and checks whether that sequence number landed anyway, so a
//! commit that timed out after writing its log entry is not reported as lost.
//!
//! Where each part lives: this file is the public face ([`Ingestor`], its settings and
//! answers) and the queue to the writer task; `commit.rs` group commit and publishing;
//! `index.rs` the exactly-once id index; `maintenance.rs` compaction, the checkpoint
//! rhythm and vacuum; `directories.rs` the org and member directories after a commit.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use indexmap::IndexMap;
use serde::Serialize;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;
use warehouse::Warehouse;
use warehouse::datafusion::arrow::array::{Array, AsArray};
use warehouse::datafusion::arrow::datatypes::Int64Type;
use warehouse::deltalake::kernel::transaction::{CommitBuilder, CommitProperties, PostCommit};
use warehouse::deltalake::kernel::{Action, Transaction};
use warehouse::deltalake::protocol::{DeltaOperation, SaveMode};
use warehouse::deltalake::table::config::TablePropertiesExt;
use warehouse::deltalake::writer::{DeltaWriter, RecordBatchWriter, WriteMode};
use warehouse::deltalake::{DeltaTable, DeltaTableError, DeltaTablePartition, checkpoints};
use warehouse::orgs::OrgNode;

use crate::catalogue::{EventType, Payload};
use crate::decode::{self, Format};
use crate::{IngestError, Result, ValidEvent, Validator, batch};

mod commit;
mod directories;
mod index;
mod maintenance;

use index::{IdIndex, load_index};

/// The Delta application id of dangjian's ingest commits.
pub const APP_ID: &str = "dangjian-ingest";

/// A major compaction merges a month's files into files of up to this size and leaves
/// larger files alone. A month of the 9M-event demo is ~7.5 MiB, so it becomes one file;
/// a large target (OPTIMIZE's default is 100 MiB) would merge an ever larger month file
/// again with every batch of new small ones.
const MAJOR_TARGET_BYTES: std::num::NonZeroU64 = std::num::NonZeroU64::new(16 << 20).unwrap();

/// A minor compaction only merges files below this size, so under steady traffic it
/// rewrites the small files of the last commits, not the growing month file (measured:
/// merging into the month file grew from 90 to 200 ms per compaction over 30 s of
/// single-event traffic, and would reach the 16 MiB rewrite). What still grows is the
/// checkpoint after it, which lists the removed files until they expire.
const MINOR_TARGET_BYTES: std::num::NonZeroU64 = std::num::NonZeroU64::new(1 << 20).unwrap();

/// Every this many compactions the writer's own compaction is a major one; one asked
/// for ([`Ingestor::compact`], the demo after its load) always is.
const MAJOR_EVERY: usize = 16;

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// How long the first queued request of a commit waits for others to join it.
    pub commit_window: Duration,
    /// A commit holds at most about this many events (whole requests are never split).
    pub max_batch_events: usize,
    /// How far into the future `occurred_at` may lie (clock skew of producers).
    pub max_future_skew: TimeDelta,
    /// After this many data files written by commits, the writer compacts the table
    /// (Delta OPTIMIZE: a month's files under 1 MiB merged, every 16th time those under
    /// 16 MiB) and checkpoints it; 0 = never.
    pub compact_after_files: usize,
    /// … or after this many commits, whichever comes first (0 = count files only). Each
    /// commit's post-commit snapshot update replays the commits since the last
    /// checkpoint and every active file, so live single-event traffic (one small file per
    /// commit) is compacted, and checkpointed, after fewer commits than files.
    pub compact_after_commits: usize,
    /// What "now" is: the commit's `recorded_at` and the bound of `occurred_at`.
    pub clock: warehouse::SharedClock,
}

impl IngestConfig {
    /// The defaults on a clock pinned to 2026-11-25 (08:00 China time), the day of the
    /// test fixtures: tests never depend on the machine's date.
    pub fn pinned_for_tests() -> Self {
        Self {
            clock: warehouse::clock::pinned("2026-11-25").expect("a valid day"),
            ..Self::default()
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            commit_window: Duration::from_millis(2),
            max_batch_events: 100_000,
            max_future_skew: TimeDelta::days(1),
            compact_after_files: 100,
            compact_after_commits: 20,
            clock: Arc::new(warehouse::clock::SystemClock),
        }
    }
}

/// The answer to a committed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose id was already stored with the same content.
    pub duplicates: usize,
    /// The id of every event of the request, in request order.
    pub event_ids: Vec<Uuid>,
    /// A version of `events` that holds every event of the request.
    pub version: u64,
}

enum Command {
    Submit(Submission),
    Compact(oneshot::Sender<Result<Compaction>>),
    Vacuum(Duration, oneshot::Sender<Result<Vacuum>>),
    Shutdown(oneshot::Sender<()>),
}

/// What one compaction did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compaction {
    pub files_removed: u64,
    pub files_added: u64,
    pub partitions: u64,
    /// The table version after the compaction.
    pub version: u64,
}

/// What one vacuum did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vacuum {
    pub files_deleted: usize,
    /// The table version after the vacuum (it logs its start and end).
    pub version: u64,
}

struct Submission {
    events: Vec<ValidEvent>,
    reply: oneshot::Sender<Result<Receipt>>,
    /// When the request was queued: it waits at most the commit window for company.
    queued: tokio::time::Instant,
}

pub struct Ingestor {
    tx: mpsc::Sender<Command>,
    validator: Validator,
    /// Fires when the writer thread has ended.
    stopped: Mutex<Option<oneshot::Receiver<()>>>,
    clock: warehouse::SharedClock,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").finish_non_exhaustive()
    }
}

impl Ingestor {
    /// Rebuilds the id index and the member directory from the table and starts the
    /// writer task, which owns `table` from here on and keeps both current.
    pub async fn start(
        warehouse: Arc<Warehouse>,
        table: DeltaTable,
        config: IngestConfig,
    ) -> Result<Self> {
        let started = Instant::now();
        let index = load_index(&warehouse).await?;
        tracing::info!(
            events = index.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "rebuilt the event id index"
        );
        warehouse.load_members().await?;
        let snapshot = table.snapshot().map_err(commit_failed)?;
        let last_txn = snapshot
            .transaction_version(table.log_store().as_ref(), APP_ID)
            .await
            .map_err(commit_failed)?;
        // Files written before a restart count towards the next compaction too (at most
        // one per month partition of them is already compact), so a server that restarts
        // often still compacts.
        let files = snapshot.log_data().num_files();
        let (tx, rx) = mpsc::channel(4096);
        let runtime = writer_runtime().map_err(|source| IngestError::WriterThreads { source })?;
        let writer = Writer {
            table,
            warehouse,
            index,
            next_txn: last_txn.unwrap_or(0) + 1,
            config: config.clone(),
            files_since_compaction: files,
            commits_since_compaction: 0,
            minor_since_major: 0,
            callers: tokio::runtime::Handle::current(),
            org_reloads: tokio::task::JoinSet::new(),
        };
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("ingest-writer".into())
            .spawn(move || {
                runtime.block_on(writer.run(rx));
                // The runtime is dropped here, on a plain thread, after the writer ended.
                drop(runtime);
                stopped_tx.send(()).ok();
            })
            .map_err(|source| IngestError::WriterThreads { source })?;
        Ok(Self {
            tx,
            validator: Validator {
                max_future_skew: config.max_future_skew,
            },
            stopped: Mutex::new(Some(stopped)),
            clock: config.clock,
        })
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The clock the writer stamps `recorded_at` with; callers validate against it.
    pub fn clock(&self) -> &warehouse::SharedClock {
        &self.clock
    }

    /// Validates raw JSON events; every bad event yields one error.
    pub fn validate(
        &self,
        values: Vec<serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ValidEvent>> {
        if values.is_empty() {
            return Err(IngestError::Empty);
        }
        self.validator
            .validate_all(values, now)
            .map_err(|errors| IngestError::Invalid { errors })
    }

    /// Validates a request body: straight from its text when every event is valid
    /// ([`Validator::validate_body`]), else through JSON values, naming every problem
    /// (malformed JSON with its line and column, or one error per bad event).
    pub fn validate_body(
        &self,
        body: &[u8],
        format: Format,
        now: DateTime<Utc>,
    ) -> Result<Vec<ValidEvent>> {
        match self.validator.validate_body(body, format, now) {
            Some(events) => Ok(events),
            None => self.validate(decode::decode(body, format)?, now),
        }
    }

    /// Stores `events` exactly once, all or nothing, and answers after the commit.
    pub async fn submit(&self, events: Vec<ValidEvent>) -> Result<Receipt> {
        if events.is_empty() {
            return Err(IngestError::Empty);
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Submit(Submission {
                events,
                reply,
                queued: tokio::time::Instant::now(),
            }))
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        answer.await.map_err(|_| IngestError::ShuttingDown)?
    }

    /// Validates and stores; the library path used by the demo and importers.
    pub async fn ingest(&self, values: Vec<serde_json::Value>) -> Result<Receipt> {
        let events = self.validate(values, self.clock.now())?;
        self.submit(events).await
    }

    /// Validates and stores a request body (JSON or NDJSON), as the server does.
    pub async fn ingest_body(&self, body: &[u8], format: Format) -> Result<Receipt> {
        let events = self.validate_body(body, format, self.clock.now())?;
        self.submit(events).await
    }

    /// Compacts the table now, between two commits: the small files of each month
    /// partition are rewritten into larger ones in one Delta commit (rows unchanged;
    /// readers see the old files or the new, never both).
    pub async fn compact(&self) -> Result<Compaction> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Compact(reply))
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        answer.await.map_err(|_| IngestError::ShuttingDown)?
    }

    /// Deletes the files of `events` that compactions replaced more than `retention`
    /// ago (see `warehouse::maintenance`), between two commits.
    pub async fn vacuum(&self, retention: Duration) -> Result<Vacuum> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Vacuum(retention, reply))
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        answer.await.map_err(|_| IngestError::ShuttingDown)?
    }

    /// Commits everything queued, then stops the writer. Later submissions fail with
    /// [`IngestError::ShuttingDown`].
    pub async fn shutdown(&self) {
        let Some(stopped) = self.stopped.lock().await.take() else {
            return;
        };
        let (done, finished) = oneshot::channel();
        if self.tx.send(Command::Shutdown(done)).await.is_ok() {
            finished.await.ok();
        }
        stopped.await.ok();
    }
}

/// The writer's own runtime, on threads of their own: the server's workers run request
/// handling and validation in long CPU-bound polls (a batch of 1,000 events is ~1.5 ms),
/// and a writer queued behind them waited ~20 ms at every await of a commit. On its own
/// threads the operating system shares the cores fairly, and a commit's month files are
/// encoded in parallel on its workers.
fn writer_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
        .thread_name("ingest-writer-worker")
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
}

fn compact_failed(source: Arc<DeltaTableError>) -> IngestError {
    IngestError::CommitFailed { source }
}

fn commit_failed(source: DeltaTableError) -> IngestError {
    IngestError::CommitFailed {
        source: Arc::new(source),
    }
}

struct Writer {
    table: DeltaTable,
    warehouse: Arc<Warehouse>,
    index: IdIndex,
    next_txn: i64,
    config: IngestConfig,
    /// Data files written since the last compaction.
    files_since_compaction: usize,
    /// Commits that wrote files since the last compaction.
    commits_since_compaction: usize,
    /// Minor compactions since the last major one.
    minor_since_major: usize,
    /// The runtime of the code that started the writer (the server's): work that must
    /// not end with the writer's own runtime, like an org directory reload, runs there.
    callers: tokio::runtime::Handle,
    /// Org directory reloads still running; the writer waits for them before it
    /// reports stopped, so a shutdown right after a rename does not cut one off.
    org_reloads: tokio::task::JoinSet<()>,
}

/// A commit whose log entry is written, and the snapshot update still to run.
struct Durable {
    version: u64,
    post_commit: Option<PostCommit>,
}

/// What one request of a group will be answered, once the commit is known.
struct Answer {
    reply: oneshot::Sender<Result<Receipt>>,
    accepted: usize,
    duplicates: usize,
    event_ids: Vec<Uuid>,
}
