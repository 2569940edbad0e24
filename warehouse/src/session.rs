//! [`Warehouse`]: the DataFusion session over the Delta tables.
//!
//! A base `SessionState` is built once: the `events` table (a [`LiveTable`]), the JSON
//! functions, the statistics UDFs and every view of `queries/views/`. Each query gets a
//! cheap copy of it with its own memory pool, sharing the catalog and object stores.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{MemoryPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::DeltaTable;

use crate::access::{InScope, MaskPayload, PersonalFields, ReadAccess};
use crate::budget::{MemoryBudget, QueryPool};
use crate::events;
use crate::executor::QueryExecutor;
use crate::live::LiveTable;
use crate::members::{MemberDirectory, MemberHome};
use crate::orgs::{OrgDirectory, OrgNode};
use crate::projections::{Maintainer, ProjectionSource, Projections};
use crate::queries::{QueryCatalog, QueryKind};
use crate::read_models::{LIVE_SCHEMA, MODELS_TABLE, ModelSource, ModelsCatalogue, ReadModels};
use crate::sandbox::QueryBounds;
use crate::{Error, Result, StorageRoot};

pub struct Warehouse {
    root: StorageRoot,
    /// The object store every table of the root lives in (shared, so that `memory://`
    /// tables opened later see the same store).
    store: Arc<dyn deltalake::ObjectStore>,
    events: Arc<LiveTable>,
    base: SessionState,
    orgs: Arc<OrgDirectory>,
    members: Arc<MemberDirectory>,
    catalog: Arc<QueryCatalog>,
    /// What bounded work (analyst SQL, live `as_of` dashboards) may take together.
    bounds: QueryBounds,
    budget: Arc<MemoryBudget>,
    admission: Arc<tokio::sync::Semaphore>,
    /// Where bounded work (analyst SQL, live dashboards) runs: not the caller's runtime.
    executor: Arc<QueryExecutor>,
    /// The catalogue's personal fields, masked in readers' sessions.
    personal: Arc<PersonalFields>,
    /// One planned session per kind of reader (scope × masking × audit), built on first
    /// use and reused: planning the views and models takes longer than most queries.
    readers: std::sync::Mutex<HashMap<ReadAccess, Arc<tokio::sync::OnceCell<SessionState>>>>,
    /// Tables only admins read (the audit trail), registered in their sessions.
    admin_tables: std::sync::Mutex<Vec<(String, Arc<dyn TableProvider>)>>,
    /// The models' materialised tables, which readers' SQL reads by the model's name.
    read_models: Arc<ReadModels>,
    /// The views kept as tables from each commit's events (`people`, `orgs`, `meetings`).
    projections: Arc<Projections>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("root", &self.root)
            .finish()
    }
}

impl Warehouse {
    /// Opens (or creates) the tables under `root` and plans the views. Returns the
    /// `events` table handle too: the ingest writer owns it from here on and publishes
    /// every new version through [`Warehouse::publish`].
    pub async fn open(root: StorageRoot, catalog: QueryCatalog) -> Result<(Self, DeltaTable)> {
        let table = events::open_or_create(&root).await?;
        // The views read the typed payload columns: a table from before them gets
        // them first (once).
        let (table, _) = crate::migrate::typed_columns(table).await?;
        let provider = table.table_provider().await.map_err(|e| Error::View {
            view: events::TABLE.into(),
            source: e,
        })?;
        let live = Arc::new(LiveTable::new(provider, table.version()));

        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()
            .map_err(|e| Error::Execution { source: e })?;
        let state = new_state(runtime)?;
        table
            .update_datafusion_session(&state)
            .map_err(|e| Error::delta(events::TABLE, e))?;
        let ctx = SessionContext::new_with_state(state);
        ctx.register_table(events::TABLE, live.clone())
            .map_err(|e| Error::Execution { source: e })?;
        let read_models = Arc::new(ReadModels::default());
        let projections = Arc::new(Projections::of(&catalog)?);
        let now = Now {
            models: &read_models,
            projections: &projections,
            events: &live,
        };
        plan_queries(&ctx, &catalog, Views::Planned, Some(&now)).await?;
        let catalog = Arc::new(catalog);
        projections.spawn(Maintainer {
            base: ctx.state(),
            events: live.clone(),
            catalog: catalog.clone(),
        });
        let warehouse = Self {
            store: table.log_store().root_object_store(None),
            root,
            events: live,
            base: ctx.state(),
            orgs: Arc::new(OrgDirectory::default()),
            members: Arc::new(MemberDirectory::default()),
            catalog,
            bounds: QueryBounds::default(),
            budget: MemoryBudget::new(0),
            admission: Arc::new(tokio::sync::Semaphore::new(0)),
            executor: Arc::new(QueryExecutor::per_core()),
            personal: Arc::new(PersonalFields::default()),
            readers: Default::default(),
            admin_tables: Default::default(),
            read_models,
            projections,
        }
        .with_bounds(QueryBounds::default())?;
        warehouse.load_orgs().await?;
        Ok((warehouse, table))
    }

