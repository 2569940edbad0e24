//! # ingest — how Party-affairs events get into the warehouse
//!
//! A producer (a branch secretary's form, another campus system, a bulk import, the
//! demo generator) sends events; this crate decides whether they are valid and stores
//! each exactly once, durably, before anyone is told "ok".
//!
//! ## Layout
//!
//! - [`catalogue`]: every event type of the domain with its typed payload and rules
//!   (periods, amounts in fen, meeting kinds, ratings, stages…).
//! - [`envelope`]: the envelope around a payload (`event_id`, `occurred_at`, `org_id`,
//!   …) and [`Validator`], which turns raw JSON into a [`ValidEvent`] or a field error;
//!   `ValidEvent::made` builds the server's own events (the warning lifecycle) from their
//!   typed payloads, checked the same way.
//! - [`decode`]: request bodies — one JSON object, a JSON array or NDJSON — to values,
//!   with the line and column of malformed input.
//! - [`batch`]: valid events to an Arrow `RecordBatch` of the `events` table.
//! - [`rules`]: what a caller may write — every event checked by what it acts on (its
//!   org, the member's current org, the parent of a new org, the retracted event) against
//!   the caller's scope; the warning lifecycle is the server's alone.
//! - [`writer`]: [`Ingestor`], the single writer of the `events` table: group commit
//!   (many requests → one Delta commit, `writer/commit.rs`), exactly-once by `event_id`
//!   (`writer/index.rs`), compaction and vacuum between commits (`writer/maintenance.rs`),
//!   the org and member directories after each commit (`writer/directories.rs`), and
//!   publication of each new version to SQL.
//!
//! ## Data flow
//!
//! ```text
//! bytes ─decode─► JSON values ─Validator─► ValidEvent ─Ingestor::submit─► queue
//!   queue ─(window / batch size)─► dedupe against the id index ─► one Delta commit
//!   ─► id index + Warehouse::publish ─► every waiting request answered
//! ```
//!
//! Nothing is acknowledged before the commit that holds it has succeeded; a request is
//! all-or-nothing.

pub mod batch;
pub mod catalogue;
pub mod decode;
pub mod envelope;
pub mod error;
pub mod rules;
pub mod writer;

pub use catalogue::{EventType, Payload};
pub use envelope::{ValidEvent, Validator, china_time};
pub use error::{FieldError, IngestError, Result};
pub use rules::{Refusal, RefusalKind, WriteCaller};
pub use writer::{Compaction, IngestConfig, Ingestor, Receipt, Vacuum};
