//! # dangjian — the Party-affairs warehouse, cockpit and early-warning service
//!
//! This library is the service as the binary runs it, so that tests and benchmarks can
//! start it in-process; `src/main.rs` only parses arguments and calls in. It is the only
//! crate that knows HTTP.
//!
//! ## Layout
//!
//! - [`config`]: the typed configuration (file, `DANGJIAN_*` environment, and the command
//!   line as [`Setting`]s, parsed once).
//! - [`auth`]: bearer tokens → caller, role, org scope.
//! - [`http`]: the routes, one file per resource; [`router`], the whole API over an
//!   `AppState` (what `App` serves).
//! - [`server`]: [`server::App`] — opens the warehouse, starts the ingest writer,
//!   serves until a shutdown signal, then commits what it holds.
//! - [`metrics`]: the Prometheus series every crate counts, rendered at `/metrics`.
//! - [`pg`]: the Postgres wire protocol over the same reader sessions (psql, ODBC,
//!   psycopg).
//! - [`demo`]: the seeded generator of a realistic university and the `demo` command.
//! - [`commands`]: `sql`, `refresh`, `warnings`, `token` and `config` commands.
//! - [`throttle`]: the per-token share of queries and the sign-in throttle.

// `pub` inside a module marks what it offers the rest of the service; what the library
// offers tests and benchmarks is what this file exports.
#![allow(unreachable_pub)]

pub mod auth;
pub mod commands;
pub mod config;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod pg;
pub mod server;
pub mod throttle;

pub use config::{Config, Setting};
pub use http::router;
pub use server::App;

/// Errors of the commands: whatever a library or the config reported.
pub type CommandResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