    /// The personal fields of the event catalogue, and the salt of pseudonyms: what a
    /// reader's [`Masking`](crate::access::Masking) applies to.
    pub fn with_personal_fields(mut self, fields: PersonalFields) -> Self {
        self.personal = Arc::new(fields);
        self
    }

    pub fn personal_fields(&self) -> &Arc<PersonalFields> {
        &self.personal
    }

    /// Registers a table that only admins' sessions see (e.g. the audit trail).
    pub fn add_admin_table(&self, name: &str, table: Arc<dyn TableProvider>) {
        self.admin_tables
            .lock()
            .expect("admin tables lock poisoned")
            .push((name.to_string(), table));
        // Sessions planned before it do not have it.
        self.readers.lock().expect("readers lock poisoned").clear();
    }

    /// Makes `provider` (the materialised table of model `name` at `version`, written by
    /// a refresh that finished at `refreshed_at`) what readers' SQL reads under the
    /// model's name (see [`crate::read_models`]). The first table of a model has
    /// readers' sessions planned again; later versions reach planned sessions as they are.
    pub fn publish_model(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        version: Option<u64>,
        refreshed_at: Option<DateTime<Utc>>,
    ) {
        if self
            .read_models
            .publish(name, provider, version, refreshed_at)
        {
            self.readers.lock().expect("readers lock poisoned").clear();
        }
    }

    /// The views kept as tables from each commit's events (see [`crate::projections`]):
    /// the writer notes what each commit touches.
    pub fn projections(&self) -> &Arc<Projections> {
        &self.projections
    }

    /// The published model tables.
    pub fn read_models(&self) -> &Arc<ReadModels> {
        &self.read_models
    }

    /// Whether `scope` is the top of the org tree (it holds every org, also those
    /// created later).
    pub fn covers_all(&self, scope: &str) -> bool {
        scope == crate::access::WHOLE_TREE
            || matches!(self.orgs.get(scope), Some(node) if node.parent.is_none())
    }

    /// The session state a reader with `access` queries in: `events` narrowed to the
    /// scope and masked for the role in the scan (see [`crate::access`]), every view and
    /// model planned over it (under `live.` too), each materialised model's table cut to
    /// the scope under the model's name (see [`crate::read_models`]), and the admin
    /// tables for admins. Planned once per kind of reader and reused.
    pub async fn reader_state(&self, access: &ReadAccess) -> Result<SessionState> {
        self.with_reader(access, SessionState::clone).await
    }

    /// The catalog list of the session of a reader with `access` (planned if need be),
    /// without a copy of the session: it tells whether a session built over the
    /// reader's (the Postgres wire's) is still current.
    pub async fn reader_catalog_list(
        &self,
        access: &ReadAccess,
    ) -> Result<Arc<dyn datafusion::catalog::CatalogProviderList>> {
        self.with_reader(access, |state| state.catalog_list().clone())
            .await
    }

    async fn with_reader<T>(
        &self,
        access: &ReadAccess,
        f: impl FnOnce(&SessionState) -> T,
    ) -> Result<T> {
        // Readers asking at once wait for one planning of their session.
        let cell = self
            .readers
            .lock()
            .expect("readers lock poisoned")
            .entry(access.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.plan_reader(access))
            .await
            .map(f)
    }

    async fn plan_reader(&self, access: &ReadAccess) -> Result<SessionState> {
        let state = new_state(self.base.runtime_env().clone())?;
        let ctx = SessionContext::new_with_state(state);
        // One filter for `events` and every model table: the scope's set of orgs and
        // members is then worked out once per change of the directories, not per table.
        let in_scope = (!self.covers_all(&access.scope)).then(|| {
            Arc::new(InScope::udf(
                &access.scope,
                self.orgs.clone(),
                self.members.clone(),
            ))
        });
        ctx.register_table(
            events::TABLE,
            self.reader_events(access, in_scope.as_ref())?,
        )
        .map_err(|e| Error::Execution { source: e })?;
        plan_queries(&ctx, &self.catalog, Views::Planned, None).await?;
        self.add_read_models(&ctx, in_scope.as_ref()).await?;
        if in_scope.is_none() {
            self.add_projections(&ctx, access).await?;
        }
        if access.admin {
            for (name, table) in self
                .admin_tables
                .lock()
                .expect("admin tables lock poisoned")
                .iter()
            {
                ctx.register_table(name.as_str(), table.clone())
                    .map_err(|e| Error::Execution { source: e })?;
            }
        }
        Ok(ctx.state())
    }

