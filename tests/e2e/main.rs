//! End-to-end tests of dangjian: the real binary over real HTTP and real storage.
//!
//! One test binary (DataFusion links once); each module is one area:
//! - `ingest`: round trips, bad input, exactly-once, concurrency, restarts, SIGKILL, SIGTERM;
//! - `sql`: the read-only and limit rules of the SQL endpoint, formats, the CLI;
//! - `access`: the token / role / scope matrix;
//! - `scoped`: reads in the caller's scope, masked personal data, the audit trail, tokens
//!   that end;
//! - `security`: writes by meaning, server-owned events, bounded work, safe CSV, what the
//!   server does not say;
//! - `dashboards`: dashboard JSON from materialised and live models, scope, drill-down;
//! - `warnings`: the warning lifecycle, digest mail over real SMTP, ack over HTTP;
//! - `snapshots`: insta snapshots of the dashboard JSON of the fixed-seed demo;
//! - `metrics`: `/metrics` through Prometheus' parser, its counters moving with the work;
//! - `openapi`: schemathesis against `/api/v1/openapi.json` and the running server;
//! - `pg`: the Postgres wire with psql, psycopg and pandas, against the HTTP answers;
//! - `projections`: `people`, `orgs`, `meetings` and `attendance_latest` kept as tables, row for row against the live views;
//! - `migrate`: a table written by an earlier version gains the typed payload columns;
//! - `members`: the member role (我的党建 and its API, nothing of anyone else), study
//!   recommendations, the opt-out and the weekly push over real SMTP;
//! - `slt`: sqllogictest files of `queries/` over small fixtures.

// Test modules share helpers with `pub`.
#![allow(unreachable_pub)]

mod access;
mod dashboards;
#[path = "../support/fixed_demo.rs"]
mod fixed_demo;
mod ingest;
mod members;
mod metrics;
mod migrate;
mod openapi;
mod pg;
mod projections;
mod scoped;
mod security;
mod slt;
mod snapshots;
mod sql;
mod support;
mod warnings;
