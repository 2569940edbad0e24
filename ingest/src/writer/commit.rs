//! Group commit: the writer task gathers the requests of one commit window, checks
//! them against the id index and writes them as one Delta commit, answers them once the
//! log entry is written, then publishes the new version to SQL.

use super::*;

impl Writer {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        let mut compact_requests = Vec::new();
        let mut vacuum_requests = Vec::new();
        while shutdown.is_none() {
            let Some(first) = rx.recv().await else { break };
            let mut group = match first {
                Command::Submit(s) => vec![s],
                Command::Compact(reply) => {
                    reply
                        .send(self.compact(true).await.map_err(compact_failed))
                        .ok();
                    continue;
                }
                Command::Vacuum(retention, reply) => {
                    reply.send(self.vacuum(retention).await).ok();
                    continue;
                }
                Command::Shutdown(done) => {
                    shutdown = Some(done);
                    Vec::new()
                }
            };
            let mut count: usize = group.iter().map(|s| s.events.len()).sum();
            // The window runs from when the first request was queued: requests that
            // queued up during the previous commit do not wait again.
            let deadline = group
                .first()
                .map_or_else(tokio::time::Instant::now, |s| s.queued)
                + self.config.commit_window;
            while shutdown.is_none() && count < self.config.max_batch_events {
                let next = match rx.try_recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten(),
                };
                match next {
                    Some(Command::Submit(s)) => {
                        count += s.events.len();
                        group.push(s);
                    }
                    Some(Command::Compact(reply)) => {
                        compact_requests.push(reply);
                        break;
                    }
                    Some(Command::Vacuum(retention, reply)) => {
                        vacuum_requests.push((retention, reply));
                        break;
                    }
                    Some(Command::Shutdown(done)) => shutdown = Some(done),
                    None => break,
                }
            }
            if !group.is_empty() {
                self.commit_group(group).await;
            }
            let due = self.compaction_due();
            if due || !compact_requests.is_empty() {
                let major =
                    !compact_requests.is_empty() || self.minor_since_major + 1 >= MAJOR_EVERY;
                let outcome = self.compact(major).await;
                for reply in compact_requests.drain(..) {
                    reply.send(outcome.clone().map_err(compact_failed)).ok();
                }
            }
            for (retention, reply) in vacuum_requests.drain(..) {
                reply.send(self.vacuum(retention).await).ok();
            }
        }
        // Shutting down: refuse new work, commit what is already queued.
        rx.close();
        let mut rest = Vec::new();
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::Submit(s) => rest.push(s),
                Command::Compact(reply) => compact_requests.push(reply),
                Command::Vacuum(_, reply) => {
                    reply.send(Err(IngestError::ShuttingDown)).ok();
                }
                Command::Shutdown(_) => {}
            }
        }
        for reply in compact_requests {
            reply.send(Err(IngestError::ShuttingDown)).ok();
        }
        if !rest.is_empty() {
            self.commit_group(rest).await;
        }
        while self.org_reloads.join_next().await.is_some() {}
        tracing::info!(version = ?self.table.version(), "ingest writer stopped");
        if let Some(done) = shutdown {
            done.send(()).ok();
        }
    }

    /// Sorts the group into duplicates, conflicts and new events, commits the new ones
    /// in one Delta commit, and answers every request.
    pub(super) async fn commit_group(&mut self, group: Vec<Submission>) {
        let started = Instant::now();
        let requests = group.len();
        let mut pending = IdIndex::default();
        let mut rows: Vec<ValidEvent> = Vec::new();
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        let mut group_orgs: Vec<String> = Vec::new();
        for Submission { events, reply, .. } in group {
            let mut fresh = IdIndex::default();
            let mut keep = vec![false; events.len()];
            let mut conflict = None;
            for (i, e) in events.iter().enumerate() {
                let key = e.event_id.as_u128();
                let known = self
                    .index
                    .get(&key)
                    .or_else(|| pending.get(&key))
                    .or_else(|| fresh.get(&key));
                match known {
                    Some(hash) if *hash == e.content_hash => {}
                    Some(_) => {
                        conflict = Some((e.event_id, i));
                        break;
                    }
                    None => {
                        fresh.insert(key, e.content_hash);
                        keep[i] = true;
                    }
                }
            }
            if let Some((id, index)) = conflict {
                reply
                    .send(Err(IngestError::Conflict {
                        event_id: id.to_string(),
                        index,
                    }))
                    .ok();
                continue;
            }
            // One creation per org id: a new `org.created` for an org the tree (or an
            // earlier request of this commit) already holds is refused. Decided here,
            // where a retry of the same event is already known as a duplicate, and
            // serialised with every other commit.
            let twice = events
                .iter()
                .zip(&keep)
                .enumerate()
                .find_map(|(i, (e, kept))| {
                    let creates = *kept && e.event_type == EventType::OrgCreated;
                    (creates
                        && (self.warehouse.orgs().get(&e.org_id).is_some()
                            || group_orgs.contains(&e.org_id)
                            || events[..i].iter().zip(&keep).any(|(earlier, k)| {
                                *k && earlier.event_type == EventType::OrgCreated
                                    && earlier.org_id == e.org_id
                            })))
                    .then(|| (e.org_id.clone(), i))
                });
            if let Some((org_id, index)) = twice {
                reply
                    .send(Err(IngestError::OrgExists { org_id, index }))
                    .ok();
                continue;
            }
            group_orgs.extend(
                events
                    .iter()
                    .zip(&keep)
                    .filter(|(e, k)| **k && e.event_type == EventType::OrgCreated)
                    .map(|(e, _)| e.org_id.clone()),
            );
            let event_ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            let accepted = fresh.len();
            pending.extend(fresh);
            rows.extend(
                events
                    .into_iter()
                    .zip(keep)
                    .filter_map(|(e, k)| k.then_some(e)),
            );
            answers.push(Answer {
                reply,
                accepted,
                duplicates: event_ids.len() - accepted,
                event_ids,
            });
        }

        // Shared with the month encoders of the commit.
        let rows = Arc::new(rows);
        let outcome = if rows.is_empty() {
            Ok(Durable {
                version: self.table.version().unwrap_or(0),
                post_commit: None,
            })
        } else {
            self.commit(&rows).await
        };
        match outcome {
            Ok(durable) => {
                let version = durable.version;
                self.index.extend(pending);
                self.note_orgs(&rows);
                self.note_members(&rows);
                if !rows.is_empty() {
                    self.note_projections(version, &rows);
                    self.warehouse.acknowledge(version);
                }
                for a in answers {
                    a.reply
                        .send(Ok(Receipt {
                            accepted: a.accepted,
                            duplicates: a.duplicates,
                            event_ids: a.event_ids,
                            version,
                        }))
                        .ok();
                }
                let answered = Instant::now();
                if !rows.is_empty() {
                    metrics::counter!("dangjian_ingest_events_total").increment(rows.len() as u64);
                    metrics::histogram!("dangjian_ingest_events_per_commit")
                        .record(rows.len() as f64);
                    metrics::histogram!("dangjian_ingest_commit_seconds")
                        .record((answered - started).as_secs_f64());
                    self.finish(durable).await;
                    self.publish().await;
                    self.reload_orgs_if_renamed(&rows);
                }
                tracing::debug!(
                    version,
                    requests,
                    events = rows.len(),
                    answered_ms = (answered - started).as_millis() as u64,
                    published_us = answered.elapsed().as_micros() as u64,
                    "group committed"
                );
            }
            Err(source) => {
                tracing::error!(error = %source, requests, events = rows.len(), "group commit failed");
                let source = Arc::new(source);
                for a in answers {
                    a.reply
                        .send(Err(IngestError::CommitFailed {
                            source: source.clone(),
                        }))
                        .ok();
                }
            }
        }
    }

    /// Writes `rows` and the log entry that adds them: when this returns, the commit is
    /// durable. The new snapshot is built by [`Writer::finish`].
    pub(super) async fn commit(
        &mut self,
        rows: &Arc<Vec<ValidEvent>>,
    ) -> Result<Durable, DeltaTableError> {
        let seq = self.next_txn;
        let attempt = async {
            let started = Instant::now();
            // Encode and upload the Parquet files (one per month partition) …
            let adds = self.write_files(rows).await?;
            let files = adds.len();
            let uploaded = Instant::now();
            // … then one Delta commit that adds them all, with our transaction id.
            let snapshot = self.table.snapshot()?;
            let operation = DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(snapshot.metadata().partition_columns().to_vec()),
                predicate: None,
            };
            let properties = CommitProperties::default()
                .with_application_transaction(Transaction::new(APP_ID, seq))
                .with_cleanup_expired_logs(Some(self.checkpoint_due()));
            let prepared = CommitBuilder::from(properties)
                .with_actions(adds)
                .build(Some(snapshot), self.table.log_store(), operation)
                .into_prepared_commit_future()
                .await?;
            let serialised = Instant::now();
            let written = prepared.await?;
            self.files_since_compaction += files;
            self.commits_since_compaction += 1;
            tracing::debug!(
                upload_us = (uploaded - started).as_micros() as u64,
                prepare_us = (serialised - uploaded).as_micros() as u64,
                log_us = serialised.elapsed().as_micros() as u64,
                "commit phases"
            );
            Ok::<_, DeltaTableError>(Durable {
                version: written.version as u64,
                post_commit: Some(written),
            })
        };
        match attempt.await {
            Ok(durable) => {
                self.next_txn += 1;
                Ok(durable)
            }
            Err(error) => {
                // The log entry may have been written before the error (a timeout, a
                // failed post-commit checkpoint): if our transaction is there, it landed.
                if self.table.update_state().await.is_ok() {
                    let landed = match self.table.snapshot() {
                        Ok(s) => s
                            .transaction_version(self.table.log_store().as_ref(), APP_ID)
                            .await
                            .ok()
                            .flatten(),
                        Err(_) => None,
                    };
                    if landed == Some(seq) {
                        tracing::warn!(%error, seq, "commit reported an error but its transaction landed");
                        self.next_txn += 1;
                        return Ok(Durable {
                            version: self.table.version().unwrap_or(0),
                            post_commit: None,
                        });
                    }
                }
                Err(error)
            }
        }
    }

    /// Encodes and uploads one Parquet file per month partition of `rows`, the months
    /// in parallel on the writer's workers, and returns the actions that add them. The
    /// files are invisible until a log entry adds them; a crash leaves them unreferenced.
    pub(super) async fn write_files(
        &self,
        rows: &Arc<Vec<ValidEvent>>,
    ) -> Result<Vec<Action>, DeltaTableError> {
        let recorded_at = self.config.clock.now();
        let mut months: BTreeMap<(i32, u32), Vec<usize>> = BTreeMap::new();
        for (i, e) in rows.iter().enumerate() {
            months.entry(e.month_key()).or_default().push(i);
        }
        let mut encoders = Vec::with_capacity(months.len());
        for picks in months.into_values() {
            let mut writer = RecordBatchWriter::for_table(&self.table)?;
            // The month is known: the writer need not split the batch by partition.
            let month = rows[picks[0]].month();
            let DeltaTablePartition { key, value } = DeltaTablePartition::try_from(
                format!("{}={month}", warehouse::events::MONTH).as_str(),
            )?;
            let partition = IndexMap::from([(key, value)]);
            let rows = rows.clone();
            encoders.push(tokio::spawn(async move {
                let batch = batch::to_record_batch(picks.iter().map(|&i| &rows[i]), recorded_at);
                writer
                    .write_partition(batch, &partition, WriteMode::Default)
                    .await?;
                writer.flush().await
            }));
        }
        let mut adds = Vec::new();
        for encoder in encoders {
            let written = encoder.await.map_err(|e| {
                DeltaTableError::generic(format!("encoding a month file failed: {e}"))
            })??;
            adds.extend(written.into_iter().map(Action::Add));
        }
        Ok(adds)
    }

    /// Builds the snapshot of a durable commit (delta-rs' post-commit: the new log entry
    /// replayed onto the file list). If that fails the commit still stands; the table is
    /// reloaded from the log instead, and if even that fails the next commit finds its
    /// version taken, replays it and commits after it.
    pub(super) async fn finish(&mut self, durable: Durable) {
        let Some(post_commit) = durable.post_commit else {
            return;
        };
        let started = Instant::now();
        match post_commit.await {
            Ok(finalized) => self.table.state = Some(finalized.snapshot()),
            Err(error) => {
                tracing::warn!(%error, version = durable.version, "post-commit snapshot update failed; reloading the table");
                if let Err(error) = self.table.update_state().await {
                    tracing::error!(%error, "could not reload the events table");
                }
            }
        }
        tracing::debug!(
            post_commit_us = started.elapsed().as_micros() as u64,
            "commit snapshot"
        );
    }

    /// Makes the writer's current version of `events` visible to SQL. A failure leaves
    /// the data committed and queries on the previous version until the next publish.
    pub(super) async fn publish(&self) {
        if let Err(e) = self.warehouse.publish(&self.table).await {
            tracing::error!(error = %e, version = ?self.table.version(), "could not publish the events version to SQL");
        }
    }
}
