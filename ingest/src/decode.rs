//! Request bodies to JSON values: one object, an array of objects, or NDJSON.

use serde_json::Value;

use crate::{IngestError, Result};

/// How a body is framed, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: one event object or an array of them.
    Json,
    /// `application/x-ndjson`: one event object per line.
    Ndjson,
}

impl Format {
    /// The format for a `Content-Type` header value, or `None` if we do not take it.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(Format::Json),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines" => Some(Format::Ndjson),
            _ if essence.starts_with("application/") && essence.ends_with("+json") => {
                Some(Format::Json)
            }
            _ => None,
        }
    }
}

/// Splits a body into event values. Line and column are 1-based.
pub fn decode(body: &[u8], format: Format) -> Result<Vec<Value>> {
    match format {
        Format::Json => {
            let value: Value = serde_json::from_slice(body).map_err(malformed(0))?;
            match value {
                Value::Array(items) => Ok(items),
                other => Ok(vec![other]),
            }
        }
        Format::Ndjson => ndjson_lines(body)
            .map(|(i, line)| serde_json::from_slice(line).map_err(malformed(i)))
            .collect(),
    }
}

/// The lines of an NDJSON body that hold something, with their 0-based numbers: lines
/// end at `\n` (an `\r` before it is dropped), and blank lines are skipped.
pub(crate) fn ndjson_lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    body.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

fn malformed(line_offset: usize) -> impl Fn(serde_json::Error) -> IngestError {
    move |e| IngestError::Malformed {
        line: e.line() + line_offset,
        column: e.column(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_error_names_its_line() {
        let body = b"{\"a\":1}\n\n{\"a\":2}\n{\"a\": }\n";
        match decode(body, Format::Ndjson) {
            Err(IngestError::Malformed { line, column, .. }) => {
                assert_eq!((line, column), (4, 7));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_array_and_object() {
        assert_eq!(decode(b"[{}, {}]", Format::Json).unwrap().len(), 2);
        assert_eq!(decode(b"{}", Format::Json).unwrap().len(), 1);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("application/x-ndjson"),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_content_type("text/plain"), None);
    }
}
