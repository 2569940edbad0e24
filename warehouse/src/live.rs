//! A table provider that always reads the newest acknowledged version of a Delta table.
//!
//! Views are planned once and keep a reference to their source table. If that source
//! were a plain `DeltaTableProvider`, every view would stay frozen at the version it was
//! planned against. [`LiveTable`] is the stable source instead: the writer publishes the
//! provider of each new version right after its commit, and every scan delegates to the
//! provider current at planning time. No listing of the store happens per query.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

#[derive(Debug)]
pub struct LiveTable {
    schema: SchemaRef,
    current: RwLock<Published>,
}

#[derive(Debug, Clone)]
struct Published {
    version: Option<u64>,
    provider: Arc<dyn TableProvider>,
}

impl LiveTable {
    pub fn new(provider: Arc<dyn TableProvider>, version: Option<u64>) -> Self {
        Self {
            schema: provider.schema(),
            current: RwLock::new(Published { version, provider }),
        }
    }

    /// Makes `provider` (the table at `version`) what new scans read. Older versions
    /// are never published over newer ones.
    pub fn publish(&self, provider: Arc<dyn TableProvider>, version: Option<u64>) {
        let mut current = self.current.write().expect("live table lock poisoned");
        if version >= current.version {
            *current = Published { version, provider };
        }
    }

    pub fn version(&self) -> Option<u64> {
        self.current
            .read()
            .expect("live table lock poisoned")
            .version
    }

    fn provider(&self) -> Arc<dyn TableProvider> {
        self.current
            .read()
            .expect("live table lock poisoned")
            .provider
            .clone()
    }
}

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        None
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.provider()
            .scan(state, projection, filters, limit)
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.provider().supports_filters_pushdown(filters)
    }
}
