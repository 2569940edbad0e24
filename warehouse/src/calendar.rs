//! The calendar of the Party's rules as SQL functions, so that views, models and rules
//! say what they mean instead of spelling out the arithmetic:
//!
//! - `china_date(ts)`: the date of an instant in China Standard Time (UTC+8, no daylight
//!   saving) — the calendar of every deadline, month and quarter in the rules. The same as
//!   `CAST(ts + INTERVAL '8 hours' AS DATE)`.
//! - `add_months(date, n)`: the date n calendar months later (earlier for n < 0), the
//!   day of the month kept and clipped to the last day of a shorter month: a probation
//!   that began on 31 August 2025 ends on 28 February 2026 after six months. The 发展党员
//!   time rules (one year of probation, extensions in months, three months for a
//!   branch's answer) all count this way.
//!
//! Both are NULL where an argument is NULL.

use std::sync::Arc;

use chrono::{Months, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// China Standard Time is UTC+8 all year.
const CHINA_OFFSET_MICROS: i64 = 8 * 3_600 * 1_000_000;
const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// Registers `china_date` and `add_months`.
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    registry.register_udf(Arc::new(ScalarUDF::new_from_impl(ChinaDate::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::new_from_impl(AddMonths::new())))?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ChinaDate {
    signature: Signature,
}

impl ChinaDate {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ChinaDate {
    fn name(&self) -> &str {
        "china_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            DataType::Timestamp(..) | DataType::Null => Ok(DataType::Date32),
            other => Err(DataFusionError::Plan(format!(
                "china_date() takes a timestamp, not {other}"
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let input = args.args[0].to_array(rows)?;
        // As UTC instants: a timestamp without a zone is read as UTC, like the events'.
        let instants = cast(
            &input,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let dates: Date32Array = instants
            .as_primitive::<TimestampMicrosecondType>()
            .unary(|t| t.saturating_add(CHINA_OFFSET_MICROS).div_euclid(DAY_MICROS) as i32);
        answer(Arc::new(dates), scalar)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AddMonths {
    signature: Signature,
}

impl AddMonths {
    fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AddMonths {
    fn name(&self) -> &str {
        "add_months"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let date = matches!(
            arg_types[0],
            DataType::Date32 | DataType::Date64 | DataType::Null
        );
        let months = arg_types[1].is_integer() || arg_types[1] == DataType::Null;
        if date && months {
            Ok(DataType::Date32)
        } else {
            Err(DataFusionError::Plan(format!(
                "add_months() takes a date and a whole number of months, not ({}, {})",
                arg_types[0], arg_types[1]
            )))
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let dates = cast(&args.args[0].to_array(rows)?, &DataType::Date32)?;
        let months = cast(&args.args[1].to_array(rows)?, &DataType::Int64)?;
        let (dates, months) = (
            dates.as_primitive::<Date32Type>(),
            months.as_primitive::<Int64Type>(),
        );
        let out: Date32Array = (0..dates.len())
            .map(|i| {
                if dates.is_null(i) || months.is_null(i) {
                    return None;
                }
                Date32Type::to_naive_date_opt(dates.value(i))
                    .and_then(|day| add_months(day, months.value(i)))
                    .map(Date32Type::from_naive_date)
            })
            .collect();
        answer(Arc::new(out), scalar)
    }
}

/// `day` moved by `months` calendar months, clipped to the month's end; `None` past the
/// calendar's range.
fn add_months(day: NaiveDate, months: i64) -> Option<NaiveDate> {
    let n = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 {
        day.checked_add_months(n)
    } else {
        day.checked_sub_months(n)
    }
}

fn answer(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(
            datafusion::common::ScalarValue::try_from_array(&array, 0)?,
        ))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    fn context() -> SessionContext {
        let mut state = SessionContext::new().state();
        register(&mut state).unwrap();
        SessionContext::new_with_state(state)
    }

    async fn one(sql: &str) -> String {
        let ctx = context();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn china_dates_turn_at_sixteen_hundred_utc() {
        let table = one(
            "SELECT china_date(TIMESTAMP '2026-01-31T15:59:59Z') AS a, \
                    china_date(TIMESTAMP '2026-01-31T16:00:00Z') AS b, \
                    china_date(CAST(NULL AS TIMESTAMP)) AS c, \
                    china_date(TIMESTAMP '2026-01-31T16:00:00Z') \
                      = CAST(TIMESTAMP '2026-01-31T16:00:00Z' + INTERVAL '8 hours' AS DATE) AS same",
        )
        .await;
        assert!(
            table.contains("| 2026-01-31 | 2026-02-01 |   | true |"),
            "{table}"
        );
    }

    #[tokio::test]
    async fn months_keep_the_day_and_clip_to_the_months_end() {
        let table = one(
            "SELECT add_months(DATE '2025-08-31', 6) AS a, add_months(DATE '2024-02-29', 12) AS b, \
                    add_months(DATE '2026-03-31', -1) AS c, add_months(DATE '2026-01-15', 0) AS d, \
                    add_months(DATE '2026-01-15', CAST(NULL AS BIGINT)) AS e",
        )
        .await;
        assert!(
            table.contains("| 2026-02-28 | 2025-02-28 | 2026-02-28 | 2026-01-15 |   |"),
            "{table}"
        );
        let err = context()
            .sql("SELECT add_months('2026-01-01', 1.5)")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("add_months() takes a date"),
            "{err}"
        );
    }
}
