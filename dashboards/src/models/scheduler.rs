//! [`Scheduler`]: refreshes each materialised model when its schedule falls due (on the
//! one loop of [`crate::schedule::on_schedule`]). Its guarantees:
//! - a model is never refreshed twice at once (a due run while one is going is skipped);
//! - a failing model is recorded as failed and does not stop the others;
//! - on start-up, a model whose latest scheduled time passed after its latest recorded
//!   run (or that never ran) is refreshed at once — a missed run is caught up.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::Result;
use crate::clock::Clock;
use crate::models::materialise::{ModelRunner, RunRecord};
use crate::schedule::{Schedule, on_schedule};

/// The model refreshes on their schedules.
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
    use crate::models::materialise::RunStatus;

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
