//! The server's timing: [`Schedule`], a job's cron schedule; [`on_schedule`], the one loop
//! that waits on the injected clock for whatever falls due — model refreshes (the
//! [`Scheduler`] here), warning rules (`WarningEngine::run_scheduled`) and the vacuum; and
//! [`Scheduler`], which refreshes each materialised model when its schedule falls due.
//!
//! Schedules are cron expressions with seconds (`sec min hour day month weekday`, the
//! `cron` crate's format), read in China Standard Time like every other calendar rule.
//! The model scheduler's guarantees:
//! - a model is never refreshed twice at once (a due run while one is going is skipped);
//! - a failing model is recorded as failed and does not stop the others;
//! - on start-up, a model whose latest scheduled time passed after its latest recorded
//!   run (or that never ran) is refreshed at once — a missed run is caught up.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use warehouse::clock::china_time;

use crate::clock::Clock;
use crate::materialise::{ModelRunner, RunRecord};
use crate::{Error, Result};

/// A job — a model, a warning rule, the vacuum — and when it runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub job: String,
    pub schedule: cron::Schedule,
}

impl Schedule {
    pub fn parse(job: &str, expression: &str) -> Result<Self> {
        let schedule = cron::Schedule::from_str(expression).map_err(|e| Error::Schedule {
            model: job.to_string(),
            schedule: expression.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            job: job.to_string(),
            schedule,
        })
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&t.with_timezone(&china_time()))
            .next()
            .map(|n| n.with_timezone(&Utc))
    }

    /// The latest scheduled time at or before `t`.
    pub fn latest_at(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.schedule.includes(t.with_timezone(&china_time())) {
            return Some(t);
        }
        self.schedule
            .after(&t.with_timezone(&china_time()))
            .next_back()
            .map(|n| n.with_timezone(&Utc))
    }
}

/// Waits on `clock` for the next time any of `schedules` falls due and calls `due` with
/// the jobs due by then (together, so that e.g. rules due at one instant share one digest
/// mail) and the scheduled instant; again and again until `shutdown` resolves or no
/// schedule has a next time. `due` is awaited: work that must not hold up the loop
/// spawns itself. Times that pass while `due` runs are not made up for — the next call
/// is for the first scheduled time after it returned.
pub async fn on_schedule<F, Fut>(
    clock: &dyn Clock,
    schedules: &[Schedule],
    shutdown: impl Future<Output = ()>,
    mut due: F,
) where
    F: FnMut(Vec<String>, DateTime<Utc>) -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut since = clock.now();
    loop {
        let Some(next) = schedules.iter().filter_map(|s| s.next_after(since)).min() else {
            return;
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = clock.sleep_until(next) => {}
        }
        let now = clock.now();
        let jobs: Vec<String> = schedules
            .iter()
            .filter(|s| s.next_after(since).is_some_and(|t| t <= now))
            .map(|s| s.job.clone())
            .collect();
        due(jobs, next).await;
        since = clock.now().max(now);
    }
}

pub struct Scheduler {
    runner: Arc<ModelRunner>,
    clock: Arc<dyn Clock>,
    models: Vec<Schedule>,
    running: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("models", &self.models.len())
            .finish()
    }
}

/// Releases a model's "running" mark when its refresh ends, however it ends.
struct Running<'a> {
    set: &'a Mutex<HashSet<String>>,
    model: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .expect("running set poisoned")
            .remove(&self.model);
    }
}

impl Scheduler {
    /// Schedules every materialised model of the runner's catalogue by its `schedule`
    /// header (a model without one is refreshed only by hand).
    pub fn new(runner: Arc<ModelRunner>, clock: Arc<dyn Clock>) -> Result<Self> {
        let models = runner
            .materialised()
            .iter()
            .filter_map(|m| m.get("schedule").map(|s| Schedule::parse(&m.name, s)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::with_schedules(runner, clock, models))
    }

    pub fn with_schedules(
        runner: Arc<ModelRunner>,
        clock: Arc<dyn Clock>,
        models: Vec<Schedule>,
    ) -> Self {
        Self {
            runner,
            clock,
            models,
            running: Mutex::new(HashSet::new()),
        }
    }

    pub fn schedules(&self) -> &[Schedule] {
        &self.models
    }

    /// Refreshes `model` now, unless a refresh of it is already running (then `None`).
    pub async fn refresh(&self, model: &str) -> Option<RunRecord> {
        let Some(_running) = self.claim(model) else {
            tracing::info!(model, "refresh skipped: the previous one is still running");
            return None;
        };
        Some(self.runner.refresh(model, self.clock.as_ref()).await)
    }

    /// Refreshes `models` together (their views computed once, see
    /// [`ModelRunner::refresh_all`]), leaving out any whose previous refresh still runs.
    pub async fn refresh_together(&self, models: &[String]) -> Vec<RunRecord> {
        let mut claimed = Vec::with_capacity(models.len());
        let mut names = Vec::with_capacity(models.len());
        for model in models {
            match self.claim(model) {
                Some(guard) => {
                    claimed.push(guard);
                    names.push(model.clone());
                }
                None => {
                    tracing::info!(model, "refresh skipped: the previous one is still running")
                }
            }
        }
        if names.is_empty() {
            return Vec::new();
        }
        match self
            .runner
            .refresh_all(&names, self.clock.as_ref(), |_| {})
            .await
        {
            Ok(runs) => runs,
            Err(e) => {
                // Only the shared views can fail here (each model's failure is its record).
                tracing::error!(error = %e, models = ?names, "a scheduled refresh could not start");
                Vec::new()
            }
        }
    }

    /// Marks `model` as running until the returned guard drops; `None` if it already is.
    fn claim(&self, model: &str) -> Option<Running<'_>> {
        let mut set = self.running.lock().expect("running set poisoned");
        set.insert(model.to_string()).then(|| Running {
            set: &self.running,
            model: model.to_string(),
        })
    }

