//! Arrow record batches as JSON rows, the shape every JSON answer of dangjian uses.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;
use serde_json::Value;

/// Rows as JSON objects, columns in schema order; nulls are kept, so every row has
/// every column. Non-finite floats (which JSON cannot hold) come out as `null`.
pub fn rows_json(batches: &[RecordBatch]) -> Result<Value, ArrowError> {
    let mut buf = Vec::new();
    {
        let builder = datafusion::arrow::json::WriterBuilder::new().with_explicit_nulls(true);
        let mut writer = builder.build::<_, datafusion::arrow::json::writer::JsonArray>(&mut buf);
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
    }
    if buf.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    serde_json::from_slice(&buf).map_err(|e| ArrowError::JsonError(e.to_string()))
}