    /// Moves every view and model of the catalog, as planned live in `ctx`, to the
    /// `live` schema too; then answers each model with a table from that table (cut to
    /// the reader's scope) under its own name; and adds the `models` catalogue.
    async fn add_read_models(
        &self,
        ctx: &SessionContext,
        in_scope: Option<&Arc<ScalarUDF>>,
    ) -> Result<()> {
        use datafusion::catalog::MemorySchemaProvider;
        use datafusion::common::TableReference;
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::expr::ScalarFunction;
        use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col};
        let failed = |view: &str| {
            let view = view.to_string();
            move |source| Error::View {
                view: view.clone(),
                source,
            }
        };
        let catalog = ctx
            .catalog("dangjian")
            .expect("the session's default catalog");
        catalog
            .register_schema(LIVE_SCHEMA, Arc::new(MemorySchemaProvider::new()))
            .map_err(failed(LIVE_SCHEMA))?;
        let names = self
            .catalog
            .of_kind(QueryKind::View)
            .chain(self.catalog.models())
            .map(|q| q.name.clone());
        for name in names {
            let provider = ctx
                .table_provider(name.as_str())
                .await
                .map_err(failed(&name))?;
            ctx.register_table(
                TableReference::partial(LIVE_SCHEMA, name.as_str()),
                provider,
            )
            .map_err(failed(&name))?;
        }
        let mut from_table = Vec::new();
        for model in self.catalog.models() {
            let Some(read) = self.read_models.get(&model.name) else {
                continue;
            };
            let schema = read.table.schema();
            let has = |c: &str| schema.column_with_name(c).is_some();
            if in_scope.is_some() && !has("org_id") {
                // Cannot be cut to the scope: computed over the scope's events instead.
                continue;
            }
            let failed = failed(&model.name);
            let source: Arc<dyn TableProvider> = read.table.clone();
            let mut plan =
                LogicalPlanBuilder::scan(model.name.as_str(), provider_as_source(source), None)
                    .map_err(&failed)?;
            if let Some(in_scope) = in_scope {
                let member = if has("member_id") {
                    col("member_id")
                } else {
                    Expr::Literal(datafusion::common::ScalarValue::Utf8(None), None)
                };
                plan = plan
                    .filter(Expr::ScalarFunction(ScalarFunction::new_udf(
                        in_scope.clone(),
                        vec![col("org_id"), member],
                    )))
                    .map_err(&failed)?;
            }
            let plan = plan.build().map_err(&failed)?;
            ctx.deregister_table(model.name.as_str()).map_err(&failed)?;
            ctx.register_table(model.name.as_str(), Arc::new(ViewTable::new(plan, None)))
                .map_err(&failed)?;
            from_table.push(model.name.clone());
        }
        ctx.register_table(
            MODELS_TABLE,
            Arc::new(ModelsCatalogue::new(
                self.catalog.clone(),
                self.read_models.clone(),
                from_table,
                in_scope
                    .is_none()
                    .then(|| (self.projections.clone(), self.events.clone())),
            )),
        )
        .map_err(failed(MODELS_TABLE))?;
        Ok(())
    }

    /// For a reader of the whole tree: each projected view under its name reads the
    /// projection (while it is up to date, else the computation over every event — the
    /// reader's `events`), its personal columns masked for the reader's role as their
    /// payload fields would be. Its computation over the reader's own `events` stays
    /// `live.<view>` (registered by [`Self::add_read_models`]).
    async fn add_projections(&self, ctx: &SessionContext, access: &ReadAccess) -> Result<()> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::expr::ScalarFunction;
        use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col};
        let base = SessionContext::new_with_state(self.base.clone());
        for projection in self.projections.iter() {
            let name = projection.name.as_str();
            let failed = |source| Error::View {
                view: format!("{name} (projection)"),
                source,
            };
            let live = base
                .table_provider(datafusion::common::TableReference::partial(
                    LIVE_SCHEMA,
                    name,
                ))
                .await
                .map_err(failed)?;
            let source = Arc::new(ProjectionSource::new(
                projection.clone(),
                live,
                self.events.clone(),
            ));
            let schema = source.schema();
            let mut plan =
                LogicalPlanBuilder::scan(name, provider_as_source(source), None).map_err(failed)?;
            if !access.masking.is_clear() {
                let mut columns = Vec::new();
                for f in schema.fields() {
                    let masked = projection.spec.masked.iter().find(|(c, ..)| c == f.name());
                    let Some((column, event_type, field)) = masked else {
                        columns.push(col(f.name()));
                        continue;
                    };
                    let personal = self.personal.field(event_type, field).ok_or_else(|| {
                        Error::QueryFile {
                            file: format!("views ({name})"),
                            reason: format!(
                                "projection.masked: {event_type}.{field} is not a personal field \
                                 of the catalogue"
                            ),
                        }
                    })?;
                    let treatment = access.masking.treatment(personal.kind);
                    if treatment == crate::access::Treatment::Clear {
                        columns.push(col(f.name()));
                        continue;
                    }
                    let mask = Arc::new(crate::access::MaskValue::udf(
                        self.personal.clone(),
                        personal.kind,
                        treatment,
                    ));
                    let person = personal.person.unwrap_or(events::MEMBER_ID);
                    let value = Expr::ScalarFunction(ScalarFunction::new_udf(
                        mask,
                        vec![col(column.as_str()), col(person)],
                    ));
                    columns.push(
                        datafusion::logical_expr::cast(value, f.data_type().clone())
                            .alias(column.as_str()),
                    );
                }
                plan = plan.project(columns).map_err(failed)?;
            }
            let plan = plan.build().map_err(failed)?;
            ctx.deregister_table(name).map_err(failed)?;
            ctx.register_table(name, Arc::new(ViewTable::new(plan, None)))
                .map_err(failed)?;
        }
        Ok(())
    }

    /// `events` as a reader sees it: a plan over the live table (which is registered
    /// nowhere in their session) that keeps the scope's events and masks payloads.
    fn reader_events(
        &self,
        access: &ReadAccess,
        in_scope: Option<&Arc<ScalarUDF>>,
    ) -> Result<Arc<dyn TableProvider>> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::expr::ScalarFunction;
        use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col};
        let failed = |source| Error::View {
            view: "events (scoped)".into(),
            source,
        };
        let live: Arc<dyn TableProvider> = self.events.clone();
        let schema = live.schema();
        let mut plan = LogicalPlanBuilder::scan(events::TABLE, provider_as_source(live), None)
            .map_err(failed)?;
        if let Some(in_scope) = in_scope {
            plan = plan
                .filter(Expr::ScalarFunction(ScalarFunction::new_udf(
                    in_scope.clone(),
                    vec![col(events::ORG_ID), col(events::MEMBER_ID)],
                )))
                .map_err(failed)?;
        }
        if !access.masking.is_clear() {
            let mask = Arc::new(MaskPayload::udf(
                self.personal.clone(),
                access.masking.clone(),
            ));
            let columns = schema.fields().iter().map(|f| {
                if f.name() == events::CONTENT_HASH {
                    // A fingerprint of everything sent, personal fields included: a
                    // known hash function over a guessable phone number is a probe.
                    Expr::Literal(datafusion::common::ScalarValue::Int64(None), None)
                        .alias(events::CONTENT_HASH)
                } else if f.name() == events::PAYLOAD {
                    Expr::ScalarFunction(ScalarFunction::new_udf(
                        mask.clone(),
                        vec![
                            col(events::EVENT_TYPE),
                            col(events::MEMBER_ID),
                            col(events::PAYLOAD),
                        ],
                    ))
                    .alias(events::PAYLOAD)
                } else {
                    col(f.name())
                }
            });
            plan = plan.project(columns).map_err(failed)?;
        }
        let plan = plan.build().map_err(failed)?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }

    /// Sets what bounded work may take: per query and for the whole process, and where
    /// queries spill what outgrows their memory pool (an error if that directory cannot
    /// be made).
    pub fn with_bounds(mut self, bounds: QueryBounds) -> Result<Self> {
        let disk = match &bounds.spill_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::InvalidStorageUrl {
                    url: dir.display().to_string(),
                    reason: format!("sql.spill_dir: cannot create the directory: {e}"),
                })?;
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![dir.clone()]))
                    .with_max_temp_directory_size(bounds.spill_max_bytes)
            }
            None => DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        };
        let runtime = RuntimeEnvBuilder::new()
            .with_disk_manager_builder(disk)
            .build_arc()
            .map_err(|e| Error::Execution { source: e })?;
        self.base = SessionStateBuilder::new_from_existing(self.base.clone())
            .with_runtime_env(runtime)
            .build();
        self.readers.lock().expect("readers lock poisoned").clear();
        self.budget = MemoryBudget::new(bounds.total_memory);
        self.admission = Arc::new(tokio::sync::Semaphore::new(bounds.max_concurrent.max(1)));
        self.bounds = bounds;
        Ok(self)
    }

    pub fn bounds(&self) -> &QueryBounds {
        &self.bounds
    }

    /// A place among the bounded queries running at once (`max_concurrent`); waits at
    /// most `queue_wait` for one, then answers [`Error::Busy`]. Hold the permit while
    /// the work runs.
    pub async fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let wait = self.bounds.queue_wait;
        match tokio::time::timeout(wait, self.admission.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::Busy {
                reason: format!(
                    "{} queries are running, the most at once; none finished within {} ms",
                    self.bounds.max_concurrent,
                    wait.as_millis()
                ),
            }),
        }
    }

    /// The runtime that bounded work runs on (see [`crate::executor`]).
    pub fn executor(&self) -> &Arc<QueryExecutor> {
        &self.executor
    }

    /// Bytes the bounded queries hold now (of [`QueryBounds::total_memory`]).
    pub fn query_memory_used(&self) -> usize {
        self.budget.used()
    }

    pub fn root(&self) -> &StorageRoot {
        &self.root
    }

    /// Opens another Delta table under the root (a model, the run history); a table
    /// not created yet comes back without a version.
    pub async fn open_table(&self, url: &url::Url) -> Result<DeltaTable> {
        let name = self.root.display_name(url);
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path).map_err(|e| Error::InvalidStorageUrl {
                url: url.to_string(),
                reason: format!("cannot create directory: {e}"),
            })?;
        }
        let mut table = deltalake::DeltaTableBuilder::from_url(url.clone())
            .map(|b| b.with_storage_backend(self.store.clone(), url.clone()))
            .and_then(|b| b.build())
            .map_err(|e| Error::delta(&name, e))?;
        if !crate::events::is_table(&table, &name).await? {
            return Ok(table);
        }
        match table.load().await {
            Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(Error::delta(&name, e)),
        }
    }

    pub fn orgs(&self) -> &Arc<OrgDirectory> {
        &self.orgs
    }

    /// Where each registered person belongs now (for the write rules).
    pub fn members(&self) -> &Arc<MemberDirectory> {
        &self.members
    }

    pub fn catalog(&self) -> &Arc<QueryCatalog> {
        &self.catalog
    }

    /// The newest `events` version a query may be asked to see (acknowledged to a
    /// client, or published).
    pub fn events_newest(&self) -> Option<u64> {
        self.events.newest()
    }

    /// The `events` version that SQL sees now.
    pub fn events_version(&self) -> Option<u64> {
        self.events.version()
    }

    /// Marks `version` of `events` as acknowledged to clients: queries started from now
    /// on wait until it is [published](Self::publish) (read your writes).
    pub fn acknowledge(&self, version: u64) {
        self.events.acknowledge(version);
    }

    /// Makes a newly committed version of `events` visible to every new query.
    pub async fn publish(&self, table: &DeltaTable) -> Result<()> {
        let provider = table.table_provider().await.map_err(|e| Error::View {
            view: events::TABLE.into(),
            source: e,
        })?;
        self.events.publish(provider, table.version());
        self.projections.published(table.version());
        Ok(())
    }

    /// A session for internal work (models, rules, start-up): no memory bound.
    pub fn context(&self) -> SessionContext {
        self.context_with_pool(Arc::new(UnboundedMemoryPool::default()))
    }

    /// Runs an internal query (no bounds) and answers its rows as JSON objects.
    pub async fn rows(&self, sql: &str) -> Result<Vec<serde_json::Value>> {
        Self::rows_in(&self.context(), sql).await
    }

    /// Runs an internal query and reads each row into a `T` whose fields are named as
    /// the query's columns (dates as `YYYY-MM-DD` text, timestamps as RFC 3339). A row
    /// that does not fit is an error naming the query and the field, not a row skipped.
    pub async fn records<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        self.rows(sql)
            .await?
            .into_iter()
            .map(|row| {
                serde_json::from_value(row).map_err(|e| Error::Decode {
                    query: sql.split_whitespace().collect::<Vec<_>>().join(" "),
                    into: std::any::type_name::<T>(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// How a query in `state` (the base, or a reader's) runs with its memory bounded to
    /// `limit` bytes: the runtime (a pool of its own; past it, operators spill or fail
    /// with `ResourcesExhausted`) and the session settings to run with. The state itself
    /// is planned in as it is: rebuilding a session state per query (its function
    /// registries) cost more than many small queries take.
    pub fn bounded_runtime(
        &self,
        state: &SessionState,
        limit: usize,
    ) -> (Arc<RuntimeEnv>, SessionConfig) {
        let runtime = with_pool(
            state.runtime_env(),
            Arc::new(QueryPool::new(limit, self.budget.clone())),
        );
        let mut config = state.config().clone();
        // A sort keeps this much aside to merge what it spilled (10 MiB by default): a
        // share of the pool, so that a small pool still spills instead of failing.
        config.options_mut().execution.sort_spill_reservation_bytes = (limit / 32).min(10 << 20);
        (runtime, config)
    }

    fn context_with_pool(&self, pool: Arc<dyn MemoryPool>) -> SessionContext {
        Self::context_over(&self.base, pool)
    }

    /// A session over `state` (the base, or a reader's) with its own memory pool.
    pub(crate) fn context_over(state: &SessionState, pool: Arc<dyn MemoryPool>) -> SessionContext {
        let state = SessionStateBuilder::new_from_existing(state.clone())
            .with_runtime_env(with_pool(state.runtime_env(), pool))
            .build();
        SessionContext::new_with_state(state)
    }

    /// A session that sees the warehouse as it was at `as_of`: only events recorded
    /// (committed) at or before that instant, each view of the catalog computed once over
    /// them (as in [`Self::batch_context`]: a dashboard's panels then share the parsed
    /// views instead of each parsing the events again) and the models planned over those.
    /// For "what did the cockpit show then" questions, not for the hot path.
    pub async fn as_of_context(&self, as_of: DateTime<Utc>) -> Result<SessionContext> {
        // Bounded like an analyst's query: a live answer is asked for by a request.
        let runtime = with_pool(
            self.base.runtime_env(),
            Arc::new(QueryPool::new(
                self.bounds.live_memory_limit,
                self.budget.clone(),
            )),
        );
        // The literal is cast to the column's type, `Timestamp(µs, UTC)`.
        let instant = as_of.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        self.context_of_events(
            runtime,
            &format!("recorded_at <= '{instant}'"),
            Views::Computed,
        )
        .await
    }

    /// A session for a batch of queries over one moment — a refresh of every model, a
    /// run of every warning rule: each view of `queries/views/` is computed **once**
    /// into memory, and the models are planned over those results. Otherwise every
    /// model would read the events and parse their JSON payloads anew for each view it
    /// uses. `live_events` itself (every column of every live event) stays a view over
    /// the table; the views derived from it hold parsed, narrower rows.
    pub async fn batch_context(&self) -> Result<SessionContext> {
        self.context_of_now(Views::Computed).await
    }

    /// A session for refreshing `model` alone: as [`Self::batch_context`], but only the
    /// views the model reads more than once (directly, through other views, or through
    /// another model's computation) are computed, each once — the org ancestry of
    /// `member_score_distribution` no longer plans `orgs` over every event three times —
    /// and the rest stay planned, where filters and projections reach into them. The
    /// scheduler refreshes most models alone, at their own times.
    pub async fn batch_context_for(&self, model: &str) -> Result<SessionContext> {
        let read = self
            .catalog
            .read_by(model)
            .into_iter()
            .filter(|(_, times)| *times > 1)
            .map(|(view, _)| view)
            .collect();
        self.context_of_now(Views::ComputedOnly(read)).await
    }

    /// A session over every event as of now, its views registered as `views` says and
    /// its models reading each other's tables (see [`plan_queries`]).
    async fn context_of_now(&self, views: Views) -> Result<SessionContext> {
        let state = new_state(self.base.runtime_env().clone())?;
        let ctx = SessionContext::new_with_state(state);
        ctx.register_table(events::TABLE, self.events.clone())
            .map_err(|e| Error::Execution { source: e })?;
        let now = Now {
            models: &self.read_models,
            projections: &self.projections,
            events: &self.events,
        };
        plan_queries(&ctx, &self.catalog, views, Some(&now)).await?;
        Ok(ctx)
    }

    /// A session for the warning rules evaluated at `as_of`: as [`Self::batch_context`]
    /// (each view computed once), over the events that had occurred by `as_of` — and every
    /// retraction, whenever made, as on any other day. A rule then asks about the
    /// organisation as it stood at that instant (who was a member, in which branch, at
    /// which stage; which orgs existed) without repeating `occurred_at <= as_of` in its
    /// predicates: `converted_at IS NULL` means "not converted by then".
    pub async fn rules_context(&self, as_of: DateTime<Utc>) -> Result<SessionContext> {
        // Whole seconds, as the rules' `${as_of}` is written.
        let instant = as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.context_of_events(
            self.base.runtime_env().clone(),
            &format!("occurred_at <= '{instant}' OR event_type = 'event.retracted'"),
            Views::Computed,
        )
        .await
    }

    /// A session whose `events` are the table's rows that pass `filter` (SQL over the
    /// table's columns), with the query catalog planned (or its views computed) over them.
    async fn context_of_events(
        &self,
        runtime: Arc<RuntimeEnv>,
        filter: &str,
        views: Views,
    ) -> Result<SessionContext> {
        let ctx = SessionContext::new_with_state(new_state(runtime)?);
        ctx.register_table("events_all", self.events.clone())
            .map_err(|e| Error::Execution { source: e })?;
        ctx.sql(&format!(
            "CREATE VIEW {} AS SELECT * FROM events_all WHERE {filter}",
            events::TABLE
        ))
        .await
        .map_err(|source| Error::View {
            view: format!("events WHERE {filter}"),
            source,
        })?;
        plan_queries(&ctx, &self.catalog, views, None).await?;
        Ok(ctx)
    }

    /// Runs an internal query (no bounds) in the session of a reader with `access`
    /// (e.g. the warnings list a caller asks for), answering its rows as JSON objects.
    pub async fn rows_as(
        self: &Arc<Self>,
        access: &ReadAccess,
        sql: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let (this, access, sql) = (self.clone(), access.clone(), sql.to_string());
        self.executor
            .run(async move {
                let state = this.reader_state(&access).await?;
                let ctx = Self::context_over(&state, Arc::new(UnboundedMemoryPool::default()));
                Self::rows_in(&ctx, &sql).await
            })
            .await?
    }

    /// Runs `sql` in `ctx` (e.g. a [`Self::batch_context`]) and answers its rows as
    /// JSON objects.
    pub async fn rows_in(ctx: &SessionContext, sql: &str) -> Result<Vec<serde_json::Value>> {
        let batches = ctx
            .sql(sql)
            .await
            .map_err(|e| Error::Execution { source: e })?
            .collect()
            .await
            .map_err(|e| Error::Execution { source: e })?;
        let rows =
            crate::json::rows_json(&batches).map_err(|e| Error::Execution { source: e.into() })?;
        Ok(match rows {
            serde_json::Value::Array(rows) => rows,
            _ => Vec::new(),
        })
    }

    /// Reads the org tree from the `orgs` view (current names, parents): at start-up, and
    /// again for the changes an `org.created` alone does not tell (renames, retractions).
    /// An org created while the view is read is kept (see [`OrgDirectory::reload`]).
    pub async fn load_orgs(&self) -> Result<()> {
        self.orgs.reload(self.read_orgs()).await
    }

    async fn read_orgs(&self) -> Result<HashMap<String, OrgNode>> {
        let ctx = self.context();
        let batches = ctx
            .sql("SELECT org_id, parent_id, name, kind FROM orgs")
            .await
            .map_err(|source| Error::View {
                view: "orgs".into(),
                source,
            })?
            .collect()
            .await
            .map_err(|e| Error::Execution { source: e })?;
        let mut nodes = HashMap::new();
        for batch in batches {
            let cols: Vec<_> = (0..4)
                .map(|i| {
                    datafusion::arrow::compute::cast(
                        batch.column(i),
                        &datafusion::arrow::datatypes::DataType::Utf8,
                    )
                })
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Execution { source: e.into() })?;
            let (id, parent, name, kind) = (
                cols[0].as_string::<i32>(),
                cols[1].as_string::<i32>(),
                cols[2].as_string::<i32>(),
                cols[3].as_string::<i32>(),
            );
            for row in 0..batch.num_rows() {
                nodes.insert(
                    id.value(row).to_string(),
                    OrgNode {
                        parent: (!parent.is_null(row)).then(|| parent.value(row).to_string()),
                        name: name.value(row).to_string(),
                        kind: kind.value(row).to_string(),
                    },
                );
            }
        }
        // The whole tree at once: an org whose creation was retracted is gone from it,
        // as from the view.
        Ok(nodes)
    }

    /// Reads where each person belongs from the `people` view: when the ingest writer
    /// starts (it keeps the directory current from then on; read-only commands need
    /// none of it), and again after a retraction. A catalogue without that view leaves
    /// the directory empty, and the member write rules with it.
    pub async fn load_members(&self) -> Result<()> {
        if !self
            .catalog
            .of_kind(QueryKind::View)
            .any(|v| v.name == "people")
        {
            tracing::warn!("no `people` view: writes are checked by their org only");
            return Ok(());
        }
        self.members.reload(self.read_members()).await
    }

    async fn read_members(&self) -> Result<HashMap<String, MemberHome>> {
        let rows = self
            .rows(
                "SELECT member_id, org_id, registered_at, transferred_in_at, transferred_out_at, \
                 left_at FROM people WHERE member_id IS NOT NULL AND org_id IS NOT NULL",
            )
            .await?;
        let time = |row: &serde_json::Value, key: &str| {
            row[key]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let mut homes = HashMap::with_capacity(rows.len());
        for row in &rows {
            let (Some(member), Some(org)) = (row["member_id"].as_str(), row["org_id"].as_str())
            else {
                continue;
            };
            let transferred_in_at = time(row, "transferred_in_at");
            let since = match (time(row, "registered_at"), transferred_in_at) {
                (Some(r), Some(t)) => r.max(t),
                (r, t) => r.or(t).unwrap_or_default(),
            };
            homes.insert(
                member.to_string(),
                MemberHome {
                    org_id: org.to_string(),
                    since,
                    transferred_in_at,
                    transferred_out_at: time(row, "transferred_out_at"),
                    left_at: time(row, "left_at"),
                },
            );
        }
        Ok(homes)
    }
}

/// The runtime `base` is (its disk for spilling, caches, object stores) with a memory
/// pool of its own: how a query or session is bounded apart from the others.
fn with_pool(base: &RuntimeEnv, pool: Arc<dyn MemoryPool>) -> Arc<RuntimeEnv> {
    Arc::new(RuntimeEnv {
        memory_pool: pool,
        disk_manager: base.disk_manager.clone(),
        cache_manager: base.cache_manager.clone(),
        object_store_registry: base.object_store_registry.clone(),
    })
}

/// A fresh session state (its own catalog) with the functions analysts get: the JSON
/// functions and the statistics aggregates.
pub(crate) fn new_state(runtime: Arc<RuntimeEnv>) -> Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(session_config())
        .with_runtime_env(runtime)
        .build();
    datafusion_functions_json::register_all(&mut state)
        .map_err(|e| Error::Execution { source: e })?;
    crate::stats::register(&mut state).map_err(|e| Error::Execution { source: e })?;
    crate::calendar::register(&mut state).map_err(|e| Error::Execution { source: e })?;
    crate::bounded::register(&mut state).map_err(|e| Error::Execution { source: e })?;
    // `version()` names the product, not the engine, its version and the platform.
    let version = datafusion::logical_expr::create_udf(
        "version",
        vec![],
        datafusion::arrow::datatypes::DataType::Utf8,
        datafusion::logical_expr::Volatility::Immutable,
        Arc::new(|_| {
            Ok(datafusion::logical_expr::ColumnarValue::Scalar(
                datafusion::common::ScalarValue::Utf8(Some("dangjian".into())),
            ))
        }),
    );
    datafusion::execution::FunctionRegistry::register_udf(&mut state, Arc::new(version))
        .map_err(|e| Error::Execution { source: e })?;
    Ok(state)
}

/// How [`plan_queries`] registers the views of `queries/views/`.
#[derive(Clone, PartialEq, Eq)]
enum Views {
    /// As views: every query that reads one plans it anew over `events`.
    Planned,
    /// Computed once into memory right after being planned (all but `live_events`, which
    /// is every live event), so the views and models after them read the results.
    Computed,
    /// Only these computed, the others planned (the views one model reads).
    ComputedOnly(BTreeSet<String>),
}

impl Views {
    fn computes(&self, view: &str) -> bool {
        view != "live_events"
            && match self {
                Views::Planned => false,
                Views::Computed => true,
                Views::ComputedOnly(names) => names.contains(view),
            }
    }
}

/// What the server's own sessions of now read besides computations: the models'
/// tables and the projections.
struct Now<'a> {
    models: &'a Arc<ReadModels>,
    projections: &'a Arc<Projections>,
    events: &'a Arc<LiveTable>,
}

/// Plans the views of `queries/views/`, then every cockpit model as a live view named
/// after it (so analysts can query `dues_monthly` directly; the scheduler materialises
/// the ones marked so), over whatever `events` means in `ctx`.
///
/// With `now` (the server's own sessions of "now": the base session and a batch of
/// refreshes), a projected view (`people`, `orgs`) is its [`ProjectionSource`] under its
/// name and its computation `live.<name>`; each model's computation is `live.<name>` and
/// its own name a [`ModelSource`]: a model that reads another (`member_score_distribution`
/// reads `member_score`) reads that one's table once it has been refreshed. Readers'
/// sessions and sessions of another instant (`as_of`, the rules) pass `None`: every name
/// computes.
async fn plan_queries(
    ctx: &SessionContext,
    catalog: &QueryCatalog,
    views: Views,
    now: Option<&Now<'_>>,
) -> Result<()> {
    if now.is_some() {
        ctx.catalog("dangjian")
            .expect("the session's default catalog")
            .register_schema(
                LIVE_SCHEMA,
                Arc::new(datafusion::catalog::MemorySchemaProvider::new()),
            )
            .map_err(|source| Error::Execution { source })?;
    }
    for view in catalog.of_kind(QueryKind::View) {
        let failed = |source| Error::View {
            view: view.path.clone(),
            source,
        };
        ctx.sql(&view.render(catalog.params())?)
            .await
            .map_err(failed)?;
        if let Some((now, projection)) =
            now.and_then(|now| Some((now, now.projections.get(&view.name)?)))
        {
            let live = ctx
                .table_provider(view.name.as_str())
                .await
                .map_err(failed)?;
            ctx.deregister_table(view.name.as_str()).map_err(failed)?;
            ctx.register_table(
                datafusion::common::TableReference::partial(LIVE_SCHEMA, view.name.as_str()),
                live.clone(),
            )
            .map_err(failed)?;
            ctx.register_table(
                view.name.as_str(),
                Arc::new(ProjectionSource::new(
                    projection.clone(),
                    live,
                    now.events.clone(),
                )),
            )
            .map_err(failed)?;
        }
        if views.computes(&view.name) {
            let df = ctx.table(view.name.as_str()).await.map_err(failed)?;
            let schema = df.schema().inner().clone();
            let batches = df.collect().await.map_err(failed)?;
            let table = MemTable::try_new(schema, vec![batches]).map_err(failed)?;
            ctx.deregister_table(view.name.as_str()).map_err(failed)?;
            ctx.register_table(view.name.as_str(), Arc::new(table))
                .map_err(failed)?;
        }
    }
    for model in catalog.models() {
        let failed = |source| Error::View {
            view: model.path.clone(),
            source,
        };
        let Some(now) = now else {
            let sql = format!(
                "CREATE VIEW {} AS {}",
                model.name,
                model.render(catalog.params())?
            );
            ctx.sql(&sql).await.map_err(failed)?;
            continue;
        };
        let computation =
            datafusion::common::TableReference::partial(LIVE_SCHEMA, model.name.as_str());
        let sql = format!(
            "CREATE VIEW {computation} AS {}",
            model.render(catalog.params())?
        );
        ctx.sql(&sql).await.map_err(failed)?;
        let live = ctx.table_provider(computation).await.map_err(failed)?;
        ctx.register_table(
            model.name.as_str(),
            Arc::new(ModelSource::new(&model.name, live, now.models.clone())),
        )
        .map_err(failed)?;
    }
    Ok(())
}

fn session_config() -> SessionConfig {
    SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("dangjian", "public")
        .with_create_default_catalog_and_schema(true)
}
