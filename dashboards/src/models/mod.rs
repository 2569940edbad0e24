//! The cockpit models kept fresh: every file of `queries/metrics/` and `queries/stats/`
//! marked `materialise: true` is refreshed on its cron schedule into a Delta table of its
//! own under `models/<name>/`, and every run is recorded in `runs/history/`.
//!
//! - [`materialise`]: [`ModelRunner`] — one refresh of one model (its SQL → its table, in
//!   one Delta commit) and `refresh_all`, many over views computed once; the run history.
//! - [`scheduler`]: [`Scheduler`] — the models due together refreshed as one batch, never
//!   the same model twice at once, a failing model isolated, missed runs caught up.

pub mod materialise;
pub mod scheduler;

pub use materialise::{ModelRunner, ModelTable, RunRecord, RunStatus};
pub use scheduler::Scheduler;