    /// The models whose latest scheduled time passed without a run since.
    pub async fn missed(&self) -> Result<Vec<String>> {
        let now = self.clock.now();
        let mut last_run: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        for run in self.runner.history().await? {
            let entry = last_run.entry(run.model).or_insert(run.started);
            *entry = (*entry).max(run.started);
        }
        Ok(self
            .models
            .iter()
            .filter(|m| match (m.latest_at(now), last_run.get(&m.job)) {
                (Some(due), Some(ran)) => due > *ran,
                (Some(_), None) => true,
                (None, _) => false,
            })
            .map(|m| m.job.clone())
            .collect())
    }

    /// Runs until `shutdown` resolves: catches up missed runs, then refreshes each model
    /// whenever its schedule falls due. Refreshes in progress are awaited on shutdown.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        let mut tasks = JoinSet::new();
        match self.missed().await {
            Ok(missed) if !missed.is_empty() => {
                tracing::info!(models = ?missed, "catching up missed refreshes");
                let this = self.clone();
                tasks.spawn(async move { this.refresh_together(&missed).await });
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not read the run history; no catch-up"),
        }
        let clock = self.clock.clone();
        on_schedule(clock.as_ref(), &self.models, shutdown, |due, _| {
            // Forget the refreshes that have finished; the due models run as one batch.
            while tasks.try_join_next().is_some() {}
            let this = self.clone();
            tasks.spawn(async move { this.refresh_together(&due).await });
            std::future::ready(())
        })
        .await;
        while tasks.join_next().await.is_some() {}
        tracing::info!("scheduler stopped");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeDelta;
    use warehouse::queries::QueryCatalog;
    use warehouse::{StorageRoot, Warehouse};

    use super::*;
    use crate::ManualClock;
    use crate::materialise::RunStatus;

    /// A warehouse in memory with one event and three models: one that works, one whose
    /// query fails at run time, and one that is not materialised.
    async fn runner() -> Arc<ModelRunner> {
        let file = |name: &str, materialise: bool, sql: &str| {
            (
                format!("metrics/{name}.sql"),
                format!(
                    "-- name: {name}\n-- schedule: 0 0 * * * *\n-- materialise: {materialise}\n{sql}"
                ),
            )
        };
        let views = QueryCatalog::embedded().unwrap();
        let views = views
            .of_kind(warehouse::queries::QueryKind::View)
            .map(|v| (v.path.clone(), v.sql.clone()));
        let catalog = QueryCatalog::from_files(views.chain([
            file(
                "events_by_type",
                true,
                "SELECT event_type, count(*) AS n FROM events GROUP BY event_type",
            ),
            file(
                "broken",
                true,
                "SELECT CAST(payload AS INT) AS n FROM events",
            ),
            file("live_only", false, "SELECT 1 AS one"),
        ]))
        .unwrap();
        let root = StorageRoot::parse(&format!(
            "memory:///sched-{}/",
            std::process::id() as u128 * 1_000_000 + rand_suffix()
        ))
        .unwrap();
        let (warehouse, table) = Warehouse::open(root, catalog).await.unwrap();
        let warehouse = Arc::new(warehouse);
        let ingest = ingest::Ingestor::start(
            warehouse.clone(),
            table,
            ingest::IngestConfig::pinned_for_tests(),
        )
        .await
        .unwrap();
        ingest
            .ingest(vec![serde_json::json!({
                "event_type": "org.created", "occurred_at": "2026-01-01", "org_id": "U",
                "payload": {"name": "示范大学党委", "kind": "university"}
            })])
            .await
            .unwrap();
        ingest.shutdown().await;
        Arc::new(ModelRunner::new(warehouse))
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Jobs due at one instant come in one call; a clock that jumps over several times
    /// gives one call for what fell due, not one per missed time.
    #[tokio::test(flavor = "multi_thread")]
    async fn one_loop_calls_the_jobs_due_together() {
        let clock = Arc::new(ManualClock::new(at("2026-11-25T00:00:30Z")));
        let schedules = [
            Schedule::parse("a", "0 * * * * *").unwrap(),
            Schedule::parse("b", "0 * * * * *").unwrap(),
            Schedule::parse("c", "0 0 * * * *").unwrap(),
        ];
        let (calls, stop) = (Arc::new(Mutex::new(Vec::new())), tokio::sync::Notify::new());
        let seen = calls.clone();
        let (looping, _) = tokio::join!(
            on_schedule(clock.as_ref(), &schedules, stop.notified(), |jobs, t| {
                seen.lock().unwrap().push((jobs, t));
                std::future::ready(())
            }),
            async {
                let wait = || async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                wait().await;
                clock.set(at("2026-11-25T00:01:00Z"));
                wait().await;
                // Past 01:00 (c) and several minutes of a and b at once.
                clock.set(at("2026-11-25T01:03:10Z"));
                wait().await;
                stop.notify_one();
            }
        );
        let () = looping;
        let calls = calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [
                (
                    vec!["a".to_string(), "b".into()],
                    at("2026-11-25T00:01:00Z")
                ),
                (
                    vec!["a".into(), "b".into(), "c".into()],
                    at("2026-11-25T00:02:00Z")
                ),
            ]
        );
    }

    async fn wait_for_runs(runner: &ModelRunner, n: usize) -> Vec<RunRecord> {
        for _ in 0..300 {
            let runs = runner.history().await.unwrap();
            if runs.len() >= n {
                return runs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} runs, history has {:?}",
            runner.history().await.unwrap()
        );
    }

    #[test]
    fn schedules_read_in_china_time() {
        let daily = Schedule::parse("m", "0 30 2 * * *").unwrap();
        // 02:30 China time is 18:30 UTC the day before.
        assert_eq!(
            daily.next_after(at("2026-11-25T00:00:00Z")),
            Some(at("2026-11-25T18:30:00Z"))
        );
        assert_eq!(
            daily.latest_at(at("2026-11-25T00:00:00Z")),
            Some(at("2026-11-24T18:30:00Z"))
        );
        assert!(Schedule::parse("m", "every hour").is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn runs_on_schedule_catches_up_and_isolates_failures() {
        let runner = runner().await;
        let clock = ManualClock::new(at("2026-11-25T10:59:59+08:00"));
        let scheduler = Arc::new(Scheduler::new(runner.clone(), Arc::new(clock.clone())).unwrap());
        assert_eq!(
            scheduler.schedules().len(),
            2,
            "only materialised models are scheduled"
        );

        // Never ran: both are missed (10:00 passed) and caught up at start.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(scheduler.clone().run(async move {
            stopped.await.ok();
        }));
        let runs = wait_for_runs(&runner, 2).await;
        let by_model = |runs: &[RunRecord], m: &str| {
            runs.iter()
                .filter(|r| r.model == m)
                .cloned()
                .collect::<Vec<_>>()
        };
        let ok = by_model(&runs, "events_by_type");
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].status, RunStatus::Succeeded);
        assert_eq!(ok[0].rows, 1);
        assert_eq!(ok[0].started, at("2026-11-25T10:59:59+08:00"));
        let broken = by_model(&runs, "broken");
        assert_eq!(
            broken[0].status,
            RunStatus::Failed,
            "a failing model is recorded as failed"
        );
        assert!(broken[0].error.as_deref().unwrap().contains("broken"));
        let table = runner.read_model("events_by_type").await.unwrap().unwrap();
        assert_eq!(table.iter().map(|b| b.num_rows()).sum::<usize>(), 1);

        // Nothing is due before 11:00; at 11:00 both run again, the failure isolated.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(runner.history().await.unwrap().len(), 2);
        clock.advance(TimeDelta::seconds(1));
        let runs = wait_for_runs(&runner, 4).await;
        assert_eq!(by_model(&runs, "events_by_type").len(), 2);
        assert_eq!(
            by_model(&runs, "events_by_type")[1].started,
            at("2026-11-25T11:00:00+08:00")
        );
        assert_eq!(by_model(&runs, "broken").len(), 2);

        stop.send(()).unwrap();
        task.await.unwrap();

        // A restart within the hour catches nothing up; a restart after 12:00 does.
        assert!(scheduler.missed().await.unwrap().is_empty());
        clock.set(at("2026-11-25T12:20:00+08:00"));
        let mut missed = scheduler.missed().await.unwrap();
        missed.sort();
        assert_eq!(missed, ["broken", "events_by_type"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_model_never_runs_twice_at_once() {
        let runner = runner().await;
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at("2026-11-25T10:00:00+08:00")));
        let scheduler = Scheduler::new(runner.clone(), clock).unwrap();
        // A refresh in progress holds the model's claim for as long as it runs; whether two
        // racing refreshes overlap depends on timing, so the claim is held here explicitly.
        let in_progress = scheduler
            .claim("events_by_type")
            .expect("nothing is running yet");
        assert!(
            scheduler.refresh("events_by_type").await.is_none(),
            "a refresh while another one runs is skipped"
        );
        assert!(
            scheduler.claim("events_by_type").is_none(),
            "the claim is exclusive"
        );
        assert!(
            scheduler.refresh("broken").await.is_some(),
            "other models are not held up"
        );
        drop(in_progress);
        assert!(
            scheduler.refresh("events_by_type").await.is_some(),
            "the next one runs once the first has finished"
        );
        assert_eq!(runner.history().await.unwrap().len(), 2);
    }
}
