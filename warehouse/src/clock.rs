//! The one sense of time of dangjian, injected (delta-rs `with_clock`, mini-redis style).
//!
//! Everything that asks "what time is it" — the ingest writer's `recorded_at` and its
//! future-skew check, the cockpit's default period, warning runs and their lifecycle
//! events, the model and vacuum schedules — asks a [`Clock`] it was given, never the
//! machine. The server takes [`SystemClock`], or a [`ShiftedClock`] when `clock.today`
//! is set (the demo and the browser tests run "on" a fixed day whatever the machine's
//! date); tests of schedules move a [`ManualClock`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use tokio::sync::watch;

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The clock that components share: cheap to clone, one per process.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Wall-clock time moved by a fixed offset, running at the machine's pace. A server
/// started with `clock.today = 2026-11-25` answers as on that day (default periods,
/// warning deadlines, `recorded_at`) while its schedules, timeouts and commit order still
/// see time pass. A pinned day moves the clock by whole days, keeping the time of day,
/// so processes started one after the other on the same day (a server, then a
/// `dangjian warnings run`) still stamp their events in order.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: TimeDelta,
}

impl ShiftedClock {
    /// Reads `start` now and runs on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            offset: start - Utc::now(),
        }
    }

    /// Today's time of day, on `day` (China dates).
    pub fn on_day(day: NaiveDate) -> Self {
        let today = china_today(Utc::now());
        Self {
            offset: TimeDelta::days((day - today).num_days()),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Time that moves only when a test says so.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    tick: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
            tick: watch::channel(start).0,
        }
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().expect("clock lock poisoned");
        *now += by;
        self.tick.send_replace(*now);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().expect("clock lock poisoned") = to;
        self.tick.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock poisoned")
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut ticks = self.tick.subscribe();
        Box::pin(async move {
            while *ticks.borrow_and_update() < at {
                if ticks.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// The calendar day of `now` in China Standard Time, the day every rule counts in.
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&china_time()).date_naive()
}

/// The Monday of the week of `day` (weeks run Monday to Sunday, as the study push's).
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - chrono::Days::new(day.weekday().num_days_from_monday().into())
}

/// China Standard Time (UTC+8, no daylight saving): months, quarters and the
/// "today" of every rule and panel are counted in it.
pub fn china_time() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A shared clock for a configured `today`: a day `YYYY-MM-DD` ([`ShiftedClock::on_day`])
/// or an RFC 3339 instant to start at ([`ShiftedClock::starting_at`]); `None` if it is
/// neither. Tests pin their day with it, so no test reads the machine's date.
pub fn pinned(today: &str) -> Option<SharedClock> {
    let text = today.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Arc::new(ShiftedClock::on_day(day)));
    }
    let start = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    Some(Arc::new(ShiftedClock::starting_at(start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_runs_on_its_day_and_moves_on() {
        let clock = pinned("2026-11-25").unwrap();
        let (a, b) = (clock.now(), clock.now());
        assert!(b >= a);
        assert_eq!(china_today(a).to_string(), "2026-11-25");
        // Whole days: the time of day is the machine's, so two processes pinned to the
        // same day stamp events in the order they made them.
        let shift = (clock.now() - Utc::now()).num_milliseconds();
        let off_day = shift.rem_euclid(86_400_000);
        assert!(!(1_000..=86_399_000).contains(&off_day), "{shift} ms");

        let instant = pinned("2027-01-01T00:30:00+08:00").unwrap().now();
        assert_eq!(china_today(instant).to_string(), "2027-01-01");
        assert!(pinned("25/11/2026").is_none());
    }
}
