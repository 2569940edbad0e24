//! One refresh of one model: its SQL → its own Delta table, replaced in one commit.
//!
//! The table under `models/<name>/` is overwritten by a single Delta commit (write with
//! `SaveMode::Overwrite`), so a reader sees either the previous result or the new one,
//! never a mix. The run is then appended to `runs/history/`. A failing model produces a
//! failed run record, never an error that would stop the caller.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use warehouse::Warehouse;
use warehouse::arrow::array::{
    Array, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use warehouse::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use warehouse::datafusion::catalog::TableProvider;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::deltalake::DeltaTable;
use warehouse::deltalake::operations::write::SchemaMode;
use warehouse::deltalake::protocol::SaveMode;
use warehouse::queries::QueryFile;

use crate::clock::Clock;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

/// One row of the run history.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub model: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub rows: u64,
    pub status: RunStatus,
    pub error: Option<String>,
    /// The model table's version the run wrote (a succeeded run): what the cockpit read
    /// of the model from `finished` until the next succeeded run (see
    /// [`ModelRunner::table_at`]). `None` for failed runs and runs recorded before the
    /// history kept versions.
    pub version: Option<u64>,
}

pub struct ModelRunner {
    warehouse: Arc<Warehouse>,
    /// Appends to the history are serialised: one writer per table.
    history: Mutex<()>,
    /// The newest materialised version of each model, as a table provider, so the
    /// dashboards read it without re-listing the store per request.
    tables: std::sync::RwLock<HashMap<String, ModelTable>>,
    /// Past versions opened for `as_of` answers, by model and version (a few dozen at
    /// most: emptied when it outgrows [`PAST_VERSIONS_KEPT`]).
    past: std::sync::Mutex<HashMap<(String, u64), ModelTable>>,
}

/// How many past model versions [`ModelRunner::table_at`] keeps open.
const PAST_VERSIONS_KEPT: usize = 64;

/// A materialised model as readers see it now.
#[derive(Clone)]
pub struct ModelTable {
    pub provider: Arc<dyn TableProvider>,
    /// The Delta version of the model's table that `provider` reads.
    pub version: Option<u64>,
    /// When the run that wrote it finished (the data's freshness).
    pub refreshed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ModelRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRunner").finish_non_exhaustive()
    }
}

impl ModelRunner {
    pub fn new(warehouse: Arc<Warehouse>) -> Self {
        Self {
            warehouse,
            history: Mutex::new(()),
            tables: Default::default(),
            past: Default::default(),
        }
    }

    pub fn warehouse(&self) -> &Arc<Warehouse> {
        &self.warehouse
    }

    /// The models marked `materialise: true`, in path order.
    pub fn materialised(&self) -> Vec<QueryFile> {
        self.warehouse
            .catalog()
            .models()
            .filter(|m| m.materialise())
            .cloned()
            .collect()
    }

    /// Refreshes `model` and records the run; failures end up in the record.
    pub async fn refresh(&self, model: &str, clock: &dyn Clock) -> RunRecord {
        let ctx = self.context_for(model).await;
        self.refresh_in(&ctx, model, clock).await
    }

    /// The session to refresh `model` alone in: the views it reads computed once each
    /// ([`Warehouse::batch_context_for`]); the planned session if that cannot be built.
    async fn context_for(&self, model: &str) -> SessionContext {
        match self.warehouse.batch_context_for(model).await {
            Ok(ctx) => ctx,
            Err(e) => {
                tracing::warn!(model, error = %e, "could not compute the views the model reads; planning them instead");
                self.warehouse.context()
            }
        }
    }

