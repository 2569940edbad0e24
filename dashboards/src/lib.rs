//! # dashboards — the cockpit models, kept fresh
//!
//! The cockpit (党建驾驶舱) reads small tables, not raw events. Every model file of
//! `queries/metrics/` and `queries/stats/` marked `materialise: true` is refreshed on its
//! cron schedule into a Delta table of its own under `models/<name>/`, and every run is
//! recorded in the run-history table `runs/history/`.
//!
//! ## Layout
//!
//! - [`clock`]: the time source, injected so tests can move time ([`ManualClock`]).
//! - [`materialise`]: [`ModelRunner`] — one refresh of one model: run its SQL, replace its
//!   table in one Delta commit (readers see the old or the new result, never half), and
//!   append the run to the history.
//! - [`scheduler`]: [`Scheduler`] — runs each model when its schedule falls due, never the
//!   same model twice at once, a failing model isolated from the others, and on start-up
//!   catches up every model that missed its last scheduled time.
//!
//! ## Data flow
//!
//! ```text
//! clock ─► Scheduler ─(due)─► ModelRunner ─► SELECT * FROM <model view> ─► models/<name> (overwrite)
//!                                      └──────────────────────────────► runs/history (append)
//! ```

pub mod clock;
pub mod error;
pub mod materialise;
pub mod scheduler;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use materialise::{ModelRunner, RunRecord, RunStatus};
pub use scheduler::{ModelSchedule, Scheduler};
