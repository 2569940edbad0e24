//! # dashboards — the cockpit: its models kept fresh, its dashboards, its web page, and the early warnings
//!
//! The cockpit (党建驾驶舱) reads small tables, not raw events. Every model file of
//! `queries/metrics/` and `queries/stats/` marked `materialise: true` is refreshed on its
//! cron schedule into a Delta table of its own under `models/<name>/`, and every run is
//! recorded in the run-history table `runs/history/`. The crate's name is the product's
//! word for all of it: what leaders look at (dashboards, the page) and what is done so
//! they can (models, schedules) and what it tells secretaries (warnings, mail).
//!
//! ## Layout
//!
//! - [`models`]: the models kept fresh — [`ModelRunner`] (one refresh in one Delta commit,
//!   `refresh_all` for a batch, the run history) and [`Scheduler`] (models due together
//!   refreshed as one batch, missed runs caught up).
//! - [`cockpit`]: what leaders look at — the specs of `dashboards/specs/*.toml`,
//!   [`Cockpit`] (a spec for an org and a period → every panel's JSON, from the
//!   materialised tables or live at `as_of`), the [`ResponseCache`], the web page's assets.
//! - [`warnings`]: [`WarningEngine`] — the rules of `queries/warnings/` at an instant
//!   (`rule`), their lifecycle as `warning.*` events (`lifecycle`), the digest to the
//!   secretaries (`digest`, over `mail`: SMTP or an outbox folder), and what people do with
//!   warnings (`list`: the list of their scope, acknowledging one).
//! - [`members`]: the members' own side (智能党建) — [`Members`]: a member's page
//!   (我的党建), the study recommended to them (`queries/recommendations/`), and the
//!   weekly push of those recommendations as `study.recommended` events and mail.
//! - [`schedule`]: [`on_schedule`], the one loop on the injected clock that runs whatever
//!   falls due (models, warning rules, the vacuum), with one [`Schedule`] type.
//! - [`clock`]: the time source, injected so tests can move time ([`ManualClock`]).
//!
//! ## Data flow
//!
//! ```text
//! clock ─► on_schedule ─(due)─► Scheduler ─► ModelRunner::refresh_all ─► models/<name> (overwrite)
//!                 │                                    └────────────────► runs/history (append)
//!                 └──(due)─► WarningEngine ─► warning.* events (ingest) ─► digest mail
//! Cockpit ─► models/<name> (or live over events at as_of) ─► dashboard JSON ─► web page
//! ```

pub mod clock;
pub mod cockpit;
pub mod error;
pub mod members;
pub mod models;
pub mod schedule;
pub mod warnings;

pub use clock::{Clock, ManualClock, SharedClock, ShiftedClock, SystemClock};
pub use cockpit::{AsOf, Cockpit, Encoded, Period, ResponseCache};
pub use error::{Error, Result};
pub use members::{Members, PushReport};
pub use models::{ModelRunner, ModelTable, RunRecord, RunStatus, Scheduler};
pub use schedule::{Schedule, on_schedule};
pub use warnings::{Acknowledger, RunReport, Severity, WarningEngine, WarningQuery};
