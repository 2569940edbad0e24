//! Statistical tests as SQL aggregate functions: `chi2_test` and `anova_oneway`.
//!
//! Both are registered in every [`Warehouse`](crate::Warehouse) session by [`register`], work
//! with and without `GROUP BY`, and return a struct, so a query picks the fields it needs.
//! Their answers are checked against scipy (`tests/data/stats_fixtures.py` writes the
//! reference, `tests/data/stats_fixtures.json`) to 1e-9 relative, p-values included however
//! small; they agree to about 3e-13.
//!
//! ## Usage
//!
//! ```sql
//! SELECT branch, chi2_test(grade, rating)['p_value'] AS p FROM t GROUP BY branch;
//! SELECT (chi2_test(grade, rating))['chi2'] FROM t;
//! SELECT get_field(anova_oneway(branch, score), 'f') FROM t;
//! SELECT s['f'], s['p_value'] FROM (SELECT anova_oneway(branch, score) AS s FROM t);
//! SELECT s.f FROM (SELECT anova_oneway(branch, score) AS s FROM t);
//! ```
//!
//! DataFusion 55 reads a struct field with brackets, `expr['field']`, after any expression,
//! a function call included (parenthesised or not), or with `get_field(expr, 'field')`. The
//! dotted form works only on a column reference (`s.f`, `q.s.f`, here on the alias of a
//! subquery); `chi2_test(a, b).p_value` and `(chi2_test(a, b)).p_value` do not plan. The test
//! `field_access_syntax` pins each form.
//!
//! ## `chi2_test(a, b)`: Pearson's chi-square test of independence
//!
//! Arguments: two categorical columns of any type castable to text (numbers, dates, … are
//! compared by their text form). A row counts only when both are non-NULL; the empty
//! string is a category like any other. The rows form an r × c contingency table of
//! observed counts `O_ij` (every pair of observed categories is a cell, zero cells
//! included), with row totals `R_i`, column totals `C_j` and `n` rows in all.
//!
//! ```text
//! E_ij  = R_i · C_j / n                        expected count under independence
//! chi2  = Σ_ij (O_ij − E_ij)² / E_ij           no continuity (Yates) correction
//! dof   = (r − 1)(c − 1)
//! p     = P(X ≥ chi2), X ~ χ²(dof)             the survival function, not 1 − cdf,
//!                                              so a p-value of 1e-200 keeps its digits
//! V     = sqrt(chi2 / (n · (min(r, c) − 1)))   Cramér's V, 0 (independent) … 1
//! ```
//!
//! The result is `{chi2, dof, p_value, cramers_v, n, min_expected, cells_below_5}`, the
//! same numbers as `scipy.stats.chi2_contingency(table, correction=False)`. There is no
//! continuity correction even for 2 × 2 tables (scipy's default applies Yates' there):
//! the uncorrected statistic is the one Cramér's V is defined on. `min_expected` and
//! `cells_below_5` (cells with `E_ij < 5`) say whether the chi-square approximation can
//! be trusted; the usual rule wants no expected count below 1 and at most 20 % of cells
//! below 5. Zero cells are summed in closed form (`Σ_j∉row E_ij = R_i (n − Σ_j∈row C_j) / n`),
//! so a sparse table of many categories costs its non-zero cells, not r × c.
//!
//! ## `anova_oneway(group, value)`: one-way analysis of variance
//!
//! Arguments: a group column (castable to text, as above) and a numeric value. A row counts
//! only when both are non-NULL and the value is finite: NaN and ±∞ are skipped like NULL,
//! since a single one would make every sum of squares NaN. With `k` groups, `n_g` values
//! and mean `m_g` in group `g`, `N` values in all and grand mean `m`:
//!
//! ```text
//! SS_between = Σ_g n_g (m_g − m)²       df_between = k − 1
//! SS_within  = Σ_g Σ_i (x_gi − m_g)²    df_within  = N − k
//! F          = (SS_between / df_between) / (SS_within / df_within)
//! p          = P(X ≥ F), X ~ F(df_between, df_within)
//! eta²       = SS_between / (SS_between + SS_within)   share of variance between groups
//! ```
//!
//! as `scipy.stats.f_oneway`. Numerically:
//!
//! - Each group keeps `(count, shift, mean, m2)`: `shift` is the first value the group saw,
//!   `mean` is the mean of `x − shift` and `m2` the sum of squared deviations, both updated
//!   by Welford's recurrence; partial states (one per partition) are combined with Chan's
//!   formula after moving one mean onto the other's shift. There is no `Σx² − (Σx)²/n`
//!   cancellation, and values like 1e9 + x with unit spread keep their digits: a plain
//!   Welford mean near 1e9 is rounded to ulp(1e9) ≈ 1.2e-7 at every step, which cost seven
//!   digits of F on the `3_groups_1e9_offset` fixture.
//! - SS_between uses the group means measured from one group's shift, so a common offset
//!   never enters it; SS_total is SS_between + SS_within (scipy's `f_oneway` instead takes
//!   SS_within = SS_total − SS_between, which loses digits when groups lie far apart: the
//!   `3_groups_huge_f` fixture holds the exact answer there, not `f_oneway`'s).
//! - The p-value is the F survival function written through the regularized incomplete
//!   beta function, `I_x(df_w / 2, df_b / 2)` with `x = df_w / (df_w + df_b·F)`, as scipy's
//!   `fdtrc` evaluates it. statrs' `FisherSnedecor::sf` computes the same function but forms
//!   `x` as `1 − df_b·F / (df_b·F + df_w)`, which cancels as F grows: on `3_groups_huge_f`
//!   (F ≈ 1.6e9, p ≈ 8.6e-83) it is off by 2e-8 relative, so we call statrs'
//!   `checked_beta_reg` directly.
//!
//! ## Degenerate input
//!
//! Results never contain NaN or ±∞ (they could not be written to JSON): a statistic that
//! is undefined or infinite is NULL instead.
//!
//! - **No rows** (or no row with both arguments usable: NULL, or a non-finite value for
//!   `anova_oneway`): the whole struct is NULL, like `avg` of nothing.
//! - `chi2_test` with **a single category in `a` or in `b`** (one row, or one column, in
//!   the table; a single input row is such a case): independence cannot be tested, so
//!   `chi2`, `p_value` and `cramers_v` are NULL, while `dof` (= 0), `n`, `min_expected` and
//!   `cells_below_5` are filled.
//! - `anova_oneway` with **one group**: `df_between` = 0, so `f` and `p_value` are NULL;
//!   `eta_squared` is 0 (no variance lies between groups) when the values vary.
//! - `anova_oneway` with **as many groups as values** (every group a single value):
//!   `df_within` = 0, `f` and `p_value` are NULL. A single-value group among larger ones is
//!   fine: it adds to SS_between and nothing to SS_within.
//! - `anova_oneway` with **zero variance within every group** but different group means:
//!   F would be infinite; `f` and `p_value` are NULL, `eta_squared` is 1.
//! - `anova_oneway` with **zero total variance** (all values equal, a single row
//!   included): F is 0/0; `f`, `p_value` and `eta_squared` are NULL.
//! - Group means all equal with spread inside the groups: `f` = 0, `p_value` = 1,
//!   `eta_squared` = 0 (ordinary values, not a special case).
//! - Sums of squares that overflow `f64` (values beyond ~1e154) give NULL statistics, not ∞.
//!
//! In every non-NULL struct the degrees of freedom (and `n`) are filled.

