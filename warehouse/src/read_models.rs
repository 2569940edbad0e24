//! Read models: the materialised model tables, as readers' SQL sees them.
//!
//! The scheduler refreshes each cockpit model into a Delta table of its own
//! (`models/<name>/`, see `dashboards::models`). Once a model has a table, a reader's
//! SQL answers `SELECT … FROM attendance_rates` from that table — a few thousand
//! computed rows — instead of computing the model again from every event. What each
//! name means in a reader's session:
//!
//! | name | reads |
//! |---|---|
//! | `attendance_rates` (a model with a table) | its table, as of its last refresh, cut to the reader's scope |
//! | `attendance_rates` (a model never refreshed) | the live computation, as `live.attendance_rates` |
//! | `live.attendance_rates`, `live.people`, … | the live computation over the reader's `events` |
//! | `people`, `orgs`, `meetings` (projections, see [`crate::projections`]) | the projection while it is up to date (readers of the whole tree, masked for their role), else live |
//! | `member_months`, … (other views) | the live computation |
//! | `models` | one row per model and projection: whether it reads a table, its version and `refreshed_at` |
//!
//! A table is cut to the scope by its rows' `org_id` (and `member_id`, where it has one:
//! a transferred member's rows follow them, as their events do); a model without an
//! `org_id` column is answered from its table only to readers of the whole tree, and
//! live (over their scoped events) to everyone else. Models hold no personal fields
//! (only ids), so masking has nothing more to do here.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::TimestampMicrosecondArray;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::Session;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::live::LiveTable;
use crate::projections::Projections;
use crate::queries::{QueryCatalog, QueryKind};

/// The name of the catalogue table of models in readers' sessions.
pub const MODELS_TABLE: &str = "models";
/// The schema of the live computations in readers' sessions.
pub const LIVE_SCHEMA: &str = "live";

/// A model's table as readers see it now.
#[derive(Debug, Clone)]
pub struct ReadModel {
    /// Always reads the newest published version (planned sessions follow refreshes).
    pub table: Arc<LiveTable>,
    pub version: Option<u64>,
    /// When the refresh that wrote `version` finished.
    pub refreshed_at: Option<DateTime<Utc>>,
}

/// The published model tables, by model name.
#[derive(Debug, Default)]
pub struct ReadModels {
    models: RwLock<BTreeMap<String, ReadModel>>,
}

impl ReadModels {
    /// Makes `provider` (the model's table at `version`) what readers of `name` see.
    /// Answers whether readers' sessions must be planned again: the model had no table
    /// yet, or its columns changed (the query file did).
    pub fn publish(
        &self,
        name: &str,
        provider: Arc<dyn TableProvider>,
        version: Option<u64>,
        refreshed_at: Option<DateTime<Utc>>,
    ) -> bool {
        let mut models = self.models.write().expect("read models lock poisoned");
        if let Some(model) = models.get_mut(name) {
            if model.table.schema() == provider.schema() {
                if version >= model.version {
                    model.table.publish(provider, version);
                    model.version = version;
                    model.refreshed_at = refreshed_at.or(model.refreshed_at);
                }
                return false;
            }
        }
        models.insert(
            name.to_string(),
            ReadModel {
                table: Arc::new(LiveTable::new(provider, version)),
                version,
                refreshed_at,
            },
        );
        true
    }

    pub fn get(&self, name: &str) -> Option<ReadModel> {
        self.models
            .read()
            .expect("read models lock poisoned")
            .get(name)
            .cloned()
    }
}

/// The `models` table: every cockpit model of the catalog, whether SQL reads it from its
/// table (`source = 'table'`) or computes it (`'live'`), and the table's version and
/// refresh time. Built at each scan, so it is current in sessions planned long ago.
#[derive(Debug)]
pub struct ModelsCatalogue {
    catalog: Arc<QueryCatalog>,
    models: Arc<ReadModels>,
    /// Models whose name reads their table in this session.
    from_table: Vec<String>,
    /// The projections, for a session whose projected views read them (readers of the
    /// whole tree), with the `events` they follow.
    projections: Option<(Arc<Projections>, Arc<LiveTable>)>,
    schema: SchemaRef,
}

