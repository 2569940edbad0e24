//! CSV answers that are safe to open in a spreadsheet.
//!
//! A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
//! Excel and LibreOffice (`=HYPERLINK("http://…")` runs when opened). Every text cell
//! that starts so is written with a leading `'` (OWASP's rule for CSV injection); numbers,
//! dates and booleans are written as they are, so numbers stay numbers.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

/// Whether a spreadsheet would read `text` as a formula.
pub fn is_formula(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// `text` as a spreadsheet reads it as text: prefixed with `'` when it looks like a
/// formula.
pub fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    if is_formula(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Writes `batches` as CSV with a header row (the header alone when there are none).
pub fn write_csv(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    out: &mut Vec<u8>,
) -> Result<(), ArrowError> {
    if batches.is_empty() {
        let names: Vec<String> = schema.fields().iter().map(|f| cell(f.name())).collect();
        out.extend_from_slice(names.join(",").as_bytes());
        out.push(b'\n');
        return Ok(());
    }
    let mut writer = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(out);
    for batch in batches {
        writer.write(&defused(batch)?)?;
    }
    Ok(())
}

/// A header name as a CSV cell (quoted when it needs to be, defused like any text).
fn cell(name: &str) -> String {
    let name = defuse(name);
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.into_owned()
    }
}

/// The batch with every text column's formula-like cells prefixed by `'`, and its
/// header names likewise.
fn defused(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let name = defuse(field.name()).into_owned();
        let text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..)
        ) && cast(column, &DataType::Utf8).is_ok();
        if text {
            let strings = cast(column, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let safe: StringArray = strings.iter().map(|v| v.map(defuse)).collect();
            fields.push(Field::new(name, DataType::Utf8, field.is_nullable()));
            columns.push(Arc::new(safe));
        } else {
            fields.push(Field::new(
                name,
                field.data_type().clone(),
                field.is_nullable(),
            ));
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array};

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("amount", DataType::Int64, true),
            Field::new("share", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("=HYPERLINK(\"http://x\",\"x\")"),
                    Some("+1"),
                    Some("-2"),
                    Some("@SUM(A1)"),
                    Some("\tx"),
                    Some("\rx"),
                    Some("王书记"),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![-5, 1, 2, 3, 4, 5, 6, 7])),
                Arc::new(Float64Array::from(vec![-0.5; 8])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        write_csv(&schema, &[batch], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name,amount,share");
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"x\"\")\",-5,-0.5"
        );
        assert_eq!(lines[2], "'+1,1,-0.5");
        assert_eq!(lines[3], "'-2,2,-0.5");
        assert_eq!(lines[4], "'@SUM(A1),3,-0.5");
        assert!(lines[5].starts_with("'\tx,4"), "{:?}", lines[5]);
        assert!(text.contains("王书记,6,-0.5"));
        assert!(text.contains("\n,7,-0.5"));
    }
}
