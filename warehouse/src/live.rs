//! A table provider that always reads the newest acknowledged version of a Delta table.
//!
//! Views are planned once and keep a reference to their source table. If that source
//! were a plain `DeltaTableProvider`, every view would stay frozen at the version it was
//! planned against. [`LiveTable`] is the stable source instead: the writer publishes the
//! provider of each new version right after its commit, and every scan delegates to the
//! provider current at planning time. No listing of the store happens per query.
//!
//! Read your writes: the ingest writer answers a request as soon as its commit's log
//! entry is written (the commit is durable then) and builds the new snapshot after that.
//! It first marks the version [acknowledged](LiveTable::acknowledge); a scan that starts
//! later waits until that version is published, so an event is visible to every query
//! started after its request was answered.
//!
//! Filters deltalake cannot take safely stay with DataFusion: deltalake 1.1 turns
//! `x IN (a, b, …)` into a chain of `OR`s as deep as the list for its file skipping and
//! walks that chain recursively, so an analyst's list of tens of thousands of literals
//! overflowed the query thread's stack and aborted the server. A filter holding a list
//! longer than [`MOST_PUSHED_LIST_ITEMS`] is not pushed into the scan; DataFusion applies
//! it right above (a hash set of the literals), so the answer is the same.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use tokio::sync::watch;

/// The longest `IN` list of a filter pushed into a Delta scan (see the module's doc).
pub const MOST_PUSHED_LIST_ITEMS: usize = 1_000;

/// Whether deltalake may take `filter` into its scan.
fn pushable(filter: &Expr) -> bool {
    use datafusion::common::tree_node::TreeNode;
    !filter
        .exists(|e| Ok(matches!(e, Expr::InList(l) if l.list.len() > MOST_PUSHED_LIST_ITEMS)))
        .unwrap_or(true)
}

/// How long a scan waits for an acknowledged version to be published before it fails
/// (publishing normally takes milliseconds; this bounds a writer that cannot reload).
const PUBLISH_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct LiveTable {
    schema: SchemaRef,
    /// What new scans read; scans waiting for an acknowledged version watch it.
    current: watch::Sender<Published>,
    /// The newest version whose commit was acknowledged to a client.
    acknowledged: Mutex<Option<u64>>,
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
            current: watch::Sender::new(Published { version, provider }),
            acknowledged: Mutex::new(version),
        }
    }

    /// Makes `provider` (the table at `version`) what new scans read. Older versions
    /// are never published over newer ones.
    pub fn publish(&self, provider: Arc<dyn TableProvider>, version: Option<u64>) {
        self.current.send_if_modified(|current| {
            let newer = version >= current.version;
            if newer {
                *current = Published { version, provider };
            }
            newer
        });
    }

    /// Records that `version` was acknowledged to a writer's client: scans started from
    /// now on read it (or a newer one) once it is published.
    pub fn acknowledge(&self, version: u64) {
        let mut acknowledged = self.acknowledged.lock().expect("live table lock poisoned");
        *acknowledged = (*acknowledged).max(Some(version));
    }

    /// Waits until the newest acknowledged version is published.
    async fn caught_up(&self) -> Result<()> {
        let target = *self.acknowledged.lock().expect("live table lock poisoned");
        self.wait_for_version(target).await
    }

    pub fn version(&self) -> Option<u64> {
        self.current.borrow().version
    }

    /// The newest version a query may be asked to see: acknowledged or published.
    pub fn newest(&self) -> Option<u64> {
        let acknowledged = *self.acknowledged.lock().expect("live table lock poisoned");
        acknowledged.max(self.version())
    }

    /// Waits until `version` (or a newer one) is published.
    pub async fn wait_for_version(&self, version: Option<u64>) -> Result<()> {
        let mut published = self.current.subscribe();
        match tokio::time::timeout(PUBLISH_WAIT, published.wait_for(|p| p.version >= version)).await
        {
            Ok(Ok(_)) => Ok(()),
            _ => Err(DataFusionError::Execution(format!(
                "events version {} is committed but not readable yet (the writer has not \
                 published it within {} s); try again",
                version.unwrap_or_default(),
                PUBLISH_WAIT.as_secs()
            ))),
        }
    }

    fn provider(&self) -> Arc<dyn TableProvider> {
        self.current.borrow().provider.clone()
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
        self.caught_up().await?;
        let filters: Vec<Expr> = filters.iter().filter(|f| pushable(f)).cloned().collect();
        self.provider()
            .scan(state, projection, &filters, limit)
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let offered: Vec<&Expr> = filters.iter().copied().filter(|f| pushable(f)).collect();
        let mut theirs = self
            .provider()
            .supports_filters_pushdown(&offered)?
            .into_iter();
        Ok(filters
            .iter()
            .map(|f| {
                let answer = if pushable(f) { theirs.next() } else { None };
                answer.unwrap_or(TableProviderFilterPushDown::Unsupported)
            })
            .collect())
    }
}