impl ModelsCatalogue {
    pub fn new(
        catalog: Arc<QueryCatalog>,
        models: Arc<ReadModels>,
        from_table: Vec<String>,
        projections: Option<(Arc<Projections>, Arc<LiveTable>)>,
    ) -> Self {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("title", DataType::Utf8, true),
            Field::new("source", DataType::Utf8, false),
            Field::new("materialised", DataType::Boolean, false),
            Field::new("version", DataType::Int64, true),
            Field::new(
                "refreshed_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("live_name", DataType::Utf8, false),
        ]));
        Self {
            catalog,
            models,
            from_table,
            projections,
            schema,
        }
    }

    fn batch(&self) -> DfResult<RecordBatch> {
        /// One row of the catalogue.
        struct Row<'a> {
            name: &'a str,
            kind: &'static str,
            title: Option<&'a str>,
            /// Read from its table now.
            table: bool,
            materialised: bool,
            version: Option<u64>,
            refreshed_at: Option<DateTime<Utc>>,
        }
        let mut rows = Vec::new();
        for m in self.catalog.models() {
            let read = self
                .from_table
                .contains(&m.name)
                .then(|| self.models.get(&m.name))
                .flatten();
            rows.push(Row {
                name: &m.name,
                kind: match m.kind {
                    QueryKind::Stat => "stat",
                    _ => "metric",
                },
                title: m.get("title"),
                table: read.is_some(),
                materialised: m.materialise(),
                version: read.as_ref().and_then(|t| t.version),
                refreshed_at: read.as_ref().and_then(|t| t.refreshed_at),
            });
        }
        for view in self.catalog.of_kind(QueryKind::View) {
            let Some((projection, events)) = self
                .projections
                .as_ref()
                .and_then(|(all, events)| Some((all.get(&view.name)?, events)))
            else {
                continue;
            };
            let current = projection.rows_as_of(events.newest()).is_some();
            rows.push(Row {
                name: &view.name,
                kind: "projection",
                title: view.get("title"),
                table: current,
                materialised: true,
                // The `events` version its rows reflect; they have no refresh time,
                // being kept up to date with every commit.
                version: projection.version(),
                refreshed_at: None,
            });
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.name))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.title))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| if r.table { "table" } else { "live" }),
            )),
            Arc::new(BooleanArray::from_iter(
                rows.iter().map(|r| Some(r.materialised)),
            )),
            Arc::new(Int64Array::from_iter(
                rows.iter().map(|r| r.version.map(|v| v as i64)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter(
                    rows.iter()
                        .map(|r| r.refreshed_at.map(|t| t.timestamp_micros())),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| format!("{LIVE_SCHEMA}.{}", r.name)),
            )),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

#[async_trait]
impl TableProvider for ModelsCatalogue {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
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
        MemTable::try_new(self.schema.clone(), vec![vec![self.batch()?]])?
            .scan(state, projection, filters, limit)
            .await
    }
}

/// A model as the server's own sessions read it from **other** models (a model refresh,
/// a batch of refreshes): its table once it has one, else its live computation. So
/// `member_score_distribution`, refreshed after `member_score`, reads the few thousand
/// rows just written instead of computing every member's year again. The model's own
/// computation stays under `live.<name>`, which is what a refresh of it reads.
///
/// The table is chosen at each scan, so a session planned before a refresh reads the
/// refreshed table. Columns are matched by name and cast to the computation's types
/// (Delta may hand back a string column as a view type); a table that lacks a column
/// (written by an older query file) is passed over for the computation.
#[derive(Debug)]
pub struct ModelSource {
    name: String,
    live: Arc<dyn TableProvider>,
    models: Arc<ReadModels>,
}

impl ModelSource {
    pub fn new(name: &str, live: Arc<dyn TableProvider>, models: Arc<ReadModels>) -> Self {
        Self {
            name: name.to_string(),
            live,
            models,
        }
    }
}

