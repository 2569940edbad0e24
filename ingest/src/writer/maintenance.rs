//! Upkeep between two commits: compaction of the small files of each month (minor and
//! major), the checkpoint rhythm, and vacuum.

use super::*;

impl Writer {
    /// Delta OPTIMIZE (bin-packing) over every month partition. Group commit writes one
    /// small file per partition per commit; compacting keeps scans over the table (and
    /// the table's own log state) from growing with the number of commits. Appends only
    /// add files, so the rows and the id index are unchanged; a crash in the middle
    /// leaves unreferenced files, never a half-visible result. A minor compaction merges
    /// only files under 1 MiB, a major one every file under 16 MiB.
    pub(super) async fn compact(
        &mut self,
        major: bool,
    ) -> Result<Compaction, Arc<DeltaTableError>> {
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
        metrics::counter!("dangjian_ingest_compactions_total").increment(1);
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
    pub(super) async fn vacuum(&mut self, retention: Duration) -> Result<Vacuum> {
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

    /// Whether enough files or commits accumulated since the last compaction.
    pub(super) fn compaction_due(&self) -> bool {
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
    pub(super) fn checkpoint_due(&self) -> bool {
        let interval = self
            .table
            .snapshot()
            .map(|s| s.table_config().checkpoint_interval().get())
            .unwrap_or(100);
        let next = self.table.version().map_or(0, |v| v + 1);
        (next + 1).is_multiple_of(interval)
    }
}
