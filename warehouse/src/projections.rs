//! Projections: the per-entity views that many models read (`people`, `orgs`,
//! `meetings`), kept as tables up to date from each commit's new events instead of
//! computed from every event on every query.
//!
//! A view becomes a projection by three header lines of its query file:
//!
//! ```sql
//! -- projection.key: member_id            -- the entity: member_id, org_id or meeting_id
//! -- projection.events: member.%          -- the event types its rows are computed from
//! -- projection.masked: name = member.registered.name, email = member.registered.email
//! ```
//!
//! Its rows for one entity must depend only on the live events of that entity (the
//! `events` rows whose column `key` holds its id, of the named types), as `people`
//! depends only on a person's `member.*` events, `orgs` on an org's `org.*` events and
//! `meetings` on a meeting's `meeting.*` events.
//! Then the projection is maintained the event-sourced way:
//!
//! - **at start** its rows are computed once from every event (in the background: until
//!   then its name reads the live computation);
//! - **at each commit** the writer [notes](Projections::note) the ids the new events touch
//!   (a late event touches its entity like any other; a retraction, `event.retracted`,
//!   touches the entity of the event it takes back, looked up by its id). The projection
//!   task recomputes just those entities — the view planned over the events of those ids
//!   alone — and swaps their rows in. A commit that touches none of its event types (a
//!   dues payment for `people`; a compaction) leaves its rows valid and moves it on.
//!
//! **Never stale.** Readers use the rows only while they reflect every event acknowledged
//! to a client ([`ProjectionSource`]); between a commit that touched the projection and
//! the recomputation of its entities (milliseconds), a query computes the view live, as
//! before projections. So a projection's answer is always the live view's answer
//! (`tests/e2e/projections.rs` compares them row for row, after retractions and
//! transfers too), only faster.
//!
//! **Who reads them.** The server's own sessions (model refreshes, warnings of now, the
//! org directory) under the view's name; readers whose scope is the whole tree under the
//! view's name too, with the personal columns named by `projection.masked` masked for
//! their role exactly as their `events` would have masked the payload field each comes
//! from. Readers of a subtree compute the view over their scoped events (a projection of
//! everyone cannot be cut to what a subtree's events would show: the sending branch of a
//! transfer sees the member as transferred out, the receiving branch as theirs). The live
//! computation stays under `live.<view>` for everyone; `as_of` sessions compute live.
//! The rows are held in memory: one row per person, org or meeting, and one per meeting
//! and invited member for `attendance_latest` (kept by meeting: a meeting's records and
//! the meeting itself are its `meeting.*` events). At the 10M-event scale that is 57,000
//! people, 180,000 meetings and 1.9M attendance records.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{BatchCoalescer, cast};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::catalog::view::ViewTable;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use tokio::sync::Notify;

use crate::executor::QueryExecutor;
use crate::live::LiveTable;
use crate::queries::{QueryCatalog, QueryFile, QueryKind};
use crate::{Error, Result, events};

/// The least time between two rounds of one projection's maintenance (the most is nine
/// times the last round's duration).
const ROUND_GAP: std::time::Duration = std::time::Duration::from_millis(200);

/// What the header of a projected view declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionSpec {
    /// The column of `events` (and of the view) naming the entity: an envelope column
    /// (`member_id`, `org_id`) or the typed payload column `meeting_id`.
    pub key: String,
    /// The prefix of the event types its rows come from (`member.` of `member.%`).
    pub events_prefix: String,
    /// Personal columns: (column, event type, payload field) — masked for a reader as
    /// that payload field is.
    pub masked: Vec<(String, String, String)>,
}

