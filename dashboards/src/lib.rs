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
//! - [`clock`]: the time source, injected so tests can move time ([`ManualClock`]).
//! - [`materialise`]: [`ModelRunner`] — one refresh of one model: run its SQL, replace its
//!   table in one Delta commit (readers see the old or the new result, never half), and
//!   append the run to the history; `refresh_all` refreshes many over views computed once.
//! - [`spec`]: the dashboard specs, `dashboards/*.toml` (panels → models, chart kinds, the
//!   unit of each measure).
//! - [`render`]: [`Cockpit`] — a spec for an org and a period → every panel's JSON, from
//!   the materialised tables, or live over the events recorded up to `as_of`.
//! - [`cache`]: [`ResponseCache`] — the encoded JSON of materialised dashboards, reused
//!   while the model versions and org tree it was rendered from are current.
//! - [`warnings`]: [`WarningEngine`] — the rules of `queries/warnings/` at an instant,
//!   their lifecycle as `warning.*` events, escalation, and the digest mail;
//!   `warnings::list` what people do with warnings: the list of their scope (in their
//!   reader session) and acknowledging one ([`WarningQuery`], [`Acknowledger`]).
//! - [`mail`]: SMTP (`lettre`) or an outbox folder of `.eml` files, with retries.
//! - [`web`]: the web cockpit's assets (`dashboards/web/`), embedded in the binary.
//! - [`scheduler`]: [`on_schedule`], the one loop on the injected clock that runs whatever
//!   falls due (models, warning rules, the vacuum), with one [`Schedule`] type; and
//!   [`Scheduler`] — refreshes the models due together as one batch, never the same model
//!   twice at once, a failing model isolated from the others, and on start-up catches up
//!   every model that missed its last scheduled time.
//!
//! ## Data flow
//!
//! ```text
//! clock ─► on_schedule ─(due)─► Scheduler ─► ModelRunner::refresh_all ─► models/<name> (overwrite)
//!                 │                                    └────────────────► runs/history (append)
//!                 └──(due)─► WarningEngine ─► warning.* events (ingest) ─► digest mail
//! Cockpit ─► models/<name> (or live over events at as_of) ─► dashboard JSON ─► web page
//! ```

pub mod cache;
pub mod clock;
pub mod error;
pub mod mail;
pub mod materialise;
pub mod render;
pub mod scheduler;
pub mod spec;
pub mod warnings;
pub mod web;

pub use cache::{Encoded, ResponseCache};
pub use clock::{Clock, ManualClock, SharedClock, ShiftedClock, SystemClock};
pub use error::{Error, Result};
pub use materialise::{ModelRunner, ModelTable, RunRecord, RunStatus};
pub use render::{Cockpit, Period};
pub use scheduler::{Schedule, Scheduler, on_schedule};
pub use warnings::{Acknowledger, RunReport, Severity, WarningEngine, WarningQuery};
