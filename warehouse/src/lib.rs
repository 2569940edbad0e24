//! # warehouse — where dangjian's events live and how they are queried
//!
//! Every Party-affairs action is an immutable row of the Delta Lake table `events`
//! (Parquet files plus a transaction log, on any `object_store` URL). Everything the
//! product shows — rosters, cockpit metrics, statistics, early warnings — is SQL over
//! that table, run by Apache DataFusion.
//!
//! ## Layout
//!
//! - [`access`]: readers' sessions: `events` narrowed to the caller's org subtree and
//!   personal data masked for their role, in the scan (no SQL gets around it).
//! - [`audit`]: the audit trail, every data access appended to the Delta table `audit`
//!   in groups (admins alone read it).
//! - [`bounded`]: `repeat`, `lpad`, `rpad`, `array_repeat` refusing values over 16 MiB
//!   (their one allocation is outside any memory pool).
//! - [`calendar`]: `china_date(ts)` and `add_months(date, n)`, the rules' calendar as SQL
//!   functions in every session.
//! - [`budget`]: memory for queries: a pool per query drawing on one budget for the
//!   whole process.
//! - [`clock`]: the injected clock (wall, shifted to a configured day, or manual) and
//!   China Standard Time, the calendar of every rule.
//! - [`csv`]: CSV answers safe for spreadsheets (formula-like text cells prefixed).
//! - [`executor`]: a tokio runtime of its own where analyst SQL and live dashboards run,
//!   so heavy queries never hold the server's worker threads.
//! - [`paths`]: the one module that knows storage locations (table URLs under the root).
//! - [`events`]: the schema of the `events` table and opening / creating it.
//! - [`local`]: the local-directory object store, whose log listings cost what they
//!   return (so a commit does not get slower as the Delta log grows).
//! - [`members`]: where each registered person belongs now (home org, transferred out,
//!   left), for the write rules.
//! - [`migrate`]: one-time changes to tables written by earlier versions (the typed
//!   payload columns of `events`, added and backfilled in one commit).
//! - [`maintenance`]: vacuum, deleting the files compactions and model refreshes replaced.
//! - [`json`]: record batches as JSON rows (the shape of every JSON answer).
//! - [`live`]: a table provider that always scans the newest acknowledged version, so a
//!   commit is visible to SQL at once without re-listing the store per query.
//! - [`projections`]: the per-entity views many models read (`people`, `orgs`, `meetings`) kept as
//!   tables from each commit's new events, recomputing only the entities touched.
//! - [`read_models`]: the materialised model tables as readers' SQL sees them (cut to
//!   the scope), the `live.` schema of live computations and the `models` catalogue.
//! - [`queries`]: the SQL files of `queries/` (embedded at build time) and their headers.
//! - [`session`]: [`Warehouse`], the DataFusion session with `events`, the views of
//!   `queries/views/`, the JSON functions, and the org tree used for scoping.
//! - [`sandbox`]: the analyst SQL path — read-only statements, row / time / memory bounds.
//! - [`stats`]: statistical tests as SQL aggregates (`chi2_test`, `anova_oneway`),
//!   registered in every session.
//!
//! ## Data flow
//!
//! ```text
//! ingest (group commit) ──► Delta `events` ──► LiveTable.publish(new version)
//!                                                  │
//! SQL / views / models ◄── SessionContext ◄────────┘
//! ```
//!
//! This crate knows nothing of HTTP; the `dangjian` binary maps [`Error`] to status codes
//! through [`Error::fault`].

pub mod access;
pub mod audit;
pub mod bounded;
pub mod budget;
pub mod calendar;
pub mod clock;
pub mod csv;
pub mod error;
pub mod events;
pub mod executor;
pub mod json;
pub mod live;
pub mod local;
pub mod maintenance;
pub mod members;
pub mod migrate;
pub mod orgs;
pub mod paths;
pub mod projections;
pub mod queries;
pub mod read_models;
pub mod sandbox;
pub mod session;
pub mod stats;

pub use access::{Masking, ReadAccess};
pub use clock::{Clock, SharedClock};
pub use datafusion;
pub use deltalake;
pub use deltalake::arrow;
pub use error::{Error, Fault, Result};
pub use orgs::OrgDirectory;
pub use paths::StorageRoot;
pub use sandbox::{QueryBounds, QueryLimits, QueryResult, ReadQuery};
pub use session::Warehouse;
