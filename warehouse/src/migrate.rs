//! One-time changes to tables written by earlier versions of dangjian.
//!
//! [`typed_columns`]: an `events` table written before the [typed payload
//! columns](crate::events::TYPED) existed gains them, filled from every row's payload,
//! in **one** Delta commit that adds the columns to the schema, removes every old file
//! and adds its rewritten twin. Until that commit lands, readers see the old table
//! whole; after it, the new one whole; a crash in between leaves unreferenced files
//! that vacuum deletes, and the next start runs the backfill again. The columns hold
//! what the views computed from the payload before (`json_get_str` / `json_get_int` /
//! `json_get_float`), so every answer stays the same.
//!
//! [`crate::Warehouse::open`] runs it before planning the views (which read the new
//! columns); `dangjian migrate` runs it on its own, with progress. Either way only one
//! process may write the table meanwhile, as for vacuum.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

use crate::events::{self, TYPED};
use crate::{Error, Result};

/// What a backfill did.
#[derive(Debug, Clone)]
pub struct Backfill {
    /// Rows rewritten (every event, retracted or not).
    pub events: u64,
    /// Data files before, all replaced.
    pub files_replaced: usize,
    /// The table version of the commit.
    pub version: u64,
    pub elapsed: Duration,
}

/// Adds and fills the typed payload columns if `table` lacks them; `None` when it
/// already has them (nothing is written).
pub async fn typed_columns(table: DeltaTable) -> Result<(DeltaTable, Option<Backfill>)> {
    if events::has_typed_columns(&table)? {
        return Ok((table, None));
    }
    let started = Instant::now();
    let failed = |source| Error::View {
        view: "events (typed columns backfill)".into(),
        source,
    };
    let files_replaced = table
        .snapshot()
        .map_err(|e| Error::delta(events::TABLE, e))?
        .log_data()
        .num_files();
    let ctx =
        SessionContext::new_with_state(crate::session::new_state(Arc::new(RuntimeEnv::default()))?);
    let provider = table.table_provider().await.map_err(failed)?;
    ctx.register_table("events_before", provider)
        .map_err(failed)?;
    let events = count(&ctx).await?;
    tracing::info!(
        events,
        files = files_replaced,
        "backfilling the typed payload columns of events (once; the table is rewritten in one commit)"
    );
    // Planned here (where the JSON functions are), executed by delta-rs' own session,
    // whose planner knows its write nodes.
    let plan = ctx
        .sql(&backfill_sql())
        .await
        .map_err(failed)?
        .logical_plan()
        .clone();
    let table = table
        .write(Vec::new())
        .with_input_plan(plan)
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(SchemaMode::Merge)
        .with_partition_columns([events::MONTH])
        .with_commit_properties(CommitProperties::default().with_metadata([(
            "dangjian.migration".to_string(),
            serde_json::Value::from("typed payload columns"),
        )]))
        .await
        .map_err(|e| Error::delta(events::TABLE, e))?;
    let backfill = Backfill {
        events,
        files_replaced,
        version: table.version().unwrap_or(0) as u64,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        events,
        version = backfill.version,
        elapsed_ms = backfill.elapsed.as_millis() as u64,
        "typed payload columns backfilled"
    );
    Ok((table, Some(backfill)))
}

/// Every column of the old table, then each typed column read from the payload by the
/// JSON function the views used.
fn backfill_sql() -> String {
    let envelope: Vec<&str> = events::COLUMNS
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| *name != events::MONTH)
        .collect();
    let typed: Vec<String> = TYPED
        .iter()
        .map(|f| {
            format!(
                "{}(payload, '{}') AS {}",
                f.kind.json_getter(),
                f.key,
                f.column
            )
        })
        .collect();
    format!(
        "SELECT {envelope}, CAST({month} AS VARCHAR) AS {month}, {typed} FROM events_before",
        envelope = envelope.join(", "),
        month = events::MONTH,
        typed = typed.join(", "),
    )
}

async fn count(ctx: &SessionContext) -> Result<u64> {
    use datafusion::arrow::array::{Array, Int64Array};
    let failed = |source| Error::Execution { source };
    let df = ctx
        .sql("SELECT count(*) FROM events_before")
        .await
        .map_err(failed)?;
    let batches = df.collect().await.map_err(failed)?;
    Ok(batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>())
        .filter(|a| !a.is_empty())
        .map_or(0, |a| a.value(0) as u64))
}