impl ProjectionSpec {
    /// The spec of a view's header, `None` when it is not a projection.
    pub fn of(file: &QueryFile) -> Result<Option<Self>> {
        let Some(key) = file.get("projection.key") else {
            return Ok(None);
        };
        let invalid = |reason: String| Error::QueryFile {
            file: file.path.clone(),
            reason,
        };
        if file.kind != QueryKind::View {
            return Err(invalid("only a view can be a projection".into()));
        }
        if !ENTITY_KEYS.contains(&key) {
            return Err(invalid(format!(
                "projection.key: `{key}` is not a column of events naming an entity \
                 ({})",
                ENTITY_KEYS.join(", ")
            )));
        }
        let pattern = file.get("projection.events").unwrap_or_default();
        let events_prefix = match pattern.strip_suffix('%') {
            Some(prefix) if !prefix.is_empty() && !prefix.contains(['%', '_', '\'']) => prefix,
            _ => {
                return Err(invalid(format!(
                    "projection.events: `{pattern}` is not an event type prefix such as `member.%`"
                )));
            }
        };
        let mut masked = Vec::new();
        for item in file
            .get("projection.masked")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let parsed = item.split_once('=').and_then(|(column, source)| {
                let (event_type, field) = source.trim().rsplit_once('.')?;
                Some((
                    column.trim().to_string(),
                    event_type.to_string(),
                    field.to_string(),
                ))
            });
            masked.push(parsed.ok_or_else(|| {
                invalid(format!(
                    "projection.masked: `{item}` is not `column = event.type.field`"
                ))
            })?);
        }
        Ok(Some(Self {
            key: key.to_string(),
            events_prefix: events_prefix.to_string(),
            masked,
        }))
    }

    fn reads(&self, event_type: &str) -> bool {
        event_type.starts_with(&self.events_prefix)
    }
}

/// The columns of `events` a projection may be keyed by: each names one entity.
const ENTITY_KEYS: [&str; 3] = [events::MEMBER_ID, events::ORG_ID, MEETING_ID];
const MEETING_ID: &str = "meeting_id";

/// The most entities (or retracted events) a round computes again by their ids; beyond
/// it the round computes the whole projection.
const MOST_KEYS: usize = 1_000;

/// The rows of one batch of a projection's table.
const BATCH_ROWS: usize = 8_192;

/// What one committed event touches, as the writer notes it.
#[derive(Debug, Clone)]
pub struct Touch<'a> {
    pub event_type: &'a str,
    pub org_id: &'a str,
    pub member_id: Option<&'a str>,
    /// The meeting of a `meeting.*` event.
    pub meeting_id: Option<&'a str>,
    /// The `event_id` an `event.retracted` takes back.
    pub retracts: Option<String>,
}

impl<'a> Touch<'a> {
    /// The entity the event touches as `key` names entities.
    fn entity(&self, key: &str) -> Option<&'a str> {
        match key {
            events::MEMBER_ID => self.member_id,
            events::ORG_ID => Some(self.org_id),
            MEETING_ID => self.meeting_id,
            _ => None,
        }
    }
}

/// Where a projection's maintenance stands.
#[derive(Debug, Default)]
struct State {
    /// The `events` version its rows reflect; `None` before the first computation.
    version: Option<u64>,
    /// The newest `events` version published to SQL.
    published: Option<u64>,
    /// Entities touched by commits whose recomputation has not started.
    pending: BTreeSet<String>,
    /// Events taken back by commits not handled yet (their entities are looked up).
    retracted: BTreeSet<String>,
    /// The newest commit that added to `pending` / `retracted`.
    noted: Option<u64>,
    /// A recomputation is running.
    busy: bool,
}

impl State {
    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.retracted.is_empty()
    }
}

/// One projected view: its rows and their maintenance.
#[derive(Debug)]
pub struct Projection {
    pub name: String,
    pub spec: ProjectionSpec,
    state: Mutex<State>,
    rows: RwLock<Option<Arc<MemTable>>>,
    /// Wakes the projection's task when there is work.
    wake: Notify,
}

