//! Valid events to one Arrow batch of the `events` table.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use warehouse::arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
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
    let mut typed = TypedColumns::with_capacity(n);
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

/// The [typed payload columns](events::TYPED) of a batch, built row by row from each payload's JSON text.
struct TypedColumns {
    columns: Vec<TypedBuilder>,
}

enum TypedBuilder {
    Text(StringBuilder),
    Long(Int64Builder),
    Double(Float64Builder),
}

impl TypedColumns {
    fn with_capacity(rows: usize) -> Self {
        let columns = events::TYPED
            .iter()
            .map(|f| match f.kind {
                events::Kind::Text => {
                    TypedBuilder::Text(StringBuilder::with_capacity(rows, rows * 8))
                }
                events::Kind::Long => TypedBuilder::Long(Int64Builder::with_capacity(rows)),
                events::Kind::Double => TypedBuilder::Double(Float64Builder::with_capacity(rows)),
                events::Kind::Int | events::Kind::Timestamp => {
                    unreachable!("no typed payload field is {:?}", f.kind)
                }
            })
            .collect();
        Self { columns }
    }

    /// Appends the row of `payload` (JSON object text; anything else gives NULLs).
    fn append(&mut self, payload: &str) {
        let picked = pick_typed(payload);
        for (value, column) in picked.iter().zip(&mut self.columns) {
            let value = value.as_ref();
            match column {
                TypedBuilder::Text(b) => b.append_option(value.and_then(|v| v.as_str())),
                TypedBuilder::Long(b) => b.append_option(value.and_then(|v| v.as_i64())),
                TypedBuilder::Double(b) => b.append_option(value.and_then(|v| v.as_f64())),
            }
        }
    }

    fn finish(self) -> Vec<ArrayRef> {
        self.columns
            .into_iter()
            .map(|c| -> ArrayRef {
                match c {
                    TypedBuilder::Text(mut b) => Arc::new(b.finish()),
                    TypedBuilder::Long(mut b) => Arc::new(b.finish()),
                    TypedBuilder::Double(mut b) => Arc::new(b.finish()),
                }
            })
            .collect()
    }
}

/// The values of the [typed payload keys](events::TYPED) of a payload, in their order, read in one pass over
/// its text: the other fields are skipped without being built (ingest does this for
/// every event it writes). Anything but a JSON object gives no values.
fn pick_typed(payload: &str) -> [Option<serde_json::Value>; events::TYPED.len()] {
    use serde::Deserializer as _;
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    struct Pick;
    impl<'de> Visitor<'de> for Pick {
        type Value = [Option<serde_json::Value>; events::TYPED.len()];

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut values: Self::Value = Default::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                match events::TYPED.iter().position(|f| f.key == key) {
                    Some(i) => values[i] = Some(map.next_value()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(values)
        }
    }
    /// A key borrowed from the text (serde's `Cow<str>` always copies); copied only when
    /// it has escapes.
    struct Key<'de>(std::borrow::Cow<'de, str>);
    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;

                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a key")
                }

                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(v.into()))
                }

                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(v.to_owned().into()))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }

    serde_json::Deserializer::from_str(payload)
        .deserialize_map(Pick)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use warehouse::arrow::array::{Array, AsArray};
    use warehouse::arrow::datatypes::{Float64Type, Int64Type};

    use warehouse::events::TYPED;

    use super::*;

    fn column(columns: &[ArrayRef], name: &str) -> ArrayRef {
        let i = TYPED.iter().position(|f| f.column == name).unwrap();
        columns[i].clone()
    }

    /// The typed columns hold what `json_get_str` / `json_get_int` / `json_get_float`
    /// answer: a string only from a string, an integer only from an integral number, a
    /// float from any number, NULL for anything else (the e2e migration test checks the
    /// same against the functions themselves over every stored event).
    #[test]
    fn typed_columns_read_what_the_json_functions_read() {
        let mut typed = TypedColumns::with_capacity(6);
        typed.append(r#"{"period":"2026-09","amount_fen":20,"note":{"nested":[1,2]}}"#);
        typed.append(r#"{"quiz_id":"q1","score":85,"max_score":100.0}"#);
        typed.append(r#"{"amount_fen":20.5,"period":7,"score":"high"}"#);
        typed.append(r#"{"event_id":"e-1","reason":"typo","st\u0061tus":"present"}"#);
        typed.append("not json");
        typed.append("[1,2]");
        let columns = typed.finish();
        assert_eq!(columns.len(), TYPED.len());
        let period = column(&columns, "period");
        let period = period.as_string::<i32>();
        assert_eq!(period.value(0), "2026-09");
        assert!(period.is_null(2), "a number is no text");
        let fen = column(&columns, "amount_fen");
        let fen = fen.as_primitive::<Int64Type>();
        assert_eq!(fen.value(0), 20);
        assert!(fen.is_null(2), "a fraction is no integer");
        let score = column(&columns, "score");
        let score = score.as_primitive::<Float64Type>();
        assert_eq!(score.value(1), 85.0);
        assert!(score.is_null(2));
        assert_eq!(
            column(&columns, "retracts").as_string::<i32>().value(3),
            "e-1"
        );
        assert_eq!(
            column(&columns, "status").as_string::<i32>().value(3),
            "present",
            "an escaped key is still the key"
        );
        for row in [4, 5] {
            assert!(columns.iter().all(|c| c.is_null(row)), "row {row}");
        }
    }
}
