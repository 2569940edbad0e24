//! When jobs run: [`Schedule`], a job's cron schedule, and [`on_schedule`], the one loop
//! that waits on the injected clock for whatever falls due — model refreshes
//! (`models::Scheduler`), warning rules (`WarningEngine::run_scheduled`) and the vacuum.
//!
//! Schedules are cron expressions with seconds (`sec min hour day month weekday`, the
//! `cron` crate's format), read in China Standard Time like every other calendar rule.

use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use warehouse::clock::china_time;

use crate::clock::Clock;
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::ManualClock;

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
}