use std::collections::BTreeMap;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray, StructArray,
};
use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::beta::checked_beta_reg;

/// Registers `chi2_test` and `anova_oneway` in a session (a `SessionState` or any other
/// function registry).
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    registry.register_udaf(Arc::new(chi2_test_udaf()))?;
    registry.register_udaf(Arc::new(anova_oneway_udaf()))?;
    Ok(())
}

/// The `chi2_test(a, b)` aggregate.
pub fn chi2_test_udaf() -> AggregateUDF {
    AggregateUDF::from(Chi2Test::new())
}

/// The `anova_oneway(group, value)` aggregate.
pub fn anova_oneway_udaf() -> AggregateUDF {
    AggregateUDF::from(AnovaOneway::new())
}

fn chi2_fields() -> Fields {
    Fields::from(vec![
        Field::new("chi2", DataType::Float64, true),
        Field::new("dof", DataType::Int64, true),
        Field::new("p_value", DataType::Float64, true),
        Field::new("cramers_v", DataType::Float64, true),
        Field::new("n", DataType::Int64, true),
        Field::new("min_expected", DataType::Float64, true),
        Field::new("cells_below_5", DataType::Int64, true),
    ])
}

fn anova_fields() -> Fields {
    Fields::from(vec![
        Field::new("f", DataType::Float64, true),
        Field::new("df_between", DataType::Int64, true),
        Field::new("df_within", DataType::Int64, true),
        Field::new("p_value", DataType::Float64, true),
        Field::new("eta_squared", DataType::Float64, true),
    ])
}

/// The type a category argument is read as: strings stay as they are (no copy), anything
/// else castable to text is cast to `Utf8` by the planner.
fn category_type(function: &str, position: usize, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(data_type.clone()),
        other if can_cast_types(other, &DataType::Utf8) => Ok(DataType::Utf8),
        other => plan_err!(
            "{function}: argument {position} has type {other}, which cannot be read as a category"
        ),
    }
}

/// The text of a category column, one entry per row, `None` for NULL.
fn category_texts(array: &ArrayRef) -> Result<Vec<Option<&str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        other => return internal_err!("category column of type {other} was not coerced to text"),
    })
}

fn list_type(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// State fields that are each a list (one element per cell or group) of `items`' types.
fn list_state_fields<const N: usize>(name: &str, items: [(&str, DataType); N]) -> Vec<FieldRef> {
    items
        .into_iter()
        .map(|(part, item)| {
            Arc::new(Field::new(
                format_state_name(name, part),
                list_type(item),
                true,
            ))
        })
        .collect()
}

fn list_scalar(values: ArrayRef) -> ScalarValue {
    ScalarValue::List(Arc::new(
        SingleRowListArrayBuilder::new(values).build_list_array(),
    ))
}

/// The rows of one list-typed state column: one child array per partial state, `None` for
/// a NULL state row.
fn state_lists(state: &ArrayRef, what: &str) -> Result<Vec<Option<ArrayRef>>> {
    let Some(lists) = state.as_list_opt::<i32>() else {
        return internal_err!("state `{what}` is {}, not a list", state.data_type());
    };
    Ok((0..lists.len())
        .map(|row| lists.is_valid(row).then(|| lists.value(row)))
        .collect())
}

fn state_strings<'a>(array: &'a ArrayRef, what: &str) -> Result<&'a StringArray> {
    match array.as_string_opt::<i32>() {
        Some(strings) => Ok(strings),
        None => internal_err!("state `{what}` holds {}, not Utf8", array.data_type()),
    }
}

fn state_i64<'a>(array: &'a ArrayRef, what: &str) -> Result<&'a Int64Array> {
    match array.as_primitive_opt::<Int64Type>() {
        Some(values) => Ok(values),
        None => internal_err!("state `{what}` holds {}, not Int64", array.data_type()),
    }
}

fn state_f64<'a>(array: &'a ArrayRef, what: &str) -> Result<&'a Float64Array> {
    match array.as_primitive_opt::<Float64Type>() {
        Some(values) => Ok(values),
        None => internal_err!("state `{what}` holds {}, not Float64", array.data_type()),
    }
}

/// A struct scalar from one-row columns, or the NULL struct when `columns` is `None`.
fn struct_scalar(fields: Fields, columns: Option<Vec<ArrayRef>>) -> Result<ScalarValue> {
    let array = match columns {
        Some(columns) => StructArray::try_new(fields, columns, None)?,
        None => StructArray::new_null(fields, 1),
    };
    Ok(ScalarValue::Struct(Arc::new(array)))
}

fn f64_cell(value: Option<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(vec![value.filter(|v| v.is_finite())]))
}

fn i64_cell(value: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![value]))
}

/// Saturating conversion for counts that become SQL `BIGINT`s.
fn to_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A rough size of a map entry keyed by a string: the key's heap bytes plus node overhead.
fn entry_bytes(key: &str, value_size: usize) -> usize {
    key.len() + size_of::<String>() + value_size + 2 * size_of::<usize>()
}

// --- chi2_test ------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Hash)]
struct Chi2Test {
    signature: Signature,
}

impl Chi2Test {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for Chi2Test {
    fn name(&self) -> &str {
        "chi2_test"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [a, b] = arg_types else {
            return plan_err!(
                "chi2_test takes two arguments (two categorical columns), got {}",
                arg_types.len()
            );
        };
        Ok(vec![
            category_type("chi2_test", 1, a)?,
            category_type("chi2_test", 2, b)?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(chi2_fields()))
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<ContingencyTable>::default())
    }

    /// The partial table as three parallel lists: cell row label, column label, count.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(list_state_fields(
            args.name,
            [
                ("a", DataType::Utf8),
                ("b", DataType::Utf8),
                ("count", DataType::Int64),
            ],
        ))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }
}

/// Observed counts by row label, then column label. Ordered maps make the state and the
/// order of floating-point sums independent of hash seeds.
#[derive(Debug, Default)]
struct ContingencyTable {
    cells: BTreeMap<String, BTreeMap<String, u64>>,
    heap_bytes: usize,
}

impl ContingencyTable {
    fn add(&mut self, a: &str, b: &str, count: u64) {
        if count == 0 {
            return;
        }
        let row = match self.cells.get_mut(a) {
            Some(row) => row,
            None => {
                self.heap_bytes += entry_bytes(a, size_of::<BTreeMap<String, u64>>());
                self.cells.entry(a.to_owned()).or_default()
            }
        };
        match row.get_mut(b) {
            Some(cell) => *cell = cell.saturating_add(count),
            None => {
                self.heap_bytes += entry_bytes(b, size_of::<u64>());
                row.insert(b.to_owned(), count);
            }
        }
    }

