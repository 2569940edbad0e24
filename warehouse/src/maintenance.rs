//! Vacuum: deleting the data files a Delta table no longer references.
//!
//! Compactions of `events` and every refresh of a materialised model (an overwrite)
//! replace files; Delta only marks the old ones removed, so without a vacuum the
//! storage keeps every file ever written. A vacuum deletes the files that the current
//! version does not reference and that were removed (or, for the leftovers of a commit
//! that crashed before its log entry, written) more than the retention ago. A reader
//! still scanning a version older than the retention would miss those files: queries
//! are bounded to seconds, so the retention protects only external readers and
//! Delta time travel, and the default (168 h, Delta's own default) is generous.

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;

use deltalake::operations::vacuum::VacuumMode;
use deltalake::{DeltaTable, DeltaTableError};

/// Delta's default retention of removed files: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Vacuums `table` (full mode: it lists the table's directory, so orphans of crashed
/// commits go too) and returns it with the number of files deleted.
pub async fn vacuum(
    table: DeltaTable,
    retention: Duration,
) -> Result<(DeltaTable, usize), DeltaTableError> {
    let retention = chrono::Duration::from_std(retention)
        .map_err(|e| DeltaTableError::generic(format!("vacuum retention out of range: {e}")))?;
    // delta-rs reports every expired removal it deletes again, already gone or not (they
    // stay in the log until a checkpoint drops them): the files that were there before
    // are the ones this vacuum deleted.
    let stored: HashSet<String> = table
        .object_store()
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await?;
    let (table, metrics) = table
        .vacuum()
        .with_mode(VacuumMode::Full)
        .with_retention_period(retention)
        // The retention is the operator's choice (`scheduler.vacuum_retention_hours`),
        // not bounded below by the table's `delta.deletedFileRetentionDuration`.
        .with_enforce_retention_duration(false)
        .await?;
    let deleted = metrics
        .files_deleted
        .iter()
        .filter(|path| stored.contains(path.as_str()))
        .count();
    Ok((table, deleted))
}
