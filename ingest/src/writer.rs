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

/// Event ids are UUIDs, random enough that folding the halves and one multiply spread
/// them well; this hashes 10M ids several times faster than SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64((v as u64) ^ ((v >> 64) as u64));
    }
}

/// `event_id` (as u128) → content fingerprint, of every stored event.
type IdIndex = HashMap<u128, i64, BuildHasherDefault<IdHasher>>;

async fn load_index(warehouse: &Warehouse) -> Result<IdIndex> {
    let ctx = warehouse.context();
    let sql = "SELECT event_id, content_hash FROM events";
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|source| warehouse::Error::Execution { source })?
        .collect()
        .await
        .map_err(|source| warehouse::Error::Execution { source })?;
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    let mut index = IdIndex::with_capacity_and_hasher(rows, Default::default());
    for batch in &batches {
        let ids = warehouse::datafusion::arrow::compute::cast(
            batch.column(0),
            &warehouse::datafusion::arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| warehouse::Error::Execution { source: e.into() })?;
        let ids = ids.as_string::<i32>();
        let hashes = batch.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            if ids.is_null(row) {
                continue;
            }
            if let Ok(id) = Uuid::parse_str(ids.value(row)) {
                index.insert(id.as_u128(), hashes.value(row));
            }
        }
    }
    Ok(index)
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

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        let mut compact_requests = Vec::new();
        let mut vacuum_requests = Vec::new();
        while shutdown.is_none() {
            let Some(first) = rx.recv().await else { break };
            let mut group = match first {
                Command::Submit(s) => vec![s],
                Command::Compact(reply) => {
                    reply
                        .send(self.compact(true).await.map_err(compact_failed))
                        .ok();
                    continue;
                }
                Command::Vacuum(retention, reply) => {
                    reply.send(self.vacuum(retention).await).ok();
                    continue;
                }
                Command::Shutdown(done) => {
                    shutdown = Some(done);
                    Vec::new()
                }
            };
            let mut count: usize = group.iter().map(|s| s.events.len()).sum();
            // The window runs from when the first request was queued: requests that
            // queued up during the previous commit do not wait again.
            let deadline = group
                .first()
                .map_or_else(tokio::time::Instant::now, |s| s.queued)
                + self.config.commit_window;
            while shutdown.is_none() && count < self.config.max_batch_events {
                let next = match rx.try_recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten(),
                };
                match next {
                    Some(Command::Submit(s)) => {
                        count += s.events.len();
                        group.push(s);
                    }
                    Some(Command::Compact(reply)) => {
                        compact_requests.push(reply);
                        break;
                    }
                    Some(Command::Vacuum(retention, reply)) => {
                        vacuum_requests.push((retention, reply));
                        break;
                    }
                    Some(Command::Shutdown(done)) => shutdown = Some(done),
                    None => break,
                }
            }
            if !group.is_empty() {
                self.commit_group(group).await;
            }
            let due = self.compaction_due();
            if due || !compact_requests.is_empty() {
                let major =
                    !compact_requests.is_empty() || self.minor_since_major + 1 >= MAJOR_EVERY;
                let outcome = self.compact(major).await;
                for reply in compact_requests.drain(..) {
                    reply.send(outcome.clone().map_err(compact_failed)).ok();
                }
            }
            for (retention, reply) in vacuum_requests.drain(..) {
                reply.send(self.vacuum(retention).await).ok();
            }
        }
        // Shutting down: refuse new work, commit what is already queued.
        rx.close();
        let mut rest = Vec::new();
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::Submit(s) => rest.push(s),
                Command::Compact(reply) => compact_requests.push(reply),
                Command::Vacuum(_, reply) => {
                    reply.send(Err(IngestError::ShuttingDown)).ok();
                }
                Command::Shutdown(_) => {}
            }
        }
        for reply in compact_requests {
            reply.send(Err(IngestError::ShuttingDown)).ok();
        }
        if !rest.is_empty() {
            self.commit_group(rest).await;
        }
        while self.org_reloads.join_next().await.is_some() {}
        tracing::info!(version = ?self.table.version(), "ingest writer stopped");
        if let Some(done) = shutdown {
            done.send(()).ok();
        }
    }

    /// Sorts the group into duplicates, conflicts and new events, commits the new ones
    /// in one Delta commit, and answers every request.
    async fn commit_group(&mut self, group: Vec<Submission>) {
        let started = Instant::now();
        let requests = group.len();
        let mut pending = IdIndex::default();
        let mut rows: Vec<ValidEvent> = Vec::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        let mut group_orgs: Vec<String> = Vec::new();
        for Submission { events, reply, .. } in group {
            let mut fresh = IdIndex::default();
            let mut keep = vec![false; events.len()];
            let mut conflict = None;
            for (i, e) in events.iter().enumerate() {
                let key = e.event_id.as_u128();
                let known = self
                    .index
                    .get(&key)
                    .or_else(|| pending.get(&key))
                    .or_else(|| fresh.get(&key));
                match known {
                    Some(hash) if *hash == e.content_hash => {}
                    Some(_) => {
                        conflict = Some((e.event_id, i));
                        break;
                    }
                    None => {
                        fresh.insert(key, e.content_hash);
                        keep[i] = true;
                    }
                }
            }
            if let Some((id, index)) = conflict {
                reply
                    .send(Err(IngestError::Conflict {
                        event_id: id.to_string(),
                        index,
                    }))
                    .ok();
                continue;
            }
            // One creation per org id: a new `org.created` for an org the tree (or an
            // earlier request of this commit) already holds is refused. Decided here,
            // where a retry of the same event is already known as a duplicate, and
            // serialised with every other commit.
            let twice = events
                .iter()
                .zip(&keep)
                .enumerate()
                .find_map(|(i, (e, kept))| {
                    let creates = *kept && e.event_type == EventType::OrgCreated;
                    (creates
                        && (self.warehouse.orgs().get(&e.org_id).is_some()
                            || group_orgs.contains(&e.org_id)
                            || events[..i].iter().zip(&keep).any(|(earlier, k)| {
                                *k && earlier.event_type == EventType::OrgCreated
                                    && earlier.org_id == e.org_id
                            })))
                    .then(|| (e.org_id.clone(), i))
                });
            if let Some((org_id, index)) = twice {
                reply
                    .send(Err(IngestError::OrgExists { org_id, index }))
                    .ok();
                continue;
            }
            group_orgs.extend(
                events
                    .iter()
                    .zip(&keep)
                    .filter(|(e, k)| **k && e.event_type == EventType::OrgCreated)
                    .map(|(e, _)| e.org_id.clone()),
            );
            let event_ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            let accepted = fresh.len();
            pending.extend(fresh);
            rows.extend(
                events
                    .into_iter()
                    .zip(keep)
                    .filter_map(|(e, k)| k.then_some(e)),
            );
            answers.push(Answer {
                reply,
                accepted,
                duplicates: event_ids.len() - accepted,
                event_ids,
            });
        }

        // Shared with the month encoders of the commit.
        let rows = Arc::new(rows);
        let outcome = if rows.is_empty() {
            Ok(Durable {
                version: self.table.version().unwrap_or(0),
                post_commit: None,
            })
        } else {
            self.commit(&rows).await
        };
        match outcome {
            Ok(durable) => {
                let version = durable.version;
                self.index.extend(pending);
                self.note_orgs(&rows);
                self.note_members(&rows);
                if !rows.is_empty() {
                    self.warehouse.acknowledge(version);
                }
                for a in answers {
                    a.reply
                        .send(Ok(Receipt {
                            accepted: a.accepted,
                            duplicates: a.duplicates,
                            event_ids: a.event_ids,
                            version,
                        }))
                        .ok();
                }
                let answered = Instant::now();
                if !rows.is_empty() {
                    self.finish(durable).await;
                    self.publish().await;
                    self.reload_orgs_if_renamed(&rows);
                }
                tracing::debug!(
                    version,
                    requests,
                    events = rows.len(),
                    answered_ms = (answered - started).as_millis() as u64,
                    published_us = answered.elapsed().as_micros() as u64,
                    "group committed"
                );
            }
            Err(source) => {
                tracing::error!(error = %source, requests, events = rows.len(), "group commit failed");
                let source = Arc::new(source);
                for a in answers {
                    a.reply
                        .send(Err(IngestError::CommitFailed {
                            source: source.clone(),
                        }))
                        .ok();
                }
            }
        }
    }

    /// Writes `rows` and the log entry that adds them: when this returns, the commit is
    /// durable. The new snapshot is built by [`Writer::finish`].
    async fn commit(&mut self, rows: &Arc<Vec<ValidEvent>>) -> Result<Durable, DeltaTableError> {
        let seq = self.next_txn;
        let attempt = async {
            let started = Instant::now();
            // Encode and upload the Parquet files (one per month partition) …
            let adds = self.write_files(rows).await?;
            let files = adds.len();
            let uploaded = Instant::now();
            // … then one Delta commit that adds them all, with our transaction id.
            let snapshot = self.table.snapshot()?;
            let operation = DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(snapshot.metadata().partition_columns().to_vec()),
                predicate: None,
            };
            let properties = CommitProperties::default()
                .with_application_transaction(Transaction::new(APP_ID, seq))
                .with_cleanup_expired_logs(Some(self.checkpoint_due()));
            let prepared = CommitBuilder::from(properties)
                .with_actions(adds)
                .build(Some(snapshot), self.table.log_store(), operation)
                .into_prepared_commit_future()
                .await?;
            let serialised = Instant::now();
            let written = prepared.await?;
            self.files_since_compaction += files;
            self.commits_since_compaction += 1;
            tracing::debug!(
                upload_us = (uploaded - started).as_micros() as u64,
                prepare_us = (serialised - uploaded).as_micros() as u64,
                log_us = serialised.elapsed().as_micros() as u64,
                "commit phases"
            );
            Ok::<_, DeltaTableError>(Durable {
                version: written.version as u64,
                post_commit: Some(written),
            })
        };
        match attempt.await {
            Ok(durable) => {
                self.next_txn += 1;
                Ok(durable)
            }
            Err(error) => {
                // The log entry may have been written before the error (a timeout, a
                // failed post-commit checkpoint): if our transaction is there, it landed.
                if self.table.update_state().await.is_ok() {
                    let landed = match self.table.snapshot() {
                        Ok(s) => s
                            .transaction_version(self.table.log_store().as_ref(), APP_ID)
                            .await
                            .ok()
                            .flatten(),
                        Err(_) => None,
                    };
                    if landed == Some(seq) {
                        tracing::warn!(%error, seq, "commit reported an error but its transaction landed");
                        self.next_txn += 1;
                        return Ok(Durable {
                            version: self.table.version().unwrap_or(0),
                            post_commit: None,
                        });
                    }
                }
                Err(error)
            }
        }
    }

    /// Encodes and uploads one Parquet file per month partition of `rows`, the months
    /// in parallel on the writer's workers, and returns the actions that add them. The
    /// files are invisible until a log entry adds them; a crash leaves them unreferenced.
    async fn write_files(
        &self,
        rows: &Arc<Vec<ValidEvent>>,
    ) -> Result<Vec<Action>, DeltaTableError> {
        let recorded_at = self.config.clock.now();
        let mut months: BTreeMap<(i32, u32), Vec<usize>> = BTreeMap::new();
        for (i, e) in rows.iter().enumerate() {
            months.entry(e.month_key()).or_default().push(i);
        }
        let mut encoders = Vec::with_capacity(months.len());
        for picks in months.into_values() {
            let mut writer = RecordBatchWriter::for_table(&self.table)?;
            // The month is known: the writer need not split the batch by partition.
            let month = rows[picks[0]].month();
            let DeltaTablePartition { key, value } = DeltaTablePartition::try_from(
                format!("{}={month}", warehouse::events::MONTH).as_str(),
            )?;
            let partition = IndexMap::from([(key, value)]);
            let rows = rows.clone();
            encoders.push(tokio::spawn(async move {
                let batch = batch::to_record_batch(picks.iter().map(|&i| &rows[i]), recorded_at);
                writer
                    .write_partition(batch, &partition, WriteMode::Default)
                    .await?;
                writer.flush().await
            }));
        }
        let mut adds = Vec::new();
        for encoder in encoders {
            let written = encoder.await.map_err(|e| {
                DeltaTableError::generic(format!("encoding a month file failed: {e}"))
            })??;
            adds.extend(written.into_iter().map(Action::Add));
        }
        Ok(adds)
    }

    /// Builds the snapshot of a durable commit (delta-rs' post-commit: the new log entry
    /// replayed onto the file list). If that fails the commit still stands; the table is
    /// reloaded from the log instead, and if even that fails the next commit finds its
    /// version taken, replays it and commits after it.
    async fn finish(&mut self, durable: Durable) {
        let Some(post_commit) = durable.post_commit else {
            return;
        };
        let started = Instant::now();
        match post_commit.await {
            Ok(finalized) => self.table.state = Some(finalized.snapshot()),
            Err(error) => {
                tracing::warn!(%error, version = durable.version, "post-commit snapshot update failed; reloading the table");
                if let Err(error) = self.table.update_state().await {
                    tracing::error!(%error, "could not reload the events table");
                }
            }
        }
        tracing::debug!(
            post_commit_us = started.elapsed().as_micros() as u64,
            "commit snapshot"
        );
    }

    /// Delta OPTIMIZE (bin-packing) over every month partition. Group commit writes one
    /// small file per partition per commit; compacting keeps scans over the table (and
    /// the table's own log state) from growing with the number of commits. Appends only
    /// add files, so the rows and the id index are unchanged; a crash in the middle
    /// leaves unreferenced files, never a half-visible result. A minor compaction merges
    /// only files under 1 MiB, a major one every file under 16 MiB.
    async fn compact(&mut self, major: bool) -> Result<Compaction, Arc<DeltaTableError>> {
        let started = Instant::now();
        let target = if major {
            MAJOR_TARGET_BYTES
        } else {
            MINOR_TARGET_BYTES
        };
        let (table, metrics) = self
            .table
            .clone()
            .optimize()
            .with_target_size(target)
            .with_commit_properties(
                CommitProperties::default().with_cleanup_expired_logs(Some(false)),
            )
            .await
            .inspect_err(|e| tracing::error!(error = %e, "compacting the events table failed"))?;
        self.table = table;
        self.files_since_compaction = 0;
        self.commits_since_compaction = 0;
        self.minor_since_major = if major { 0 } else { self.minor_since_major + 1 };
        // A checkpoint right after the compaction: every commit's post-commit snapshot
        // update replays the JSON commits since the last checkpoint and the active files,
        // so both start small again here (measured: the post-commit update of a one-file
        // commit grows from ~2.5 ms to ~10 ms over the 100 commits between delta-rs'
        // own checkpoints). A failed checkpoint costs only speed: the log is complete.
        match checkpoints::create_checkpoint(&self.table, None).await {
            Ok(()) => {
                if let Err(e) = self.table.update_state().await {
                    tracing::warn!(error = %e, "could not reload the table after its checkpoint");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not checkpoint the compacted table"),
        }
        self.publish().await;
        let done = Compaction {
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
            partitions: metrics.partitions_optimized,
            version: self.table.version().unwrap_or(0),
        };
        tracing::info!(
            files_removed = done.files_removed,
            files_added = done.files_added,
            partitions = done.partitions,
            version = done.version,
            major,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compacted the events table"
        );
        Ok(done)
    }

    /// Vacuums `events` (the compacted-away files older than `retention`) and publishes
    /// the version after it.
    async fn vacuum(&mut self, retention: Duration) -> Result<Vacuum> {
        let started = Instant::now();
        let (table, files_deleted) = warehouse::maintenance::vacuum(self.table.clone(), retention)
            .await
            .inspect_err(|e| tracing::error!(error = %e, "vacuuming the events table failed"))
            .map_err(commit_failed)?;
        self.table = table;
        self.publish().await;
        let done = Vacuum {
            files_deleted,
            version: self.table.version().unwrap_or(0),
        };
        tracing::info!(
            files_deleted,
            version = done.version,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "vacuumed the events table"
        );
        Ok(done)
    }

    /// Makes the writer's current version of `events` visible to SQL. A failure leaves
    /// the data committed and queries on the previous version until the next publish.
    async fn publish(&self) {
        if let Err(e) = self.warehouse.publish(&self.table).await {
            tracing::error!(error = %e, version = ?self.table.version(), "could not publish the events version to SQL");
        }
    }

    /// Whether enough files or commits accumulated since the last compaction.
    fn compaction_due(&self) -> bool {
        let config = &self.config;
        config.compact_after_files > 0
            && (self.files_since_compaction >= config.compact_after_files
                || (config.compact_after_commits > 0
                    && self.commits_since_compaction >= config.compact_after_commits))
    }

    /// Whether the next commit is one after which delta-rs writes a checkpoint
    /// (`delta.checkpointInterval`, 100 by default). Expired log entries are cleaned up
    /// only then: the cleanup lists the whole `_delta_log` directory, which on every
    /// commit would make each commit slower than the last.
    fn checkpoint_due(&self) -> bool {
        let interval = self
            .table
            .snapshot()
            .map(|s| s.table_config().checkpoint_interval().get())
            .unwrap_or(100);
        let next = self.table.version().map_or(0, |v| v + 1);
        (next + 1).is_multiple_of(interval)
    }

    /// A rename (or a retraction, which may undo one) changes what the `orgs` view
    /// answers for an org already known: the org directory reads the view again, after
    /// the commit is published and off the writer's path (renames are rare).
    fn reload_orgs_if_renamed(&mut self, rows: &[ValidEvent]) {
        let changes_names = rows.iter().any(|e| {
            matches!(
                e.event_type,
                EventType::OrgRenamed | EventType::EventRetracted
            )
        });
        // A retraction can take back a creation, a registration or a transfer: the
        // directories are read again from the views, which leave retracted events out.
        let retracts = rows
            .iter()
            .any(|e| e.event_type == EventType::EventRetracted);
        if changes_names {
            // Forget the reloads that have finished; keep the running ones.
            while self.org_reloads.try_join_next().is_some() {}
            let warehouse = self.warehouse.clone();
            self.org_reloads.spawn_on(
                async move {
                    if let Err(e) = warehouse.load_orgs().await {
                        tracing::error!(error = %e, "could not reload the org directory after a rename");
                    }
                    if retracts {
                        if let Err(e) = warehouse.load_members().await {
                            tracing::error!(error = %e, "could not reload the member directory after a retraction");
                        }
                    }
                },
                &self.callers,
            );
        }
    }

    /// Where the committed events move people (see `warehouse::members`).
    fn note_members(&self, rows: &[ValidEvent]) {
        for e in rows {
            if let Some((member, change)) = crate::rules::home_change(e) {
                self.warehouse
                    .members()
                    .apply(member, e.occurred_at, change);
            }
        }
    }

    fn note_orgs(&self, rows: &[ValidEvent]) {
        for e in rows {
            if let Payload::OrgCreated(created) = &e.payload {
                self.warehouse.orgs().insert(
                    &e.org_id,
                    OrgNode {
                        parent: created.parent_id.as_ref().map(|p| p.0.clone()),
                        name: created.name.0.clone(),
                        kind: created.kind.as_str().to_string(),
                    },
                );
            }
        }
    }
}