/// A view's computation (`live`, a view of the session), planned physically inside the
/// plan of the query that reads it (a view's scan plans its whole query) — the fallback
/// of [`ModelSource`] and of a projection that is not up to date. That query's optimizer
/// then runs over this subtree once more, and its join reordering may swap a hash join
/// of it, which DataFusion refuses once the join has built its dynamic filter ("Cannot
/// swap HashJoinExec inputs after dynamic filters have been constructed"; seen under
/// load on panels of models not refreshed yet). So the subtree is planned without join
/// dynamic filters; the outer optimizer adds them after its reordering.
pub(crate) async fn nested_scan(
    live: &Arc<dyn TableProvider>,
    state: &dyn Session,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
        return live.scan(state, projection, filters, limit).await;
    };
    let mut nested = state.clone();
    let optimizer = &mut nested.config_mut().options_mut().optimizer;
    optimizer.enable_join_dynamic_filter_pushdown = false;
    live.scan(&nested, projection, filters, limit).await
}

#[async_trait]
impl TableProvider for ModelSource {
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
        use datafusion::physical_expr::PhysicalExpr;
        use datafusion::physical_expr::expressions::{Column, cast};
        use datafusion::physical_plan::projection::ProjectionExec;

        let schema = self.schema();
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..schema.fields().len()).collect());
        let table = self.models.get(&self.name).and_then(|read| {
            let stored = read.table.schema();
            let indices = wanted
                .iter()
                .map(|&i| stored.index_of(schema.field(i).name()).ok())
                .collect::<Option<Vec<usize>>>()?;
            Some((read.table, indices))
        });
        let Some((table, indices)) = table else {
            return nested_scan(&self.live, state, projection, filters, limit).await;
        };
        let input = table.scan(state, Some(&indices), &[], limit).await?;
        let input_schema = input.schema();
        let exprs = wanted
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let field = schema.field(i);
                let column: Arc<dyn PhysicalExpr> =
                    Arc::new(Column::new(input_schema.field(k).name(), k));
                let expr = if input_schema.field(k).data_type() == field.data_type() {
                    column
                } else {
                    cast(column, &input_schema, field.data_type().clone())?
                };
                Ok((expr, field.name().clone()))
            })
            .collect::<DfResult<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, input)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
    use datafusion::prelude::SessionContext;

    fn hash_joins(plan: &Arc<dyn ExecutionPlan>, found: &mut Vec<Arc<dyn ExecutionPlan>>) {
        if plan.downcast_ref::<HashJoinExec>().is_some() {
            found.push(plan.clone());
        }
        for child in plan.children() {
            hash_joins(child, found);
        }
    }

    /// A model read before its first refresh is planned inside the reading query's plan,
    /// whose optimizer may still reorder its joins: none may carry a dynamic filter yet.
    #[tokio::test]
    async fn a_live_model_leaves_its_joins_reorderable() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE a AS SELECT * FROM (VALUES (1, 'x'), (2, 'y'), (3, 'z')) AS t(k, v)")
            .await
            .unwrap();
        ctx.sql("CREATE TABLE b AS SELECT * FROM (VALUES (1, 10), (3, 30)) AS t(k, w)")
            .await
            .unwrap();
        ctx.sql("CREATE VIEW m AS SELECT a.k, a.v, b.w FROM a JOIN b ON a.k = b.k")
            .await
            .unwrap();
        let live = ctx.table_provider("m").await.unwrap();
        let source = ModelSource::new("m", live.clone(), Arc::new(ReadModels::default()));
        let state = ctx.state();

        let mut joins = Vec::new();
        let plan = source.scan(&state, None, &[], None).await.unwrap();
        hash_joins(&plan, &mut joins);
        assert!(!joins.is_empty(), "the model's plan has its hash join");
        for join in &joins {
            let join = join.downcast_ref::<HashJoinExec>().unwrap();
            join.swap_inputs(PartitionMode::CollectLeft)
                .expect("the join can still be swapped");
        }

        // The plain view scan is what used to be used, and it cannot (the test's premise).
        let mut joins = Vec::new();
        hash_joins(
            &live.scan(&state, None, &[], None).await.unwrap(),
            &mut joins,
        );
        let swapped = joins.iter().all(|join| {
            let join = join.downcast_ref::<HashJoinExec>().unwrap();
            join.swap_inputs(PartitionMode::CollectLeft).is_ok()
        });
        assert!(
            !swapped,
            "DataFusion builds dynamic filters in a view's own plan"
        );
    }
}
