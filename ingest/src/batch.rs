//! Valid events to one Arrow batch of the `events` table.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use warehouse::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use warehouse::events;

use crate::ValidEvent;

/// Builds the batch for one commit; every row gets the commit's `recorded_at`.
pub fn to_record_batch<'a>(
    rows: impl ExactSizeIterator<Item = &'a ValidEvent>,
    recorded_at: DateTime<Utc>,
) -> RecordBatch {
    let n = rows.len();
    let text = || StringBuilder::with_capacity(n, n * 16);
    let time = || TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let (mut id, mut kind, mut occurred, mut recorded) = (text(), text(), time(), time());
    let (mut org, mut member, mut actor) = (text(), text(), text());
    let mut payload = StringBuilder::with_capacity(n, n * 64);
    let mut version = Int32Builder::with_capacity(n);
    let mut hash = Int64Builder::with_capacity(n);
    let mut month = text();
    let mut typed = events::TypedColumns::with_capacity(n);
    let recorded_micros = recorded_at.timestamp_micros();
    // A commit's rows mostly share their month: its text is built once per run of rows.
    let mut month_text = (None, String::new());
    for e in rows {
        id.append_value(
            e.event_id
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer()),
        );
        kind.append_value(e.event_type.as_str());
        occurred.append_value(e.occurred_at.timestamp_micros());
        recorded.append_value(recorded_micros);
        org.append_value(&e.org_id);
        member.append_option(e.member_id.as_deref());
        actor.append_option(e.actor_id.as_deref());
        payload.append_value(&e.payload_json);
        typed.append(&e.payload_json);
        version.append_value(e.schema_version);
        hash.append_value(e.content_hash);
        let key = Some(e.month_key());
        if month_text.0 != key {
            month_text = (key, e.month());
        }
        month.append_value(&month_text.1);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(kind.finish()),
        Arc::new(occurred.finish()),
        Arc::new(recorded.finish()),
        Arc::new(org.finish()),
        Arc::new(member.finish()),
        Arc::new(actor.finish()),
        Arc::new(payload.finish()),
        Arc::new(version.finish()),
        Arc::new(hash.finish()),
        Arc::new(month.finish()),
    ];
    columns.extend(typed.finish());
    RecordBatch::try_new(events::arrow_schema(), columns).expect("columns match the events schema")
}