    fn result(&self) -> Option<Vec<ArrayRef>> {
        if self.cells.is_empty() {
            return None;
        }
        let mut col_totals: BTreeMap<&str, u64> = BTreeMap::new();
        let mut row_totals = Vec::with_capacity(self.cells.len());
        for row in self.cells.values() {
            let mut total = 0u64;
            for (b, &count) in row {
                *col_totals.entry(b.as_str()).or_default() += count;
                total += count;
            }
            row_totals.push(total);
        }
        let n: u64 = row_totals.iter().sum();
        let nf = n as f64;
        let (r, c) = (row_totals.len(), col_totals.len());

        // Σ (O − E)² / E over the non-zero cells, plus Σ E over each row's zero cells.
        let mut chi2 = 0.0;
        for (row, &row_total) in self.cells.values().zip(&row_totals) {
            let mut seen_columns_total = 0u64;
            for (b, &observed) in row {
                let col_total = col_totals.get(b.as_str()).copied().unwrap_or_default();
                seen_columns_total += col_total;
                let expected = row_total as f64 * col_total as f64 / nf;
                let diff = observed as f64 - expected;
                chi2 += diff * diff / expected;
            }
            chi2 += row_total as f64 * n.saturating_sub(seen_columns_total) as f64 / nf;
        }

        let mut sorted_cols: Vec<u64> = col_totals.values().copied().collect();
        sorted_cols.sort_unstable();
        let min_row = row_totals.iter().copied().min().unwrap_or_default();
        let min_col = sorted_cols.first().copied().unwrap_or_default();
        let min_expected = min_row as f64 * min_col as f64 / nf;
        // E_ij < 5  ⇔  R_i · C_j < 5n, decided in exact integers.
        let five_n = 5 * u128::from(n);
        let cells_below_5: u64 = row_totals
            .iter()
            .map(|&row_total| {
                sorted_cols.partition_point(|&col_total| {
                    u128::from(row_total) * u128::from(col_total) < five_n
                }) as u64
            })
            .sum();

        let dof = (r as u64 - 1) * (c as u64 - 1);
        let testable = r >= 2 && c >= 2 && chi2.is_finite();
        let (chi2, p_value, cramers_v) = if testable {
            let p = ChiSquared::new(dof as f64)
                .ok()
                .map(|distribution| distribution.sf(chi2).clamp(0.0, 1.0));
            let k = r.min(c) as f64;
            let v = (chi2 / (nf * (k - 1.0))).sqrt();
            (Some(chi2), p, Some(v))
        } else {
            (None, None, None)
        };
        Some(vec![
            f64_cell(chi2),
            i64_cell(to_i64(dof)),
            f64_cell(p_value),
            f64_cell(cramers_v),
            i64_cell(to_i64(n)),
            f64_cell(Some(min_expected)),
            i64_cell(to_i64(cells_below_5)),
        ])
    }
}

impl Accumulator for ContingencyTable {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [a, b] = values else {
            return internal_err!("chi2_test expects 2 columns, got {}", values.len());
        };
        let (a, b) = (category_texts(a)?, category_texts(b)?);
        for (a, b) in a.into_iter().zip(b) {
            if let (Some(a), Some(b)) = (a, b) {
                self.add(a, b, 1);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        struct_scalar(chi2_fields(), self.result())
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.heap_bytes
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let cells = self.cells.iter().flat_map(|(a, row)| {
            row.iter()
                .map(move |(b, &count)| (a.as_str(), b.as_str(), to_i64(count)))
        });
        let a: StringArray = cells.clone().map(|(a, _, _)| Some(a)).collect();
        let b: StringArray = cells.clone().map(|(_, b, _)| Some(b)).collect();
        let count: Int64Array = cells.map(|(_, _, count)| Some(count)).collect();
        Ok(vec![
            list_scalar(Arc::new(a)),
            list_scalar(Arc::new(b)),
            list_scalar(Arc::new(count)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [a, b, count] = states else {
            return internal_err!("chi2_test state has 3 columns, got {}", states.len());
        };
        let rows = state_lists(a, "a")?
            .into_iter()
            .zip(state_lists(b, "b")?)
            .zip(state_lists(count, "count")?);
        for ((a, b), count) in rows {
            let (Some(a), Some(b), Some(count)) = (a, b, count) else {
                continue;
            };
            let (a, b, count) = (
                state_strings(&a, "a")?,
                state_strings(&b, "b")?,
                state_i64(&count, "count")?,
            );
            for ((a, b), count) in a.iter().zip(b).zip(count) {
                if let (Some(a), Some(b), Some(count)) = (a, b, count) {
                    self.add(a, b, u64::try_from(count).unwrap_or_default());
                }
            }
        }
        Ok(())
    }
}

// --- anova_oneway ---------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq, Hash)]
struct AnovaOneway {
    signature: Signature,
}

impl AnovaOneway {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for AnovaOneway {
    fn name(&self) -> &str {
        "anova_oneway"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [group, value] = arg_types else {
            return plan_err!(
                "anova_oneway takes two arguments (group, numeric value), got {}",
                arg_types.len()
            );
        };
        if !(value.is_numeric() || value.is_null()) {
            return plan_err!("anova_oneway: argument 2 has type {value}, expected a number");
        }
        Ok(vec![
            category_type("anova_oneway", 1, group)?,
            DataType::Float64,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(anova_fields()))
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<GroupedMoments>::default())
    }

    /// Per group as parallel lists: label, count, shift, mean (from the shift), m2.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(list_state_fields(
            args.name,
            [
                ("group", DataType::Utf8),
                ("count", DataType::Int64),
                ("shift", DataType::Float64),
                ("mean", DataType::Float64),
                ("m2", DataType::Float64),
            ],
        ))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }
}

/// One group's count, mean and sum of squared deviations from the mean (`m2`), with the
/// mean kept relative to `shift`, the first value the group saw. Deviations `x − shift` of
/// nearby values are exact, so a mean near 1e9 is never rounded to a multiple of
/// ulp(1e9) ≈ 1.2e-7 while unit-sized deviations are summed (plain Welford loses about
/// seven digits of F that way). `m2` does not depend on the shift.
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    count: u64,
    shift: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Welford's update on `x − shift`.
    fn push(&mut self, x: f64) {
        if self.count == 0 {
            self.shift = x;
        }
        self.count += 1;
        let d = x - self.shift;
        let delta = d - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (d - self.mean);
    }

    /// Chan et al.'s combination of two partial moments, in this one's shift.
    fn merge(&mut self, other: Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other;
            return;
        }
        let count = self.count + other.count;
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let delta = (other.shift - self.shift) + other.mean - self.mean;
        self.mean += delta * (nb / n);
        self.m2 += other.m2 + delta * delta * (na * nb / n);
        self.count = count;
    }

    /// The group mean measured from `origin`.
    fn mean_from(&self, origin: f64) -> f64 {
        (self.shift - origin) + self.mean
    }
}

#[derive(Debug, Default)]
struct GroupedMoments {
    groups: BTreeMap<String, Moments>,
    heap_bytes: usize,
}