    /// Refreshes `models` (every materialised model when empty) together: the views are
    /// computed once for all of them ([`Warehouse::batch_context`]), then each model in
    /// turn, each run recorded. `on_run` hears of each run as it ends (a progress bar, a
    /// log line). Used by the scheduler when several models fall due at once, by
    /// `dangjian refresh` and by the demo. A name that is not a materialised model is
    /// refused before anything runs; one failing model does not stop the others.
    pub async fn refresh_all(
        &self,
        models: &[String],
        clock: &dyn Clock,
        mut on_run: impl FnMut(&RunRecord),
    ) -> Result<Vec<RunRecord>> {
        let materialised: Vec<String> = self.materialised().into_iter().map(|m| m.name).collect();
        let models = if models.is_empty() {
            materialised
        } else {
            if let Some(unknown) = models.iter().find(|m| !materialised.contains(m)) {
                return Err(Error::UnknownModel {
                    model: unknown.clone(),
                    known: materialised.join(", "),
                });
            }
            models.to_vec()
        };
        let ctx = match models.as_slice() {
            // One model computes only the views it reads.
            [model] => self.context_for(model).await,
            _ => self.warehouse.batch_context().await?,
        };
        let mut runs = Vec::with_capacity(models.len());
        for model in &models {
            let run = self.refresh_in(&ctx, model, clock).await;
            on_run(&run);
            runs.push(run);
        }
        Ok(runs)
    }

    /// [`Self::refresh`] with the model's query planned in `ctx` — a
    /// [`Warehouse::batch_context`] when many models are refreshed together.
    pub async fn refresh_in(
        &self,
        ctx: &SessionContext,
        model: &str,
        clock: &dyn Clock,
    ) -> RunRecord {
        let started = clock.now();
        let timer = std::time::Instant::now();
        let outcome = self.materialise(ctx, model).await;
        let finished = clock.now().max(started);
        let status = if outcome.is_ok() {
            "succeeded"
        } else {
            "failed"
        };
        metrics::counter!("dangjian_model_refreshes_total", "model" => model.to_string(), "status" => status)
            .increment(1);
        metrics::histogram!("dangjian_model_refresh_seconds", "model" => model.to_string())
            .record(timer.elapsed().as_secs_f64());
        let record = match outcome {
            Ok((rows, provider, version)) => {
                self.warehouse
                    .publish_model(model, provider.clone(), version, Some(finished));
                self.tables
                    .write()
                    .expect("model cache lock poisoned")
                    .insert(
                        model.to_string(),
                        ModelTable {
                            provider,
                            version,
                            refreshed_at: Some(finished),
                        },
                    );
                RunRecord {
                    model: model.to_string(),
                    started,
                    finished,
                    rows,
                    status: RunStatus::Succeeded,
                    error: None,
                    version,
                }
            }
            Err(e) => {
                tracing::warn!(model, error = %e, "model refresh failed");
                RunRecord {
                    model: model.to_string(),
                    started,
                    finished,
                    rows: 0,
                    status: RunStatus::Failed,
                    error: Some(e.to_string()),
                    version: None,
                }
            }
        };
        if let Err(e) = self.record(&record).await {
            tracing::error!(model, error = %e, "could not record the model run");
        }
        record
    }

