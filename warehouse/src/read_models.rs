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
//! | `people`, `orgs`, … (views) | the live computation (projections come later) |
//! | `models` | one row per model: whether it reads a table, its version and `refreshed_at` |
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
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::live::LiveTable;
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
    schema: SchemaRef,
}

impl ModelsCatalogue {
    pub fn new(
        catalog: Arc<QueryCatalog>,
        models: Arc<ReadModels>,
        from_table: Vec<String>,
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
            schema,
        }
    }

    fn batch(&self) -> DfResult<RecordBatch> {
        let models: Vec<_> = self.catalog.models().collect();
        let table: Vec<Option<ReadModel>> = models
            .iter()
            .map(|m| {
                self.from_table
                    .contains(&m.name)
                    .then(|| self.models.get(&m.name))
                    .flatten()
            })
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                models.iter().map(|m| m.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(models.iter().map(
                |m| match m.kind {
                    QueryKind::Stat => "stat",
                    _ => "metric",
                },
            ))),
            Arc::new(StringArray::from_iter(
                models.iter().map(|m| m.get("title")),
            )),
            Arc::new(StringArray::from_iter_values(
                table
                    .iter()
                    .map(|t| if t.is_some() { "table" } else { "live" }),
            )),
            Arc::new(BooleanArray::from_iter(
                models.iter().map(|m| Some(m.materialise())),
            )),
            Arc::new(Int64Array::from_iter(
                table
                    .iter()
                    .map(|t| t.as_ref().and_then(|t| t.version).map(|v| v as i64)),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter(table.iter().map(|t| {
                    t.as_ref()
                        .and_then(|t| t.refreshed_at)
                        .map(|r| r.timestamp_micros())
                }))
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                models.iter().map(|m| format!("{LIVE_SCHEMA}.{}", m.name)),
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
            return self.live.scan(state, projection, filters, limit).await;
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
