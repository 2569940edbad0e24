//! [`Cockpit`]: a dashboard spec + an org + a period → the JSON of every panel.
//!
//! Without `as_of`, a panel reads its model's materialised table (`models/<name>/`, the
//! version the scheduler wrote last, held in memory by the [`ModelRunner`]); a model not
//! marked `materialise: true`, or not refreshed yet, is computed live. With `as_of`,
//! every panel is computed live over the events recorded up to that instant, so the
//! answer is what the cockpit would have shown then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Value, json};
use warehouse::arrow::array::RecordBatch;
use warehouse::arrow::datatypes::DataType;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::json::rows_json;
use warehouse::live::LiveTable;

use crate::materialise::{ModelRunner, ModelTable};
use crate::spec::{Chart, PanelSpec, Rows, Specs};
use crate::{Error, Result};

/// Rows a panel answers at most (a panel is a chart, not an export).
const PANEL_ROW_CAP: usize = 5_000;

/// An inclusive range of calendar months, `YYYY-MM` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The twelve months up to and including the month of `today`.
    pub fn last_twelve_months(today: NaiveDate) -> Self {
        let to = first_of_month(today);
        Self {
            from: to - chrono::Months::new(11),
            to,
        }
    }

    /// `from` / `to` as given (`YYYY-MM`), each defaulting to the twelve months up to
    /// `today`; `from` after `to` is refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self> {
        let to = match to {
            Some(t) => parse_month("to", t)?,
            None => first_of_month(today),
        };
        let from = match from {
            Some(f) => parse_month("from", f)?,
            None => to - chrono::Months::new(11),
        };
        if from > to {
            return Err(Error::InvalidParameter {
                field: "from",
                reason: format!("`from` ({}) is after `to` ({})", month(from), month(to)),
            });
        }
        Ok(Self { from, to })
    }

    fn last_day(&self) -> NaiveDate {
        self.to + chrono::Months::new(1) - chrono::Days::new(1)
    }
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn parse_month(field: &'static str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 7)
        .ok_or_else(|| Error::InvalidParameter {
            field,
            reason: format!("`{text}` is not a month; expected YYYY-MM, e.g. 2026-09"),
        })
}

/// The dashboards and how to answer them.
pub struct Cockpit {
    specs: Specs,
    runner: Arc<ModelRunner>,
    /// Reads of materialised model tables: each model is registered here once, under
    /// its name, as a [`LiveTable`] that the newest materialised version is published
    /// to before a panel reads it.
    materialised: SessionContext,
    registered: Mutex<HashMap<String, Arc<LiveTable>>>,
}

impl std::fmt::Debug for Cockpit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cockpit")
            .field("dashboards", &self.specs.all().len())
            .finish_non_exhaustive()
    }
}

impl Cockpit {
    pub fn new(specs: Specs, runner: Arc<ModelRunner>) -> Self {
        Self {
            specs,
            runner,
            materialised: SessionContext::new(),
            registered: Mutex::default(),
        }
    }

    pub fn specs(&self) -> &Specs {
        &self.specs
    }