    /// Runs the model's query (its computation, `live.<name>`: other models it reads
    /// are read from their tables where they have one) and replaces its table; returns the number of rows and
    /// the new version (as a table provider, and its number).
    pub async fn materialise(
        &self,
        ctx: &SessionContext,
        model: &str,
    ) -> Result<(u64, Arc<dyn TableProvider>, Option<u64>)> {
        let query_error = |source| Error::Query {
            model: model.to_string(),
            source,
        };
        let df = ctx
            .sql(&format!(
                "SELECT * FROM {}.\"{model}\"",
                warehouse::read_models::LIVE_SCHEMA
            ))
            .await
            .map_err(query_error)?;
        let schema: SchemaRef = df.schema().inner().clone();
        let mut batches = df.collect().await.map_err(query_error)?;
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema));
        }
        let url = self.warehouse.root().model_table(model);
        let table = self.open(&url, &format!("models/{model}")).await?;
        let table = table
            .write(batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .await
            .map_err(|source| Error::Table {
                table: format!("models/{model}"),
                source,
            })?;
        let provider = table.table_provider().await.map_err(query_error)?;
        Ok((rows, provider, table.version()))
    }

    /// The table of `model` as the cockpit read it at `as_of`: the version written by the
    /// last succeeded run (of `history`, the run history) that had finished by then, read
    /// by Delta time travel. `None` — compute it live instead — when no run had, or the
    /// run's version is not recorded, or its files are gone (vacuumed after
    /// `scheduler.vacuum_retention_hours`).
    pub async fn table_at(
        &self,
        model: &str,
        as_of: DateTime<Utc>,
        history: &[RunRecord],
    ) -> Result<Option<ModelTable>> {
        let Some((version, refreshed_at)) = history
            .iter()
            .filter(|r| r.model == model && r.status == RunStatus::Succeeded && r.finished <= as_of)
            .max_by_key(|r| r.finished)
            .and_then(|r| Some((r.version?, r.finished)))
        else {
            return Ok(None);
        };
        let key = (model.to_string(), version);
        if let Some(table) = self
            .past
            .lock()
            .expect("past versions lock poisoned")
            .get(&key)
        {
            return Ok(Some(table.clone()));
        }
        let name = format!("models/{model}");
        let mut table = self
            .open(&self.warehouse.root().model_table(model), &name)
            .await?;
        if let Err(e) = table.load_version(version).await {
            tracing::info!(model, version, error = %e, "past model version not readable; computing live");
            return Ok(None);
        }
        use warehouse::datafusion::object_store::ObjectStoreExt as _;
        let store = table.object_store();
        let files: Vec<_> = match table.snapshot() {
            Ok(snapshot) => snapshot
                .log_data()
                .iter()
                .map(|f| f.object_store_path())
                .collect(),
            Err(_) => return Ok(None),
        };
        for file in files {
            if store.head(&file).await.is_err() {
                tracing::info!(model, version, %file, "past model version vacuumed; computing live");
                return Ok(None);
            }
        }
        let provider = table
            .table_provider()
            .await
            .map_err(|source| Error::Query {
                model: model.to_string(),
                source,
            })?;
        let found = ModelTable {
            provider,
            version: Some(version),
            refreshed_at: Some(refreshed_at),
        };
        let mut past = self.past.lock().expect("past versions lock poisoned");
        if past.len() >= PAST_VERSIONS_KEPT {
            past.clear();
        }
        past.insert(key, found.clone());
        Ok(Some(found))
    }

    /// The materialised table of `model`, or `None` if it was never refreshed. The
    /// first call after start-up opens it from storage (and takes its freshness from
    /// the run history); later ones are answered from memory.
    pub async fn model_table(&self, model: &str) -> Result<Option<ModelTable>> {
        if let Some(t) = self
            .tables
            .read()
            .expect("model cache lock poisoned")
            .get(model)
        {
            return Ok(Some(t.clone()));
        }
        let history = self.history().await?;
        self.open_model_table(model, &history).await
    }

    /// Opens the table of every materialised model that has one, so that readers' SQL
    /// reads them from the start (see `warehouse::read_models`); answers how many.
    pub async fn load_tables(&self) -> Result<usize> {
        let history = self.history().await?;
        let mut opened = 0;
        for model in self.materialised() {
            if self
                .open_model_table(&model.name, &history)
                .await?
                .is_some()
            {
                opened += 1;
            }
        }
        Ok(opened)
    }

    async fn open_model_table(
        &self,
        model: &str,
        history: &[RunRecord],
    ) -> Result<Option<ModelTable>> {
        let name = format!("models/{model}");
        let table = self
            .open(&self.warehouse.root().model_table(model), &name)
            .await?;
        if table.version().is_none() {
            return Ok(None);
        }
        let provider = table
            .table_provider()
            .await
            .map_err(|source| Error::Query {
                model: name.clone(),
                source,
            })?;
        let refreshed_at = history
            .iter()
            .rev()
            .find(|r| r.model == model && r.status == RunStatus::Succeeded)
            .map(|r| r.finished);
        let entry = ModelTable {
            provider,
            version: table.version(),
            refreshed_at,
        };
        let entry = self
            .tables
            .write()
            .expect("model cache lock poisoned")
            .entry(model.to_string())
            .or_insert_with(|| entry.clone())
            .clone();
        self.warehouse.publish_model(
            model,
            entry.provider.clone(),
            entry.version,
            entry.refreshed_at,
        );
        Ok(Some(entry))
    }

    /// Appends a run to `runs/history/`.
    pub async fn record(&self, run: &RunRecord) -> Result<()> {
        let _one_writer = self.history.lock().await;
        let table = self
            .open(&self.warehouse.root().run_history_table(), "runs/history")
            .await?;
        let micros = |t: DateTime<Utc>| t.timestamp_micros();
        let batch = RecordBatch::try_new(
            history_schema(),
            vec![
                Arc::new(StringArray::from(vec![run.model.as_str()])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![micros(run.started)]).with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![micros(run.finished)])
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from(vec![run.rows as i64])),
                Arc::new(StringArray::from(vec![run.status.as_str()])),
                Arc::new(StringArray::from(vec![run.error.as_deref()])),
                Arc::new(Int64Array::from(vec![run.version.map(|v| v as i64)])),
            ],
        )
        .expect("history columns match their schema");
        table
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            // A history written before `version` existed gains the column.
            .with_schema_mode(SchemaMode::Merge)
            .await
            .map_err(|source| Error::Table {
                table: "runs/history".into(),
                source,
            })?;
        Ok(())
    }

    /// Every recorded run, oldest first.
    pub async fn history(&self) -> Result<Vec<RunRecord>> {
        let Some(batches) = self
            .read_table(
                &self.warehouse.root().run_history_table(),
                "runs/history",
                "ORDER BY started, finished",
            )
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for b in &batches {
            // Parquet strings come back as Utf8View; read them as plain Utf8.
            let text = |i: usize| {
                warehouse::arrow::compute::cast(b.column(i), &DataType::Utf8)
                    .expect("strings cast to Utf8")
                    .as_string::<i32>()
                    .clone()
            };
            let time = |i: usize| {
                b.column(i)
                    .as_primitive::<warehouse::arrow::datatypes::TimestampMicrosecondType>()
                    .clone()
            };
            let (model, started, finished, status, error) =
                (text(0), time(1), time(2), text(4), text(5));
            let rows = b
                .column(3)
                .as_primitive::<warehouse::arrow::datatypes::Int64Type>();
            let versions = b.column_by_name("version").map(|c| {
                c.as_primitive::<warehouse::arrow::datatypes::Int64Type>()
                    .clone()
            });
            for r in 0..b.num_rows() {
                out.push(RunRecord {
                    model: model.value(r).to_string(),
                    started: DateTime::from_timestamp_micros(started.value(r)).unwrap_or_default(),
                    finished: DateTime::from_timestamp_micros(finished.value(r))
                        .unwrap_or_default(),
                    rows: rows.value(r).max(0) as u64,
                    status: if status.value(r) == "succeeded" {
                        RunStatus::Succeeded
                    } else {
                        RunStatus::Failed
                    },
                    error: (!error.is_null(r)).then(|| error.value(r).to_string()),
                    version: versions
                        .as_ref()
                        .filter(|v| !v.is_null(r))
                        .map(|v| v.value(r).max(0) as u64),
                });
            }
        }
        Ok(out)
    }

    /// The materialised rows of `model`, or `None` if it was never refreshed.
    pub async fn read_model(&self, model: &str) -> Result<Option<Vec<RecordBatch>>> {
        self.read_table(
            &self.warehouse.root().model_table(model),
            &format!("models/{model}"),
            "",
        )
        .await
    }

    /// Compacts the run history (one small file per run) into one file, then vacuums
    /// it and the table of every materialised model (see `warehouse::maintenance`):
    /// each refresh overwrites a model's table, leaving the previous files removed but
    /// stored. Returns the files deleted; a table never written is skipped. A failure is
    /// reported after the other tables were vacuumed.
    pub async fn vacuum(&self, retention: std::time::Duration) -> Result<usize> {
        let mut tables = vec![("runs/history".to_string(), self.compact_history().await)];
        for model in self.materialised() {
            let name = format!("models/{}", model.name);
            let url = self.warehouse.root().model_table(&model.name);
            let table = self.open(&url, &name).await;
            tables.push((name, table));
        }
        let mut deleted = 0;
        let mut first_error = None;
        for (name, table) in tables {
            let outcome = match table {
                Ok(table) if table.version().is_none() => continue,
                Ok(table) => warehouse::maintenance::vacuum(table, retention)
                    .await
                    .map(|(_, n)| n)
                    .map_err(|source| Error::Table {
                        table: name.clone(),
                        source,
                    }),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(n) => deleted += n,
                Err(e) => {
                    tracing::error!(table = name, error = %e, "vacuum failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        if deleted > 0 {
            // A past version kept open may have lost its files: the next `as_of` opens
            // (and checks) it again, and computes live if it is gone.
            self.past
                .lock()
                .expect("past versions lock poisoned")
                .clear();
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(deleted),
        }
    }

    /// The run history with its files merged (Delta OPTIMIZE), holding the history's
    /// one-writer lock so no run is recorded meanwhile.
    async fn compact_history(&self) -> Result<DeltaTable> {
        let _one_writer = self.history.lock().await;
        let table = self
            .open(&self.warehouse.root().run_history_table(), "runs/history")
            .await?;
        if table.version().is_none() {
            return Ok(table);
        }
        let (table, _) = table.optimize().await.map_err(|source| Error::Table {
            table: "runs/history".into(),
            source,
        })?;
        Ok(table)
    }

    async fn open(&self, url: &url::Url, name: &str) -> Result<DeltaTable> {
        self.warehouse.open_table(url).await.map_err(|e| match e {
            warehouse::Error::Delta { source, .. } => Error::Table {
                table: name.to_string(),
                source,
            },
            other => Error::Table {
                table: name.to_string(),
                source: warehouse::deltalake::DeltaTableError::Generic(other.to_string()),
            },
        })
    }

    async fn read_table(
        &self,
        url: &url::Url,
        name: &str,
        order: &str,
    ) -> Result<Option<Vec<RecordBatch>>> {
        let table_error = |source| Error::Table {
            table: name.to_string(),
            source,
        };
        let table = self.open(url, name).await?;
        if table.version().is_none() {
            return Ok(None);
        }
        let ctx = SessionContext::new();
        table
            .update_datafusion_session(&ctx.state())
            .map_err(table_error)?;
        let provider = table
            .table_provider()
            .await
            .map_err(|source| Error::Query {
                model: name.to_string(),
                source,
            })?;
        let query_error = |source| Error::Query {
            model: name.to_string(),
            source,
        };
        ctx.register_table("t", provider).map_err(query_error)?;
        let batches = ctx
            .sql(&format!("SELECT * FROM t {order}"))
            .await
            .map_err(query_error)?
            .collect()
            .await
            .map_err(query_error)?;
        Ok(Some(batches))
    }
}

fn history_schema() -> SchemaRef {
    let time = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("started", time.clone(), false),
        Field::new("finished", time, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("version", DataType::Int64, true),
    ]))
}

