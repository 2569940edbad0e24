//! Functions whose output a query could blow up: `repeat`, `lpad`, `rpad` and
//! `array_repeat` build their result in one allocation that no memory pool sees
//! (`SELECT length(repeat('a', 1500000000))` took 1.5 GB and 25 s under a 1 GiB limit).
//! Each is replaced by the same function that first checks how large its result would
//! be and refuses one value over [`MAX_VALUE_BYTES`], naming the function.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// The largest single value (a string, or an array's elements) these functions make.
pub const MAX_VALUE_BYTES: usize = 16 << 20;

/// How the size of a result follows from the arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(text, n)`: len(text) × n bytes.
    Repeat,
    /// `lpad(text, n [, fill])` / `rpad`: n characters (up to 4 bytes each).
    Pad,
    /// `array_repeat(element, n)`: n elements (8 bytes each at least).
    ArrayRepeat,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    growth: Growth,
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let largest = largest_result(self.growth, &args.args)?;
        if largest > MAX_VALUE_BYTES {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{}() would make a value of about {largest} bytes; one value may hold at most {MAX_VALUE_BYTES}",
                self.name()
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

/// The largest result of any row, in bytes, estimated from the arguments.
fn largest_result(growth: Growth, args: &[ColumnarValue]) -> Result<usize> {
    let counts = match args.get(1) {
        Some(count) => integers(count)?,
        None => return Ok(0),
    };
    let max_count = counts.iter().copied().max().unwrap_or(0).max(0) as usize;
    Ok(match growth {
        Growth::Repeat => {
            let longest = args.first().map(longest_text).unwrap_or(0);
            longest.saturating_mul(max_count)
        }
        Growth::Pad => max_count.saturating_mul(4),
        Growth::ArrayRepeat => max_count.saturating_mul(8),
    })
}

fn integers(value: &ColumnarValue) -> Result<Vec<i64>> {
    Ok(match value {
        ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) => vec![n],
            _ => Vec::new(),
        },
        ColumnarValue::Array(a) => {
            let a = datafusion::arrow::compute::cast(a, &DataType::Int64)?;
            a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .iter()
                .flatten()
                .collect()
        }
    })
}

fn longest_text(value: &ColumnarValue) -> usize {
    match value {
        ColumnarValue::Scalar(s) => match s {
            ScalarValue::Utf8(Some(t))
            | ScalarValue::LargeUtf8(Some(t))
            | ScalarValue::Utf8View(Some(t)) => t.len(),
            _ => 0,
        },
        ColumnarValue::Array(a) => match datafusion::arrow::compute::cast(a, &DataType::Utf8) {
            Ok(a) => a
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::len)
                .max()
                .unwrap_or(0),
            Err(_) => a.get_array_memory_size(),
        },
    }
}

/// Replaces the built-in functions of `registry` with their bounded forms.
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for (name, growth) in [
        ("repeat", Growth::Repeat),
        ("lpad", Growth::Pad),
        ("rpad", Growth::Pad),
        ("array_repeat", Growth::ArrayRepeat),
    ] {
        let Ok(inner) = registry.udf(name) else {
            continue;
        };
        registry.register_udf(Arc::new(ScalarUDF::new_from_impl(Bounded {
            inner,
            growth,
        })))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn huge_values_are_refused_small_ones_made() {
        let mut state = SessionContext::new().state();
        super::register(&mut state).unwrap();
        let ctx = SessionContext::new_with_state(state);
        for sql in [
            "SELECT length(repeat('a', 1500000000))",
            "SELECT lpad('x', 1000000000)",
            "SELECT rpad('x', 1000000000, 'y')",
            "SELECT array_repeat(1, 100000000)",
        ] {
            // Constant arguments are folded while planning; others fail while running.
            let err = match ctx.sql(sql).await {
                Ok(df) => df.collect().await.map(|_| ()).unwrap_err(),
                Err(e) => e,
            };
            assert!(err.to_string().contains("at most"), "{sql}: {err}");
        }
        let ok = ctx
            .sql("SELECT length(repeat('ab', 1000)) AS n, lpad('7', 3, '0') AS p")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(ok[0].num_rows(), 1);
    }
}