impl GroupedMoments {
    fn group(&mut self, label: &str) -> &mut Moments {
        if !self.groups.contains_key(label) {
            self.heap_bytes += entry_bytes(label, size_of::<Moments>());
        }
        self.groups.entry(label.to_owned()).or_default()
    }

    fn result(&self) -> Option<Vec<ArrayRef>> {
        let groups: Vec<Moments> = self.groups.values().copied().collect();
        // Means are measured from one group's shift (a data value), so large offsets
        // common to all values stay out of SS_between too.
        let origin = groups.first()?.shift;
        let total: u64 = groups.iter().map(|g| g.count).sum();
        let grand_mean = groups
            .iter()
            .map(|g| g.count as f64 * g.mean_from(origin))
            .sum::<f64>()
            / total as f64;
        let ss_between: f64 = groups
            .iter()
            .map(|g| {
                let d = g.mean_from(origin) - grand_mean;
                g.count as f64 * d * d
            })
            .sum();
        let ss_within: f64 = groups.iter().map(|g| g.m2).sum();
        let ss_total = ss_between + ss_within;
        // An overflowed sum of squares would turn into F = 0 or eta² = 0: no answer instead.
        let sums_finite = ss_total.is_finite();

        let df_between = groups.len() as u64 - 1;
        let df_within = total - groups.len() as u64;
        let f = (sums_finite && df_between > 0 && df_within > 0 && ss_within > 0.0)
            .then(|| (ss_between / df_between as f64) / (ss_within / df_within as f64))
            .filter(|f| f.is_finite());
        let p_value = f.and_then(|f| f_survival(f, df_between as f64, df_within as f64));
        let eta_squared = (sums_finite && ss_total > 0.0).then(|| ss_between / ss_total);
        Some(vec![
            f64_cell(f),
            i64_cell(to_i64(df_between)),
            i64_cell(to_i64(df_within)),
            f64_cell(p_value),
            f64_cell(eta_squared),
        ])
    }
}

/// P(X ≥ f) for X ~ F(d1, d2), as `I_x(d2/2, d1/2)` with `x = d2 / (d2 + d1·f)`: the
/// argument is formed without the `1 − …` that cancels for large `f`.
fn f_survival(f: f64, d1: f64, d2: f64) -> Option<f64> {
    let x = d2 / (d2 + d1 * f);
    checked_beta_reg(d2 / 2.0, d1 / 2.0, x.clamp(0.0, 1.0))
        .ok()
        .map(|p| p.clamp(0.0, 1.0))
}