impl Projection {
    fn new(name: &str, spec: ProjectionSpec) -> Self {
        Self {
            name: name.to_string(),
            spec,
            state: Mutex::default(),
            rows: RwLock::default(),
            wake: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("projection lock poisoned")
    }

    /// The rows, when they reflect every event up to `newest`.
    pub fn rows_as_of(&self, newest: Option<u64>) -> Option<Arc<MemTable>> {
        let version = self.state().version?;
        if Some(version) < newest {
            return None;
        }
        self.rows.read().expect("projection rows poisoned").clone()
    }

    /// The `events` version the rows reflect (`None`: not computed yet).
    pub fn version(&self) -> Option<u64> {
        self.state().version
    }

    fn install(&self, rows: MemTable) {
        *self.rows.write().expect("projection rows poisoned") = Some(Arc::new(rows));
    }
}

/// Every projection of the catalog, and what maintains them.
#[derive(Debug, Default)]
pub struct Projections {
    all: Vec<Arc<Projection>>,
}

impl Projections {
    /// The projections the catalog's views declare.
    pub fn of(catalog: &QueryCatalog) -> Result<Self> {
        let mut all = Vec::new();
        for view in catalog.of_kind(QueryKind::View) {
            if let Some(spec) = ProjectionSpec::of(view)? {
                all.push(Arc::new(Projection::new(&view.name, spec)));
            }
        }
        Ok(Self { all })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Projection>> {
        self.all.iter().find(|p| p.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Projection>> {
        self.all.iter()
    }

    /// Records the entities that commit `version` touches; called by the writer once the
    /// commit is durable, before it is acknowledged or published.
    pub fn note<'a>(&self, version: u64, touched: impl IntoIterator<Item = Touch<'a>>) {
        let touched: Vec<Touch<'a>> = touched.into_iter().collect();
        for projection in &self.all {
            let spec = &projection.spec;
            let mut keys = Vec::new();
            let mut retracted = Vec::new();
            for t in &touched {
                if let Some(id) = &t.retracts {
                    retracted.push(id.clone());
                } else if spec.reads(t.event_type) {
                    keys.extend(t.entity(&spec.key).map(str::to_string));
                }
            }
            if keys.is_empty() && retracted.is_empty() {
                continue;
            }
            let mut state = projection.state();
            state.pending.extend(keys);
            state.retracted.extend(retracted);
            state.noted = state.noted.max(Some(version));
            drop(state);
            projection.wake.notify_one();
        }
    }

    /// Waits until every projection reflects `events` up to `version` (what a server
    /// that has run a while reads; the benches of reads wait for it after opening).
    pub async fn caught_up(&self, version: Option<u64>) {
        while self.all.iter().any(|p| p.version() < version) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Records that `version` of `events` is published to SQL: a projection with nothing
    /// to recompute reflects it (its events were not touched since).
    pub fn published(&self, version: Option<u64>) {
        for projection in &self.all {
            let mut state = projection.state();
            state.published = state.published.max(version);
            if !state.has_work() && !state.busy && state.version.is_some() {
                state.version = state.published;
            }
        }
    }

    /// Keeps every projection up to date, for as long as the returned tasks run (they end
    /// when the warehouse is dropped).
    pub(crate) fn spawn(&self, maintainer: Maintainer) {
        for projection in &self.all {
            let projection = Arc::downgrade(projection);
            let maintainer = maintainer.clone();
            tokio::spawn(async move { maintainer.run(projection).await });
        }
    }
}

/// What computes projections: the server's session of now (unscoped, unmasked), the
/// catalog and the live `events`.
#[derive(Clone)]
pub(crate) struct Maintainer {
    pub(crate) base: SessionState,
    pub(crate) events: Arc<LiveTable>,
    pub(crate) catalog: Arc<QueryCatalog>,
}

impl Maintainer {
    async fn run(self, projection: std::sync::Weak<Projection>) {
        let mut full = true;
        loop {
            let Some(p) = projection.upgrade() else {
                return;
            };
            if !full {
                // Checked once a minute: a dropped warehouse ends the task.
                let woken =
                    tokio::time::timeout(std::time::Duration::from_secs(60), p.wake.notified())
                        .await
                        .is_ok();
                if !woken {
                    continue;
                }
            }
            // On a runtime of its own (one thread, large stacks: planning a view recurses
            // deeply), whatever runtime opened the warehouse; one thread so that the
            // work stays beside ingest and queries rather than in their way.
            let started = std::time::Instant::now();
            let (this, work) = (self.clone(), p.clone());
            let outcome = QueryExecutor::new(1)
                .run(async move { this.step(&work, full).await })
                .await
                .and_then(|done| done);
            if let Err(e) = outcome {
                tracing::error!(projection = %p.name, error = %e, "could not bring the projection up to date; its view is computed live until it is");
                // Start over from every event after a pause.
                *p.rows.write().expect("projection rows poisoned") = None;
                p.state().version = None;
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                full = true;
                continue;
            }
            full = false;
            // Under a stream of commits (a bulk load), one round per gap takes in
            // everything noted meanwhile instead of a round per commit, and the gap grows
            // with the round's cost: maintenance keeps to a tenth of one core, and ingest
            // keeps the rest (names read live meanwhile, as before projections).
            drop(p);
            tokio::time::sleep(ROUND_GAP.max(started.elapsed() * 9)).await;
        }
    }

    /// One round: every entity (`full`) or the ones noted since the last round.
    async fn step(&self, p: &Projection, full: bool) -> Result<()> {
        let (keys, retracted, target) = {
            let mut state = p.state();
            if !full && !state.has_work() {
                return Ok(());
            }
            state.busy = true;
            // Every commit noted so far must be in what it reads.
            let target = state.noted.max(state.published).max(self.events.version());
            (
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.retracted),
                target,
            )
        };
        let outcome = self.recompute(p, full, keys, retracted, target).await;
        let mut state = p.state();
        state.busy = false;
        outcome?;
        // Nothing noted meanwhile: every version published since touched none of its
        // events, so the rows reflect the newest.
        state.version = if state.has_work() {
            target
        } else {
            target.max(state.published)
        };
        let more = state.has_work();
        drop(state);
        if more {
            p.wake.notify_one();
        }
        Ok(())
    }

    async fn recompute(
        &self,
        p: &Projection,
        full: bool,
        mut keys: BTreeSet<String>,
        retracted: BTreeSet<String>,
        target: Option<u64>,
    ) -> Result<()> {
        let started = std::time::Instant::now();
        // The commits noted must be readable first (they are published right after).
        self.events
            .wait_for_version(target)
            .await
            .map_err(|source| Error::Execution { source })?;
        // Many entities at once (a bulk load) are computed again as a whole: cheaper than
        // filtering `events` by a list that long (which, beyond `live::MOST_PUSHED_LIST_ITEMS`,
        // is not even pushed into the scan).
        let full = full || keys.len() + retracted.len() > MOST_KEYS;
        if !full && !retracted.is_empty() {
            keys.extend(self.entities_of(p, &retracted).await?);
        }
        let full = full || keys.len() > MOST_KEYS;
        if !full && keys.is_empty() {
            return Ok(());
        }
        let computed = self
            .compute(p, (!full).then_some(&keys))
            .await
            .map_err(|source| Error::View {
                view: format!("{} (projection)", p.name),
                source,
            })?;
        let (schema, computed) = computed;
        let failed = |source| Error::Execution { source };
        // The rows in full batches of their own: a round keeps the old rows through a
        // filter and adds its own, which alone would leave the table in ever smaller
        // batches holding the buffers of rows replaced long ago (a filtered text view
        // keeps its buffers whole). Copying them costs about what the filter did.
        let mut rebuilt = BatchCoalescer::new(schema.clone(), BATCH_ROWS);
        if !full {
            let old = p.rows.read().expect("projection rows poisoned").clone();
            let Some(old) = old else {
                return Err(failed(datafusion::error::DataFusionError::Execution(
                    "the projection has no rows to update".into(),
                )));
            };
            keep_others(&old, &p.spec.key, &keys, &mut rebuilt)
                .await
                .map_err(failed)?;
        }
        for batch in computed {
            rebuilt.push_batch(batch).map_err(|e| failed(e.into()))?;
        }
        rebuilt
            .finish_buffered_batch()
            .map_err(|e| failed(e.into()))?;
        let batches: Vec<RecordBatch> =
            std::iter::from_fn(|| rebuilt.next_completed_batch()).collect();
        let rows = batches.iter().map(RecordBatch::num_rows).sum::<usize>();
        let table = MemTable::try_new(schema, vec![batches]).map_err(failed)?;
        p.install(table);
        tracing::debug!(projection = %p.name, full, entities = keys.len(), rows, ms = started.elapsed().as_millis() as u64, "projection updated");
        Ok(())
    }

    /// The view computed over the events of `keys` (all events when `None`).
    async fn compute(
        &self,
        p: &Projection,
        keys: Option<&BTreeSet<String>>,
    ) -> DfResult<(SchemaRef, Vec<RecordBatch>)> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::{LogicalPlanBuilder, col, lit};

        let state = crate::session::new_state(self.base.runtime_env().clone())
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let ctx = SessionContext::new_with_state(state);
        let live: Arc<dyn TableProvider> = self.events.clone();
        let mut plan = LogicalPlanBuilder::scan(events::TABLE, provider_as_source(live), None)?;
        let retraction = col(events::EVENT_TYPE).eq(lit("event.retracted"));
        let ours = col(events::EVENT_TYPE).like(lit(format!("{}%", p.spec.events_prefix)));
        let ours = match keys {
            Some(keys) => {
                ours.and(col(p.spec.key.as_str()).in_list(keys.iter().map(lit).collect(), false))
            }
            None => ours,
        };
        plan = plan.filter(ours.or(retraction))?;
        ctx.register_table(events::TABLE, Arc::new(ViewTable::new(plan.build()?, None)))?;
        // The views up to this one, over those events only (the ones it reads among them).
        for view in self.catalog.of_kind(QueryKind::View) {
            let sql = view
                .render(self.catalog.params())
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            ctx.sql(&sql).await?;
            if view.name == p.name {
                break;
            }
        }
        let df = ctx.table(p.name.as_str()).await?;
        let schema = df.schema().inner().clone();
        Ok((schema, df.collect().await?))
    }

    /// The entities of the retracted events that the projection reads.
    async fn entities_of(
        &self,
        p: &Projection,
        event_ids: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        use datafusion::logical_expr::{col, lit};
        let failed = |source| Error::Execution { source };
        let ctx = SessionContext::new_with_state(self.base.clone());
        let df = ctx
            .table(events::TABLE)
            .await
            .map_err(failed)?
            .filter(
                datafusion::logical_expr::cast(col(events::EVENT_ID), DataType::Utf8)
                    .in_list(event_ids.iter().map(lit).collect(), false)
                    .and(col(events::EVENT_TYPE).like(lit(format!("{}%", p.spec.events_prefix)))),
            )
            .map_err(failed)?
            .select_columns(&[p.spec.key.as_str()])
            .map_err(failed)?;
        let mut keys = BTreeSet::new();
        for batch in df.collect().await.map_err(failed)? {
            let column = cast(batch.column(0), &DataType::Utf8).map_err(|e| failed(e.into()))?;
            keys.extend(
                column
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_string),
            );
        }
        Ok(keys)
    }
}

/// The rows of `table` whose `key` is not one of `keys`, into `kept`.
async fn keep_others(
    table: &MemTable,
    key: &str,
    keys: &BTreeSet<String>,
    kept: &mut BatchCoalescer,
) -> DfResult<()> {
    for partition in &table.batches {
        for batch in partition.read().await.iter() {
            let column = cast(batch.column(batch.schema().index_of(key)?), &DataType::Utf8)?;
            let column = column.as_string::<i32>();
            let keep: BooleanArray = (0..column.len())
                .map(|i| Some(column.is_null(i) || !keys.contains(column.value(i))))
                .collect();
            kept.push_batch_with_filter(batch.clone(), &keep)?;
        }
    }
    Ok(())
}

/// A projected view's name in a session: its rows while they reflect every acknowledged
/// event, else its live computation (`live`, the view as planned in the same session).
#[derive(Debug)]
pub struct ProjectionSource {
    projection: Arc<Projection>,
    live: Arc<dyn TableProvider>,
    events: Arc<LiveTable>,
}

impl ProjectionSource {
    pub fn new(
        projection: Arc<Projection>,
        live: Arc<dyn TableProvider>,
        events: Arc<LiveTable>,
    ) -> Self {
        Self {
            projection,
            live,
            events,
        }
    }
}

#[async_trait]
impl TableProvider for ProjectionSource {
    fn schema(&self) -> SchemaRef {
        self.live.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match self.projection.rows_as_of(self.events.newest()) {
            Some(rows) if rows.schema() == self.schema() => {
                rows.scan(state, projection, filters, limit).await
            }
            _ => {
                crate::read_models::nested_scan(&self.live, state, projection, filters, limit).await
            }
        }
    }
}