    /// `{"dashboards": [{id, title, level, description, panels}]}`.
    pub fn list(&self) -> Value {
        let dashboards: Vec<Value> = self
            .specs
            .all()
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "title": d.title,
                    "level": d.level,
                    "description": d.description,
                    "panels": d.panels.len(),
                })
            })
            .collect();
        json!({ "dashboards": dashboards })
    }

    /// Every panel of dashboard `id` for `org` (which the caller has checked is known
    /// and in scope) over `period`. A panel whose query fails carries its error and
    /// the others still answer.
    pub async fn render(
        &self,
        id: &str,
        org: &str,
        period: Period,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Value> {
        let spec = self.specs.get(id).ok_or_else(|| Error::UnknownDashboard {
            id: id.to_string(),
            known: self
                .specs
                .all()
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let warehouse = self.runner.warehouse();
        let orgs = warehouse.orgs();
        let live = match as_of {
            Some(t) => Some(warehouse.as_of_context(t).await?),
            None => None,
        };
        let mut freshness: Option<DateTime<Utc>> = None;
        let mut all_materialised = live.is_none();
        let mut panels = Vec::with_capacity(spec.panels.len());
        for panel in &spec.panels {
            let source = match &live {
                Some(ctx) => Source::Live(ctx.clone()),
                None => match self.runner.model_table(&panel.model).await {
                    Ok(Some(table)) => {
                        self.publish(&panel.model, &table)?;
                        if let Some(t) = table.refreshed_at {
                            freshness = Some(freshness.map_or(t, |f| f.min(t)));
                        }
                        Source::Materialised
                    }
                    _ => {
                        all_materialised = false;
                        Source::Live(warehouse.context())
                    }
                },
            };
            let ctx = match &source {
                Source::Live(ctx) => ctx,
                Source::Materialised => &self.materialised,
            };
            panels.push(match self.panel(ctx, panel, org, period).await {
                Ok(value) => value,
                Err(e) => {
                    tracing::warn!(dashboard = id, panel = panel.id, error = %e, "panel failed");
                    panel_json(
                        panel,
                        Vec::new(),
                        Value::Array(Vec::new()),
                        Some(e.to_string()),
                    )
                }
            });
        }
        let node = orgs.get(org);
        let org_json = |id: &str, node: &warehouse::orgs::OrgNode| json!({"org_id": id, "name": node.name, "kind": node.kind});
        let path: Vec<Value> = orgs
            .path(org)
            .iter()
            .map(|(id, node)| org_json(id, node))
            .collect();
        let children: Vec<Value> = orgs
            .children(org)
            .iter()
            .filter_map(|id| orgs.get(id).map(|n| org_json(id, &n)))
            .collect();
        let freshness = match (as_of, all_materialised) {
            (Some(t), _) => Some(t),
            (None, true) => freshness,
            (None, false) => Some(Utc::now()),
        };
        Ok(json!({
            "id": spec.id,
            "title": spec.title,
            "level": spec.level,
            "org": {
                "org_id": org,
                "name": node.as_ref().map(|n| n.name.as_str()),
                "kind": node.as_ref().map(|n| n.kind.as_str()),
                "path": path,
                "children": children,
            },
            "period": {"from": month(period.from), "to": month(period.to)},
            "as_of": as_of,
            "source": if as_of.is_none() && all_materialised { "materialised" } else { "live" },
            "freshness": freshness,
            "panels": panels,
        }))
    }

    /// Makes `table` what reads of `model` in the materialised session see.
    fn publish(&self, model: &str, table: &ModelTable) -> Result<()> {
        let mut registered = self.registered.lock().expect("cockpit lock poisoned");
        if let Some(live) = registered.get(model) {
            live.publish(table.provider.clone(), table.version);
            return Ok(());
        }
        let live = Arc::new(LiveTable::new(table.provider.clone(), table.version));
        self.materialised
            .register_table(model, live.clone())
            .map_err(|source| Error::Query {
                model: model.to_string(),
                source,
            })?;
        registered.insert(model.to_string(), live);
        Ok(())
    }

    async fn panel(
        &self,
        ctx: &SessionContext,
        panel: &PanelSpec,
        org: &str,
        period: Period,
    ) -> Result<Value> {
        let query_error = |source| Error::Query {
            model: panel.model.clone(),
            source,
        };
        let schema = ctx
            .table(panel.model.as_str())
            .await
            .map_err(query_error)?
            .schema()
            .inner()
            .clone();
        let orgs = self.runner.warehouse().orgs();
        let org_ids = match panel.rows {
            Rows::Own => vec![org.to_string()],
            Rows::Children => orgs.children(org),
            Rows::Subtree => orgs.subtree(org),
        };
        let mut predicates = vec![format!(
            "org_id IN ({})",
            warehouse::queries::sql_string_list(&org_ids)
        )];
        if let Some(column) = &panel.period {
            // A key figure shows its change from the period before: give it that row.
            let period = if panel.chart == Chart::Kpi {
                Period {
                    from: period.from - chrono::Months::new(1),
                    to: period.to,
                }
            } else {
                period
            };
            let field = schema.field_with_name(column).map_err(|e| {
                query_error(warehouse::datafusion::error::DataFusionError::ArrowError(
                    Box::new(e),
                    None,
                ))
            })?;
            predicates.push(period_predicate(column, field.data_type(), period));
        }
        if let Some(filter) = &panel.filter {
            predicates.push(format!("({filter})"));
        }
        let mut columns: Vec<&str> = Vec::new();
        for c in panel.dimensions.iter().chain(&panel.measures) {
            if !columns.contains(&c.as_str()) {
                columns.push(c);
            }
        }
        if panel.rows != Rows::Own && !columns.contains(&"org_id") {
            columns.insert(0, "org_id");
        }
        let order = panel.order.clone().unwrap_or_else(|| {
            if panel.dimensions.is_empty() {
                "1".into()
            } else {
                panel
                    .dimensions
                    .iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        });
        let sql = format!(
            "SELECT {} FROM \"{}\" WHERE {} ORDER BY {order} LIMIT {}",
            columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            panel.model,
            predicates.join(" AND "),
            panel.limit.unwrap_or(PANEL_ROW_CAP).min(PANEL_ROW_CAP),
        );
        let batches: Vec<RecordBatch> = ctx
            .sql(&sql)
            .await
            .map_err(query_error)?
            .collect()
            .await
            .map_err(query_error)?;
        let mut rows = rows_json(&batches).map_err(|e| {
            query_error(warehouse::datafusion::error::DataFusionError::ArrowError(
                Box::new(e),
                None,
            ))
        })?;
        // Rows of other orgs carry the org's name, for labels and drill-down links.
        if panel.rows != Rows::Own {
            if let Value::Array(rows) = &mut rows {
                for row in rows.iter_mut().filter_map(Value::as_object_mut) {
                    if row.contains_key("org_name") {
                        continue;
                    }
                    let name = row
                        .get("org_id")
                        .and_then(Value::as_str)
                        .and_then(|id| orgs.get(id))
                        .map(|n| n.name);
                    row.insert("org_name".into(), json!(name));
                }
            }
        }
        let columns = columns.iter().map(|c| c.to_string()).collect();
        Ok(panel_json(panel, columns, rows, None))
    }
}

enum Source {
    Materialised,
    Live(SessionContext),
}

fn panel_json(
    panel: &PanelSpec,
    columns: Vec<String>,
    rows: Value,
    error: Option<String>,
) -> Value {
    json!({
        "id": panel.id,
        "title": panel.title,
        "model": panel.model,
        "chart": panel.chart,
        "dimensions": panel.dimensions,
        "measures": panel.measures,
        "columns": columns,
        "rows": rows,
        "error": error,
    })
}

/// The period filter for a column, by its type: integer years, dates, or `YYYY-MM…`
/// text (months compare as text; a quarter `2026-Q3` or a year `2026` is kept when it
/// starts within the range).
fn period_predicate(column: &str, data_type: &DataType, period: Period) -> String {
    let (from, to) = (period.from, period.last_day());
    match data_type {
        DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt16
        | DataType::UInt32 => {
            format!("\"{column}\" BETWEEN {} AND {}", from.year(), to.year())
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
            format!("\"{column}\" BETWEEN DATE '{from}' AND DATE '{to}'")
        }
        _ => format!(
            "substr(CAST(\"{column}\" AS VARCHAR), 1, 7) BETWEEN '{}' AND '{}'",
            month(period.from),
            month(period.to)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_default_to_twelve_months_and_check_their_order() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let p = Period::parse(None, None, today).unwrap();
        assert_eq!(
            (month(p.from), month(p.to)),
            ("2025-12".into(), "2026-11".into())
        );
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let p = Period::parse(Some("2026-01"), Some("2026-03"), today).unwrap();
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        let err = Period::parse(Some("2026-05"), Some("2026-03"), today).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { field: "from", .. }));
        let err = Period::parse(Some("2026-5"), None, today).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { field: "from", .. }));
        let err = Period::parse(None, Some("26-05-01"), today).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { field: "to", .. }));
    }

    #[test]
    fn year_columns_filter_by_year() {
        let p = Period::parse(
            Some("2025-03"),
            Some("2026-02"),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        )
        .unwrap();
        assert_eq!(
            period_predicate("year", &DataType::Int32, p),
            "\"year\" BETWEEN 2025 AND 2026"
        );
        assert_eq!(
            period_predicate("month", &DataType::Utf8, p),
            "substr(CAST(\"month\" AS VARCHAR), 1, 7) BETWEEN '2025-03' AND '2026-02'"
        );
    }
}