impl Accumulator for GroupedMoments {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [group, value] = values else {
            return internal_err!("anova_oneway expects 2 columns, got {}", values.len());
        };
        let groups = category_texts(group)?;
        let Some(value) = value.as_primitive_opt::<Float64Type>() else {
            return internal_err!(
                "anova_oneway value column is {}, not Float64",
                value.data_type()
            );
        };
        for (group, value) in groups.into_iter().zip(value) {
            if let (Some(group), Some(value)) = (group, value)
                && value.is_finite()
            {
                self.group(group).push(value);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        struct_scalar(anova_fields(), self.result())
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.heap_bytes
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let labels: StringArray = self.groups.keys().map(Some).collect();
        let counts: Int64Array = self
            .groups
            .values()
            .map(|g| Some(to_i64(g.count)))
            .collect();
        let shifts: Float64Array = self.groups.values().map(|g| Some(g.shift)).collect();
        let means: Float64Array = self.groups.values().map(|g| Some(g.mean)).collect();
        let m2s: Float64Array = self.groups.values().map(|g| Some(g.m2)).collect();
        Ok(vec![
            list_scalar(Arc::new(labels)),
            list_scalar(Arc::new(counts)),
            list_scalar(Arc::new(shifts)),
            list_scalar(Arc::new(means)),
            list_scalar(Arc::new(m2s)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [labels, counts, shifts, means, m2s] = states else {
            return internal_err!("anova_oneway state has 5 columns, got {}", states.len());
        };
        let rows = state_lists(labels, "group")?
            .into_iter()
            .zip(state_lists(counts, "count")?)
            .zip(state_lists(shifts, "shift")?)
            .zip(state_lists(means, "mean")?)
            .zip(state_lists(m2s, "m2")?);
        for ((((labels, counts), shifts), means), m2s) in rows {
            let (Some(labels), Some(counts), Some(shifts), Some(means), Some(m2s)) =
                (labels, counts, shifts, means, m2s)
            else {
                continue;
            };
            let labels = state_strings(&labels, "group")?;
            let counts = state_i64(&counts, "count")?;
            let shifts = state_f64(&shifts, "shift")?;
            let means = state_f64(&means, "mean")?;
            let m2s = state_f64(&m2s, "m2")?;
            let groups = labels.iter().zip(counts).zip(shifts).zip(means).zip(m2s);
            for ((((label, count), shift), mean), m2) in groups {
                let (Some(label), Some(count), Some(shift), Some(mean), Some(m2)) =
                    (label, count, shift, mean, m2)
                else {
                    continue;
                };
                let count = u64::try_from(count).unwrap_or_default();
                self.group(label).merge(Moments {
                    count,
                    shift,
                    mean,
                    m2,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use datafusion::arrow::array::RecordBatch;
    use datafusion::arrow::datatypes::Schema;
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use serde::Deserialize;
    use serde_json::Value;

    /// scipy's answers; regenerate with `python3 tests/data/stats_fixtures.py`.
    const FIXTURES: &str = include_str!("../../tests/data/stats_fixtures.json");

    #[derive(Deserialize)]
    struct Fixtures {
        scipy_version: String,
        chi2: Vec<Chi2Case>,
        anova: Vec<AnovaCase>,
    }

    #[derive(Deserialize)]
    struct Chi2Case {
        name: String,
        rows: Vec<(Value, Value)>,
        expected: Chi2Expected,
    }

    #[derive(Deserialize)]
    struct Chi2Expected {
        chi2: f64,
        dof: i64,
        p_value: f64,
        cramers_v: f64,
        n: i64,
        min_expected: f64,
        cells_below_5: i64,
    }

    #[derive(Deserialize)]
    struct AnovaCase {
        name: String,
        rows: Vec<(Value, Value)>,
        expected: AnovaExpected,
    }

    #[derive(Deserialize)]
    struct AnovaExpected {
        f: f64,
        df_between: i64,
        df_within: i64,
        p_value: f64,
        eta_squared: f64,
    }

    fn fixtures() -> Fixtures {
        let fixtures: Fixtures = serde_json::from_str(FIXTURES).expect("fixture JSON parses");
        assert!(!fixtures.scipy_version.is_empty());
        fixtures
    }

    /// A JSON column as Arrow: Int64 if every value is an integer, Utf8 if every value is a
    /// string, Float64 otherwise.
    fn json_column<'a>(values: impl Iterator<Item = &'a Value> + Clone) -> ArrayRef {
        if values.clone().all(Value::is_i64) {
            Arc::new(values.map(Value::as_i64).collect::<Int64Array>())
        } else if values.clone().all(Value::is_string) {
            Arc::new(values.map(Value::as_str).collect::<StringArray>())
        } else {
            Arc::new(values.map(Value::as_f64).collect::<Float64Array>())
        }
    }

    /// A session with the statistics registered the way `Warehouse::open` does it.
    fn session(target_partitions: usize) -> SessionContext {
        let mut state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(SessionConfig::new().with_target_partitions(target_partitions))
            .build();
        register(&mut state).expect("statistics register");
        SessionContext::new_with_state(state)
    }

    /// Registers `t` with `columns`, its rows dealt round-robin into `partitions` partitions of
    /// `batches` batches each (so partial states really have to be merged).
    fn register_table(
        ctx: &SessionContext,
        columns: Vec<(&str, ArrayRef)>,
        partitions: usize,
        batches: usize,
    ) {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let whole = RecordBatch::try_new(
            schema.clone(),
            columns.into_iter().map(|(_, array)| array).collect(),
        )
        .expect("columns form a batch");
        let pieces = partitions * batches;
        let len = whole.num_rows();
        let chunk = len.div_ceil(pieces).max(1);
        let mut slices: Vec<RecordBatch> = (0..pieces)
            .map(|i| {
                let start = (i * chunk).min(len);
                whole.slice(start, chunk.min(len - start))
            })
            .collect();
        let mut layout = vec![Vec::new(); partitions];
        for (i, batch) in slices.drain(..).enumerate() {
            layout[i % partitions].push(batch);
        }
        let table = MemTable::try_new(schema, layout).expect("memtable");
        ctx.deregister_table("t").expect("deregister");
        ctx.register_table("t", Arc::new(table))
            .expect("register t");
    }

    async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
        ctx.sql(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The struct in column 0 of the first row of a one-row result.
    async fn single_struct(ctx: &SessionContext, sql: &str) -> StructArray {
        let batches = query(ctx, sql).await;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1, "{sql}: one row expected");
        let batch = batches
            .into_iter()
            .find(|b| b.num_rows() == 1)
            .expect("row");
        batch.column(0).as_struct().clone()
    }

    fn f64_field(result: &StructArray, row: usize, name: &str) -> Option<f64> {
        let column = result.column_by_name(name).expect("field exists");
        let values = column.as_primitive::<Float64Type>();
        values.is_valid(row).then(|| values.value(row))
    }

    fn i64_field(result: &StructArray, row: usize, name: &str) -> Option<i64> {
        let column = result.column_by_name(name).expect("field exists");
        let values = column.as_primitive::<Int64Type>();
        values.is_valid(row).then(|| values.value(row))
    }

    /// Relative tolerance 1e-9; below `floor` the tolerance becomes absolute (1e-9 · floor).
    fn assert_close(case: &str, field: &str, actual: Option<f64>, expected: f64, floor: f64) {
        let actual =
            actual.unwrap_or_else(|| panic!("{case}: {field} is NULL, scipy {expected:e}"));
        let tolerance = 1e-9 * expected.abs().max(floor);
        let error = (actual - expected).abs();
        assert!(
            error <= tolerance,
            "{case}: {field} = {actual:e}, scipy {expected:e} (relative error {:.2e})",
            error / expected.abs()
        );
    }

    /// Two one-row results agree: the same NULLs, the same integers, and floats equal up to
    /// 1e-12 relative (summation order differs between partition layouts).
    fn assert_same_result(label: &str, expected: &StructArray, actual: &StructArray) {
        assert_eq!(
            expected.is_null(0),
            actual.is_null(0),
            "{label}: struct validity"
        );
        for (field, column) in expected.fields().iter().zip(expected.columns()) {
            let name = field.name();
            let other = actual.column_by_name(name).expect("same fields");
            if column.data_type() != &DataType::Float64 {
                assert_eq!(column, other, "{label}: {name}");
                continue;
            }
            let (e, a) = (f64_field(expected, 0, name), f64_field(actual, 0, name));
            match (e, a) {
                (Some(e), Some(a)) => assert!(
                    (e - a).abs() <= 1e-12 * e.abs(),
                    "{label}: {name} = {a:e}, expected {e:e}"
                ),
                (e, a) => assert_eq!(e, a, "{label}: {name}"),
            }
        }
    }

    /// Statistics are compared relatively down to 1e-12, p-values relatively all the way down.
    const STAT_FLOOR: f64 = 1e-12;
    const P_FLOOR: f64 = f64::MIN_POSITIVE;

    fn check_chi2(case: &str, result: &StructArray, row: usize, expected: &Chi2Expected) {
        assert_close(
            case,
            "chi2",
            f64_field(result, row, "chi2"),
            expected.chi2,
            STAT_FLOOR,
        );
        assert_close(
            case,
            "p_value",
            f64_field(result, row, "p_value"),
            expected.p_value,
            P_FLOOR,
        );
        assert_close(
            case,
            "cramers_v",
            f64_field(result, row, "cramers_v"),
            expected.cramers_v,
            STAT_FLOOR,
        );
        assert_close(
            case,
            "min_expected",
            f64_field(result, row, "min_expected"),
            expected.min_expected,
            STAT_FLOOR,
        );
        assert_eq!(
            i64_field(result, row, "dof"),
            Some(expected.dof),
            "{case}: dof"
        );
        assert_eq!(i64_field(result, row, "n"), Some(expected.n), "{case}: n");
        assert_eq!(
            i64_field(result, row, "cells_below_5"),
            Some(expected.cells_below_5),
            "{case}: cells_below_5"
        );
    }

    fn check_anova(case: &str, result: &StructArray, row: usize, expected: &AnovaExpected) {
        assert_close(
            case,
            "f",
            f64_field(result, row, "f"),
            expected.f,
            STAT_FLOOR,
        );
        assert_close(
            case,
            "p_value",
            f64_field(result, row, "p_value"),
            expected.p_value,
            P_FLOOR,
        );
        assert_close(
            case,
            "eta_squared",
            f64_field(result, row, "eta_squared"),
            expected.eta_squared,
            STAT_FLOOR,
        );
        assert_eq!(
            i64_field(result, row, "df_between"),
            Some(expected.df_between),
            "{case}: df_between"
        );
        assert_eq!(
            i64_field(result, row, "df_within"),
            Some(expected.df_within),
            "{case}: df_within"
        );
    }

    fn chi2_columns(case: &Chi2Case) -> Vec<(&'static str, ArrayRef)> {
        vec![
            ("a", json_column(case.rows.iter().map(|(a, _)| a))),
            ("b", json_column(case.rows.iter().map(|(_, b)| b))),
        ]
    }

    fn anova_columns(case: &AnovaCase) -> Vec<(&'static str, ArrayRef)> {
        vec![
            ("g", json_column(case.rows.iter().map(|(g, _)| g))),
            ("x", json_column(case.rows.iter().map(|(_, x)| x))),
        ]
    }

    /// One partition of one batch, and 4 partitions of 3 batches each (partial aggregation
    /// plus merge).
    const LAYOUTS: [(usize, usize); 2] = [(1, 1), (4, 3)];

    #[tokio::test]
    async fn chi2_test_matches_scipy() {
        let fixtures = fixtures();
        assert!(fixtures.chi2.len() >= 10);
        for (partitions, batches) in LAYOUTS {
            let ctx = session(partitions);
            for case in &fixtures.chi2 {
                register_table(&ctx, chi2_columns(case), partitions, batches);
                let result = single_struct(&ctx, "SELECT chi2_test(a, b) FROM t").await;
                let label = format!("{} ({partitions}x{batches})", case.name);
                check_chi2(&label, &result, 0, &case.expected);
            }
        }
    }

    #[tokio::test]
    async fn anova_oneway_matches_scipy() {
        let fixtures = fixtures();
        assert!(fixtures.anova.len() >= 10);
        for (partitions, batches) in LAYOUTS {
            let ctx = session(partitions);
            for case in &fixtures.anova {
                register_table(&ctx, anova_columns(case), partitions, batches);
                let result = single_struct(&ctx, "SELECT anova_oneway(g, x) FROM t").await;
                let label = format!("{} ({partitions}x{batches})", case.name);
                check_anova(&label, &result, 0, &case.expected);
            }
        }
    }

    /// Several fixture cases in one table, told apart by `branch`, aggregated with GROUP BY
    /// over 4 partitions.
    #[tokio::test]
    async fn group_by_gives_each_group_its_own_test() {
        let fixtures = fixtures();
        let ctx = session(4);

        let chi2_cases: Vec<&Chi2Case> = fixtures.chi2.iter().take(6).collect();
        let rows: Vec<(&str, String, String)> = chi2_cases
            .iter()
            .flat_map(|case| {
                case.rows
                    .iter()
                    .map(|(a, b)| (case.name.as_str(), a.to_string(), b.to_string()))
            })
            .collect();
        register_table(
            &ctx,
            vec![
                (
                    "branch",
                    Arc::new(rows.iter().map(|r| Some(r.0)).collect::<StringArray>()),
                ),
                (
                    "a",
                    Arc::new(
                        rows.iter()
                            .map(|r| Some(r.1.as_str()))
                            .collect::<StringArray>(),
                    ),
                ),
                (
                    "b",
                    Arc::new(
                        rows.iter()
                            .map(|r| Some(r.2.as_str()))
                            .collect::<StringArray>(),
                    ),
                ),
            ],
            4,
            5,
        );
        let batches = query(
            &ctx,
            "SELECT branch, chi2_test(a, b) AS r, chi2_test(a, b)['p_value'] AS p \
             FROM t GROUP BY branch ORDER BY branch",
        )
        .await;
        let mut seen = 0;
        for batch in &batches {
            let branches = batch.column(0).as_string::<i32>();
            let results = batch.column(1).as_struct();
            let p = batch.column(2).as_primitive::<Float64Type>();
            for row in 0..batch.num_rows() {
                let case = chi2_cases
                    .iter()
                    .find(|c| c.name == branches.value(row))
                    .expect("known branch");
                check_chi2(&case.name, results, row, &case.expected);
                assert_close(
                    &case.name,
                    "['p_value']",
                    Some(p.value(row)),
                    case.expected.p_value,
                    P_FLOOR,
                );
                seen += 1;
            }
        }
        assert_eq!(seen, chi2_cases.len());

        let anova_cases: Vec<&AnovaCase> = fixtures.anova.iter().collect();
        let rows: Vec<(&str, String, f64)> = anova_cases
            .iter()
            .flat_map(|case| {
                case.rows.iter().map(|(g, x)| {
                    (
                        case.name.as_str(),
                        g.to_string(),
                        x.as_f64().expect("numeric value"),
                    )
                })
            })
            .collect();
        register_table(
            &ctx,
            vec![
                (
                    "branch",
                    Arc::new(rows.iter().map(|r| Some(r.0)).collect::<StringArray>()),
                ),
                (
                    "g",
                    Arc::new(
                        rows.iter()
                            .map(|r| Some(r.1.as_str()))
                            .collect::<StringArray>(),
                    ),
                ),
                (
                    "x",
                    Arc::new(rows.iter().map(|r| Some(r.2)).collect::<Float64Array>()),
                ),
            ],
            4,
            5,
        );
        let batches = query(
            &ctx,
            "SELECT branch, anova_oneway(g, x) FROM t GROUP BY branch ORDER BY branch",
        )
        .await;
        let mut seen = 0;
        for batch in &batches {
            let branches = batch.column(0).as_string::<i32>();
            let results = batch.column(1).as_struct();
            for row in 0..batch.num_rows() {
                let case = anova_cases
                    .iter()
                    .find(|c| c.name == branches.value(row))
                    .expect("known branch");
                check_anova(&case.name, results, row, &case.expected);
                seen += 1;
            }
        }
        assert_eq!(seen, anova_cases.len());
    }

    /// The multi-partition layout really plans a partial aggregation, so `state` and
    /// `merge_batch` are exercised by the SQL tests above.
    #[tokio::test]
    async fn partitioned_input_is_aggregated_in_two_phases() {
        let fixtures = fixtures();
        let ctx = session(4);
        register_table(&ctx, chi2_columns(&fixtures.chi2[0]), 4, 3);
        let plan = query(&ctx, "EXPLAIN SELECT chi2_test(a, b) FROM t").await;
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&plan)
            .expect("plan prints")
            .to_string();
        assert!(text.contains("mode=Partial"), "{text}");
        assert!(text.contains("mode=Final"), "{text}");
    }

    /// `state` / `merge_batch` directly: three partial accumulators merged into a fresh one
    /// give what one accumulator over all rows gives.
    #[test]
    fn merged_states_equal_one_pass() {
        fn check(mut acc: impl FnMut() -> Box<dyn Accumulator>, columns: [ArrayRef; 2]) {
            let len = columns[0].len();
            let mut whole = acc();
            whole.update_batch(&columns).expect("update");
            let expected = whole.evaluate().expect("evaluate");

            let mut merged = acc();
            let mut states: Vec<Vec<ScalarValue>> = Vec::new();
            for (start, end) in [(0, len / 5), (len / 5, len / 2), (len / 2, len)] {
                let mut part = acc();
                let slice: Vec<ArrayRef> = columns
                    .iter()
                    .map(|c| c.slice(start, end - start))
                    .collect();
                part.update_batch(&slice).expect("update part");
                states.push(part.state().expect("state"));
            }
            states.push(acc().state().expect("empty state"));
            let state_columns: Vec<ArrayRef> = (0..states[0].len())
                .map(|i| {
                    ScalarValue::iter_to_array(states.iter().map(|s| s[i].clone()))
                        .expect("state column")
                })
                .collect();
            merged.merge_batch(&state_columns).expect("merge");
            let actual = merged.evaluate().expect("evaluate merged");

            let (ScalarValue::Struct(expected), ScalarValue::Struct(actual)) = (expected, actual)
            else {
                panic!("struct results expected");
            };
            assert_same_result("merged", &expected, &actual);
        }

        let fixtures = fixtures();
        for case in &fixtures.chi2 {
            let [a, b] = [0, 1].map(|i| {
                let column = chi2_columns(case)[i].1.clone();
                datafusion::arrow::compute::cast(&column, &DataType::Utf8).expect("as text")
            });
            check(|| Box::<ContingencyTable>::default(), [a, b]);
        }
        for case in &fixtures.anova {
            let [g, x] = [(0, DataType::Utf8), (1, DataType::Float64)].map(|(i, t)| {
                datafusion::arrow::compute::cast(&anova_columns(case)[i].1, &t).expect("cast")
            });
            check(|| Box::<GroupedMoments>::default(), [g, x]);
        }
    }

    // --- degenerate input ------------------------------------------------------------------

    async fn chi2_of(ctx: &SessionContext, rows: &[(Option<&str>, Option<&str>)]) -> StructArray {
        register_table(
            ctx,
            vec![
                (
                    "a",
                    Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>()),
                ),
                (
                    "b",
                    Arc::new(rows.iter().map(|r| r.1).collect::<StringArray>()),
                ),
            ],
            2,
            1,
        );
        single_struct(ctx, "SELECT chi2_test(a, b) FROM t").await
    }

    async fn anova_of(ctx: &SessionContext, rows: &[(Option<&str>, Option<f64>)]) -> StructArray {
        register_table(
            ctx,
            vec![
                (
                    "g",
                    Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>()),
                ),
                (
                    "x",
                    Arc::new(rows.iter().map(|r| r.1).collect::<Float64Array>()),
                ),
            ],
            2,
            1,
        );
        single_struct(ctx, "SELECT anova_oneway(g, x) FROM t").await
    }

    #[tokio::test]
    async fn chi2_test_degenerate_input() {
        let ctx = session(2);

        // No rows, or no row with both values: the struct itself is NULL.
        assert!(chi2_of(&ctx, &[]).await.is_null(0));
        let only_nulls = chi2_of(&ctx, &[(None, Some("x")), (Some("y"), None), (None, None)]).await;
        assert!(only_nulls.is_null(0));

        // One row: a 1 × 1 table; no test, but the counts are there.
        let one = chi2_of(&ctx, &[(Some("a"), Some("x"))]).await;
        assert!(one.is_valid(0));
        for field in ["chi2", "p_value", "cramers_v"] {
            assert_eq!(f64_field(&one, 0, field), None, "{field}");
        }
        assert_eq!(i64_field(&one, 0, "dof"), Some(0));
        assert_eq!(i64_field(&one, 0, "n"), Some(1));
        assert_eq!(f64_field(&one, 0, "min_expected"), Some(1.0));
        assert_eq!(i64_field(&one, 0, "cells_below_5"), Some(1));

        // A single category of `a` (one row of the table) over three of `b`.
        let rows: Vec<_> = ["x", "y", "y", "z", "z", "z"]
            .iter()
            .map(|b| (Some("same"), Some(*b)))
            .collect();
        let single_a = chi2_of(&ctx, &rows).await;
        assert_eq!(f64_field(&single_a, 0, "chi2"), None);
        assert_eq!(f64_field(&single_a, 0, "p_value"), None);
        assert_eq!(i64_field(&single_a, 0, "dof"), Some(0));
        assert_eq!(i64_field(&single_a, 0, "n"), Some(6));
        assert_eq!(f64_field(&single_a, 0, "min_expected"), Some(1.0));
        assert_eq!(i64_field(&single_a, 0, "cells_below_5"), Some(3));

        // A single category of `b`.
        let rows: Vec<_> = ["p", "q", "q"]
            .iter()
            .map(|a| (Some(*a), Some("only")))
            .collect();
        let single_b = chi2_of(&ctx, &rows).await;
        assert_eq!(f64_field(&single_b, 0, "cramers_v"), None);
        assert_eq!(i64_field(&single_b, 0, "n"), Some(3));

        // NULLs in either column are ignored: same answer as the table without them.
        let clean = [
            (Some("a"), Some("x")),
            (Some("a"), Some("x")),
            (Some("a"), Some("y")),
            (Some("b"), Some("y")),
            (Some("b"), Some("y")),
            (Some("b"), Some("x")),
            (Some("b"), Some("y")),
        ];
        let mut noisy = clean.to_vec();
        noisy.extend([
            (None, Some("x")),
            (Some("a"), None),
            (None, None),
            (Some("c"), None),
        ]);
        let (clean, noisy) = (chi2_of(&ctx, &clean).await, chi2_of(&ctx, &noisy).await);
        assert_same_result("NULLs ignored", &clean, &noisy);
        assert_eq!(i64_field(&noisy, 0, "n"), Some(7));

        // Perfect association: chi2 = n, V = 1, p small but positive.
        let perfect: Vec<_> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    (Some("a"), Some("x"))
                } else {
                    (Some("b"), Some("y"))
                }
            })
            .collect();
        let perfect = chi2_of(&ctx, &perfect).await;
        assert_close(
            "perfect",
            "chi2",
            f64_field(&perfect, 0, "chi2"),
            40.0,
            STAT_FLOOR,
        );
        assert_close(
            "perfect",
            "cramers_v",
            f64_field(&perfect, 0, "cramers_v"),
            1.0,
            STAT_FLOOR,
        );
        assert!(f64_field(&perfect, 0, "p_value").is_some_and(|p| p > 0.0 && p < 1e-9));
    }

    #[tokio::test]
    async fn anova_oneway_degenerate_input() {
        let ctx = session(2);
        let all_null =
            |s: &StructArray| ["f", "p_value"].map(|field| f64_field(s, 0, field)) == [None, None];

        // No rows, or no row with both a group and a finite value: NULL struct.
        assert!(anova_of(&ctx, &[]).await.is_null(0));
        let unusable = [
            (None, Some(1.0)),
            (Some("a"), None),
            (Some("a"), Some(f64::NAN)),
        ];
        assert!(anova_of(&ctx, &unusable).await.is_null(0));

        // One row.
        let one = anova_of(&ctx, &[(Some("a"), Some(3.0))]).await;
        assert!(all_null(&one));
        assert_eq!(f64_field(&one, 0, "eta_squared"), None);
        assert_eq!(i64_field(&one, 0, "df_between"), Some(0));
        assert_eq!(i64_field(&one, 0, "df_within"), Some(0));

        // One group with spread: no F, and nothing lies between groups.
        let one_group = anova_of(
            &ctx,
            &[
                (Some("a"), Some(1.0)),
                (Some("a"), Some(2.0)),
                (Some("a"), Some(4.0)),
            ],
        )
        .await;
        assert!(all_null(&one_group));
        assert_eq!(f64_field(&one_group, 0, "eta_squared"), Some(0.0));
        assert_eq!(i64_field(&one_group, 0, "df_within"), Some(2));

        // Every group a single value: df_within = 0.
        let singletons = anova_of(
            &ctx,
            &[
                (Some("a"), Some(1.0)),
                (Some("b"), Some(2.0)),
                (Some("c"), Some(4.0)),
            ],
        )
        .await;
        assert!(all_null(&singletons));
        assert_eq!(i64_field(&singletons, 0, "df_between"), Some(2));
        assert_eq!(i64_field(&singletons, 0, "df_within"), Some(0));
        assert_eq!(f64_field(&singletons, 0, "eta_squared"), Some(1.0));

        // Zero variance inside every group, different means: F would be infinite.
        let flat_groups = [
            (Some("a"), Some(0.1)),
            (Some("a"), Some(0.1)),
            (Some("a"), Some(0.1)),
            (Some("b"), Some(7.3)),
            (Some("b"), Some(7.3)),
        ];
        let flat = anova_of(&ctx, &flat_groups).await;
        assert!(all_null(&flat));
        assert_eq!(f64_field(&flat, 0, "eta_squared"), Some(1.0));
        assert_eq!(i64_field(&flat, 0, "df_within"), Some(3));

        // Zero total variance: F = 0/0, eta² = 0/0.
        let constant = anova_of(
            &ctx,
            &[
                (Some("a"), Some(5.0)),
                (Some("a"), Some(5.0)),
                (Some("b"), Some(5.0)),
                (Some("b"), Some(5.0)),
            ],
        )
        .await;
        assert!(all_null(&constant));
        assert_eq!(f64_field(&constant, 0, "eta_squared"), None);
        assert_eq!(i64_field(&constant, 0, "df_between"), Some(1));

        // Equal group means, spread inside: F = 0, p = 1.
        let equal_means = anova_of(
            &ctx,
            &[
                (Some("a"), Some(1.0)),
                (Some("a"), Some(3.0)),
                (Some("b"), Some(0.0)),
                (Some("b"), Some(4.0)),
            ],
        )
        .await;
        assert_eq!(f64_field(&equal_means, 0, "f"), Some(0.0));
        assert_eq!(f64_field(&equal_means, 0, "p_value"), Some(1.0));
        assert_eq!(f64_field(&equal_means, 0, "eta_squared"), Some(0.0));

        // NULLs, NaN and ±∞ are skipped: same answer as without them.
        let clean = [
            (Some("a"), Some(1.0)),
            (Some("a"), Some(2.5)),
            (Some("b"), Some(4.0)),
            (Some("b"), Some(3.0)),
            (Some("b"), Some(6.0)),
        ];
        let mut noisy = clean.to_vec();
        noisy.extend([
            (Some("a"), None),
            (None, Some(100.0)),
            (Some("b"), Some(f64::NAN)),
            (Some("a"), Some(f64::INFINITY)),
            (Some("c"), Some(f64::NEG_INFINITY)),
        ]);
        let (clean, noisy) = (anova_of(&ctx, &clean).await, anova_of(&ctx, &noisy).await);
        assert_same_result("non-finite values skipped", &clean, &noisy);

        // Sums of squares that overflow f64 give NULLs, not ∞ or a bogus F = 0.
        let huge = anova_of(
            &ctx,
            &[
                (Some("a"), Some(1e300)),
                (Some("a"), Some(-1e300)),
                (Some("b"), Some(1.0)),
                (Some("b"), Some(2.0)),
            ],
        )
        .await;
        assert!(all_null(&huge));
        assert_eq!(f64_field(&huge, 0, "eta_squared"), None);
    }

    /// Which struct-field syntaxes DataFusion 55 accepts on an aggregate's result (see the
    /// module doc). If a rejected form starts to work after an upgrade, update the doc.
    #[tokio::test]
    async fn field_access_syntax() {
        let ctx = session(2);
        register_table(
            &ctx,
            vec![
                (
                    "a",
                    Arc::new(StringArray::from(vec!["x", "x", "y", "y", "x", "y"])),
                ),
                (
                    "b",
                    Arc::new(StringArray::from(vec!["p", "p", "q", "q", "q", "p"])),
                ),
            ],
            2,
            1,
        );
        let expected_dof = |batches: &[RecordBatch]| {
            let batch = batches.iter().find(|b| b.num_rows() == 1).expect("row");
            assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 1);
        };
        for sql in [
            "SELECT chi2_test(a, b)['dof'] FROM t",
            "SELECT (chi2_test(a, b))['dof'] FROM t",
            "SELECT get_field(chi2_test(a, b), 'dof') FROM t",
            "SELECT r['dof'] FROM (SELECT chi2_test(a, b) AS r FROM t)",
            "SELECT r.dof FROM (SELECT chi2_test(a, b) AS r FROM t)",
            "SELECT s.r.dof FROM (SELECT chi2_test(a, b) AS r FROM t) AS s",
        ] {
            expected_dof(&query(&ctx, sql).await);
        }
        for sql in [
            "SELECT chi2_test(a, b).dof FROM t",
            "SELECT (chi2_test(a, b)).dof FROM t",
        ] {
            let planned = match ctx.sql(sql).await {
                Ok(frame) => frame.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            assert!(
                planned.is_err(),
                "{sql} now works: document it in the module doc"
            );
        }
    }

    /// `Warehouse::open` registers both functions in the session every query copies.
    #[tokio::test]
    async fn warehouse_sessions_have_the_statistics() {
        let root = crate::StorageRoot::parse("memory:///").expect("memory root");
        let catalog = crate::queries::QueryCatalog::embedded().expect("embedded queries");
        let (warehouse, _events) = crate::Warehouse::open(root, catalog)
            .await
            .expect("warehouse opens");
        let batches = query(
            &warehouse.context(),
            "SELECT chi2_test(a, b)['n'], anova_oneway(a, x)['df_within'] \
             FROM (VALUES ('p', 'u', 1.0), ('q', 'v', 2.0), ('q', 'u', 4.0)) AS v(a, b, x)",
        )
        .await;
        let batch = batches.iter().find(|b| b.num_rows() == 1).expect("one row");
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 3);
        assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), 1);
    }

    #[tokio::test]
    async fn argument_types() {
        let ctx = session(1);
        register_table(
            &ctx,
            vec![
                ("i", Arc::new(Int64Array::from(vec![1, 1, 2, 2, 1]))),
                (
                    "x",
                    Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5, 4.0, 0.5])),
                ),
                (
                    "s",
                    Arc::new(StringArray::from(vec!["u", "v", "u", "v", "v"])),
                ),
            ],
            1,
            1,
        );
        // Integers and floats are categories by their text; integers are numeric values.
        let by_int = single_struct(&ctx, "SELECT chi2_test(i, s) FROM t").await;
        let by_text = single_struct(&ctx, "SELECT chi2_test(CAST(i AS VARCHAR), s) FROM t").await;
        assert_eq!(by_int, by_text);
        let anova = single_struct(&ctx, "SELECT anova_oneway(s, i) FROM t").await;
        assert_eq!(i64_field(&anova, 0, "df_within"), Some(3));
        let view = single_struct(
            &ctx,
            "SELECT anova_oneway(arrow_cast(s, 'Utf8View'), x) FROM t",
        )
        .await;
        assert_eq!(i64_field(&view, 0, "df_between"), Some(1));

        for sql in [
            "SELECT anova_oneway(s, s) FROM t",
            "SELECT chi2_test(s) FROM t",
            "SELECT anova_oneway(s, x, x) FROM t",
        ] {
            let error = ctx
                .sql(sql)
                .await
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!error.is_empty(), "{sql} should not plan");
        }
    }
}