#[cfg(test)]
mod tests {
    use warehouse::queries::QueryCatalog;
    use warehouse::{StorageRoot, Warehouse};

    use super::*;

    /// Rows as sorted JSON lines, floats rounded to 9 significant digits: the batch
    /// session sums in another order than the live one.
    fn normalised(rows: Vec<serde_json::Value>) -> Vec<String> {
        fn round(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Number(n) if n.is_f64() => {
                    let x = n.as_f64().unwrap_or_default();
                    *v = serde_json::Value::String(format!("{x:.9e}"));
                }
                serde_json::Value::Object(o) => o.values_mut().for_each(round),
                serde_json::Value::Array(a) => a.iter_mut().for_each(round),
                _ => {}
            }
        }
        let mut lines: Vec<String> = rows
            .into_iter()
            .map(|mut r| {
                round(&mut r);
                r.to_string()
            })
            .collect();
        lines.sort();
        lines
    }

    /// A warehouse in memory holding the hand-checked model fixture, and its writer.
    async fn fixture_warehouse(name: &str) -> (Arc<Warehouse>, ingest::Ingestor) {
        let root = StorageRoot::parse(&format!(
            "memory:///{name}-{}/",
            uuid::Uuid::now_v7().simple()
        ))
        .unwrap();
        let (warehouse, table) = Warehouse::open(root, QueryCatalog::embedded().unwrap())
            .await
            .unwrap();
        let warehouse = Arc::new(warehouse);
        let ingest = ingest::Ingestor::start(
            warehouse.clone(),
            table,
            ingest::IngestConfig::pinned_for_tests(),
        )
        .await
        .unwrap();
        let fixture = include_str!("../../../tests/data/models_fixture.ndjson");
        let events: Vec<serde_json::Value> = fixture
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        ingest.ingest(events).await.unwrap();
        (warehouse, ingest)
    }

    /// Every model answers the same in a batch session (views computed once, in
    /// memory) as in the live session, over the hand-checked model fixture.
    #[tokio::test(flavor = "multi_thread")]
    async fn batch_context_answers_every_model_like_the_live_session() {
        let (warehouse, ingest) = fixture_warehouse("batch").await;

        let batch = warehouse.batch_context().await.unwrap();
        let models: Vec<String> = warehouse
            .catalog()
            .models()
            .map(|m| m.name.clone())
            .collect();
        assert!(models.len() > 10, "the catalog's models: {models:?}");
        for model in models {
            let sql = format!("SELECT * FROM \"{model}\"");
            let live = warehouse.rows(&sql).await.unwrap();
            let batched = Warehouse::rows_in(&batch, &sql).await.unwrap();
            assert_eq!(normalised(live), normalised(batched), "model {model}");
        }
        ingest.shutdown().await;
    }

    /// A model that reads another reads that one's table once it has been refreshed:
    /// `member_score_distribution` over the `member_score` just written, not over a
    /// second computation of every member's year; the answers are the same.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_model_reads_the_table_of_a_model_it_reads() {
        let (warehouse, ingest) = fixture_warehouse("reads").await;
        let runner = ModelRunner::new(warehouse.clone());
        let clock = crate::clock::ManualClock::new("2026-11-25T08:00:00Z".parse().unwrap());
        let explain = "EXPLAIN SELECT * FROM live.member_score_distribution";
        let plan = |rows: Vec<serde_json::Value>| -> String {
            rows.iter()
                .map(|r| r["plan"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let before = plan(warehouse.rows(explain).await.unwrap());
        assert!(!before.contains("models/member_score/"), "{before}");
        let computed = warehouse
            .rows("SELECT * FROM live.member_score_distribution")
            .await
            .unwrap();

        let run = runner.refresh("member_score", &clock).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        let after = plan(warehouse.rows(explain).await.unwrap());
        assert!(after.contains("models/member_score/"), "{after}");
        let from_table = warehouse
            .rows("SELECT * FROM live.member_score_distribution")
            .await
            .unwrap();
        assert!(!computed.is_empty());
        assert_eq!(normalised(computed), normalised(from_table));
        // In a batch of refreshes too, the distribution follows the score just written.
        let runs = runner
            .refresh_all(
                &[
                    "member_score".to_string(),
                    "member_score_distribution".to_string(),
                ],
                &clock,
                |_| {},
            )
            .await
            .unwrap();
        assert!(
            runs.iter().all(|r| r.status == RunStatus::Succeeded),
            "{runs:?}"
        );
        ingest.shutdown().await;
    }
}
