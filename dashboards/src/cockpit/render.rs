//! [`Cockpit`]: a dashboard spec + an org + a period → the JSON of every panel.
//!
//! Without `as_of`, a panel reads its model's materialised table (`models/<name>/`, the
//! version the scheduler wrote last, held in memory by the [`ModelRunner`]); a model not
//! marked `materialise: true`, or not refreshed yet, is computed live. With `as_of`, the
//! answer is what the cockpit showed at that instant: each panel reads its model's table
//! at the version that was current then (Delta time travel to the version of the last
//! refresh that had finished, from the run history), and a model that had no table then
//! (or whose old files were vacuumed) is computed live over the events recorded up to
//! that instant. [`AsOf::live`] computes every panel live.
//!
//! [`Cockpit::render_json`] answers the encoded JSON, and keeps the materialised answers
//! in a [`ResponseCache`] keyed by dashboard, org and period and checked against the
//! model versions and org tree they were rendered from (see [`crate::cockpit::cache`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Value, json};
use warehouse::arrow::array::RecordBatch;
use warehouse::arrow::datatypes::DataType;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::json::rows_json;
use warehouse::live::LiveTable;

use crate::clock::SharedClock;
use crate::cockpit::cache::{CacheKey, Encoded, Inputs, ResponseCache};
use crate::cockpit::spec::{Chart, DashboardSpec, PanelSpec, Rows, Specs};
use crate::models::materialise::{ModelRunner, ModelTable};
use crate::{Error, Result};

/// A past instant a dashboard is asked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    pub at: DateTime<Utc>,
    /// Compute every panel over the events recorded by `at`, even where a model table of
    /// that instant exists.
    pub live: bool,
}

/// Rows a panel answers at most (a panel is a chart, not an export).
const PANEL_ROW_CAP: usize = 5_000;

/// Materialised answers kept by default: 4 dashboards × ~100 orgs × a few periods in
/// use, at ~10–60 KiB each — tens of MiB at most.
pub const DEFAULT_CACHE_ENTRIES: usize = 1_024;

/// How long a live (`as_of`) answer may take by default: it computes every panel's model
/// over the events, which takes seconds in a release build and far longer in a debug one.
pub const DEFAULT_LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

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
    cache: ResponseCache,
    /// "Now" of a live answer's freshness.
    clock: SharedClock,
    /// How long a live (`as_of`) answer may take.
    live_timeout: std::time::Duration,
    /// The session of the last `as_of` asked for, reused by the next dashboard of the
    /// same instant (a leader going from board to board) while it still answers the same.
    last_as_of: Mutex<Option<AsOfSession>>,
}

/// The session of the events recorded by `as_of`, built (once, by whichever request
/// comes first) from `version` of the events table at `built_at`.
struct AsOfSession {
    as_of: DateTime<Utc>,
    version: Option<u64>,
    built_at: DateTime<Utc>,
    ctx: Arc<tokio::sync::OnceCell<SessionContext>>,
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
            cache: ResponseCache::new(DEFAULT_CACHE_ENTRIES),
            clock: Arc::new(crate::SystemClock),
            live_timeout: DEFAULT_LIVE_TIMEOUT,
            last_as_of: Mutex::new(None),
        }
    }

    /// How long a live (`as_of`) answer may take before it is cancelled.
    pub fn with_live_timeout(mut self, limit: std::time::Duration) -> Self {
        self.live_timeout = limit;
        self
    }

    /// The process's clock (the server passes the ingest writer's).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps at most `entries` materialised answers in memory (0: none, every request
    /// renders).
    pub fn with_cache_entries(mut self, entries: usize) -> Self {
        self.cache = ResponseCache::new(entries);
        self
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
        as_of: Option<AsOf>,
    ) -> Result<Value> {
        Ok(self
            .render_spec(self.spec(id)?, org, period, as_of)
            .await?
            .0)
    }

    /// [`Cockpit::render`] encoded as JSON. Without `as_of` the answer comes from the
    /// response cache when the models and org tree are still those it was rendered
    /// from; otherwise it is rendered and, if every panel read a materialised table
    /// and none failed, stored.
    pub async fn render_json(
        self: &Arc<Self>,
        id: &str,
        org: &str,
        period: Period,
        as_of: Option<AsOf>,
    ) -> Result<Arc<Encoded>> {
        let spec = self.spec(id)?;
        if as_of.is_some() {
            // Live work runs on the query runtime, like analyst SQL.
            let (this, id, org) = (self.clone(), id.to_string(), org.to_string());
            let executor = self.runner.warehouse().executor().clone();
            let (value, _) = executor
                .run(async move {
                    let spec = this.spec(&id)?;
                    this.render_spec(spec, &org, period, as_of).await
                })
                .await??;
            return Ok(encode(&value));
        }
        if !self.cache.enabled() {
            let (value, _) = self.render_spec(spec, org, period, as_of).await?;
            return Ok(encode(&value));
        }
        let key = CacheKey {
            dashboard: spec.id.clone(),
            org: org.to_string(),
            from: period.from,
            to: period.to,
        };
        if let Some(inputs) = self.current_inputs(spec).await {
            if let Some(json) = self.cache.get(&key, &inputs) {
                metrics::counter!("dangjian_dashboard_cache_total", "result" => "hit").increment(1);
                return Ok(json);
            }
        }
        metrics::counter!("dangjian_dashboard_cache_total", "result" => "miss").increment(1);
        let (value, inputs) = self.render_spec(spec, org, period, None).await?;
        let json = encode(&value);
        if let Some(inputs) = inputs {
            self.cache.insert(key, inputs, json.clone());
        }
        Ok(json)
    }

    fn spec(&self, id: &str) -> Result<&DashboardSpec> {
        self.specs.get(id).ok_or_else(|| Error::UnknownDashboard {
            id: id.to_string(),
            known: self
                .specs
                .all()
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// What a materialised rendering of `spec` would read now; `None` if some panel's
    /// model has no materialised table (it would be computed live: not cacheable).
    async fn current_inputs(&self, spec: &DashboardSpec) -> Option<Inputs> {
        let orgs = self.runner.warehouse().orgs().generation();
        let mut models = Vec::with_capacity(spec.panels.len());
        for panel in &spec.panels {
            models.push(self.runner.model_table(&panel.model).await.ok()??.version);
        }
        Some(Inputs { orgs, models })
    }

    /// [`Self::compute`], bounded when it is live (`as_of`): a place among the bounded
    /// queries of the process (or 503 busy), its memory pool, and the SQL time limit.
    async fn render_spec(
        &self,
        spec: &DashboardSpec,
        org: &str,
        period: Period,
        as_of: Option<AsOf>,
    ) -> Result<(Value, Option<Inputs>)> {
        if as_of.is_none() {
            return self.compute(spec, org, period, None).await;
        }
        let warehouse = self.runner.warehouse();
        let _place = warehouse.admit().await?;
        let limit = self.live_timeout;
        tokio::time::timeout(limit, self.compute(spec, org, period, as_of))
            .await
            .map_err(|_| Error::Warehouse(warehouse::Error::Timeout { limit }))?
    }

    /// The dashboard's JSON, and — when every panel read a materialised table and none
    /// failed — the inputs it was computed from (for the response cache).
    async fn compute(
        &self,
        spec: &DashboardSpec,
        org: &str,
        period: Period,
        as_of: Option<AsOf>,
    ) -> Result<(Value, Option<Inputs>)> {
        let id = spec.id.as_str();
        let warehouse = self.runner.warehouse();
        let orgs = warehouse.orgs();
        // Read before any panel: a tree changed meanwhile makes the entry look older
        // than it is (a later miss), never newer.
        let orgs_generation = orgs.generation();
        let mut versions = Vec::with_capacity(spec.panels.len());
        let mut any_failed = false;
        // As of a past instant: the run history says which model versions were current,
        // the session of the events recorded by then is built only if a panel needs it.
        let history = match as_of {
            Some(AsOf { live: false, .. }) => self.runner.history().await?,
            _ => Vec::new(),
        };
        let past = SessionContext::new();
        let mut live: Option<SessionContext> = None;
        let mut freshness: Option<DateTime<Utc>> = None;
        let mut all_materialised = true;
        let mut panels = Vec::with_capacity(spec.panels.len());
        for panel in &spec.panels {
            let source = match as_of {
                Some(AsOf {
                    at,
                    live: force_live,
                }) => {
                    let table = if force_live {
                        None
                    } else {
                        self.runner.table_at(&panel.model, at, &history).await?
                    };
                    match table {
                        Some(table) => {
                            if !past.table_exist(panel.model.as_str()).unwrap_or(false) {
                                past.register_table(panel.model.as_str(), table.provider.clone())
                                    .map_err(|source| Error::Query {
                                        model: panel.model.clone(),
                                        source,
                                    })?;
                            }
                            if let Some(t) = table.refreshed_at {
                                freshness = Some(freshness.map_or(t, |f| f.min(t)));
                            }
                            Source::Past
                        }
                        None => {
                            all_materialised = false;
                            if live.is_none() {
                                live = Some(self.as_of_session(at).await?);
                            }
                            Source::Live(live.clone().expect("built above"))
                        }
                    }
                }
                None => match self.runner.model_table(&panel.model).await {
                    Ok(Some(table)) => {
                        self.publish(&panel.model, &table)?;
                        versions.push(table.version);
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
                Source::Past => &past,
            };
            panels.push(match self.panel(ctx, panel, org, period).await {
                Ok(value) => value,
                Err(e) => {
                    any_failed = true;
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
            (Some(a), false) => Some(a.at),
            (_, true) => freshness,
            (None, false) => Some(self.clock.now()),
        };
        let inputs = (as_of.is_none() && all_materialised && !any_failed).then_some(Inputs {
            orgs: orgs_generation,
            models: versions,
        });
        let value = json!({
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
            "as_of": as_of.map(|a| a.at),
            "source": match (as_of, all_materialised) {
                (None, true) => "materialised",
                (Some(_), true) => "history",
                (_, false) => "live",
            },
            "freshness": freshness,
            "panels": panels,
        });
        Ok((value, inputs))
    }

    /// The session of the events recorded by `as_of`: the last one asked for, when it is
    /// of the same instant and still answers the same — nothing was committed since, or the
    /// instant had passed when it was built (what is committed later is recorded later) —
    /// else a new one, which then becomes the one kept. Building one parses the events
    /// once; requests of one instant wait for one build, requests of other instants build
    /// their own meanwhile.
    async fn as_of_session(&self, as_of: DateTime<Utc>) -> Result<SessionContext> {
        let warehouse = self.runner.warehouse();
        let version = warehouse.events_version();
        let cell = {
            let mut last = self.last_as_of.lock().expect("cockpit lock poisoned");
            match last.as_ref() {
                Some(s) if s.as_of == as_of && (s.version == version || as_of < s.built_at) => {
                    s.ctx.clone()
                }
                _ => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    *last = Some(AsOfSession {
                        as_of,
                        version,
                        built_at: self.clock.now(),
                        ctx: cell.clone(),
                    });
                    cell
                }
            }
        };
        let ctx = cell
            .get_or_try_init(|| warehouse.as_of_context(as_of))
            .await?;
        Ok(ctx.clone())
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
        if let Some(filter) = &panel.filter {
            predicates.push(format!("({filter})"));
        }
        if let (Some(column), Some(closes)) = (&panel.period, &panel.latest_round) {
            // The latest round closed by the end of the period, among the org's rows.
            let (m, d) =
                crate::cockpit::spec::round_close(closes).expect("checked when the spec loaded");
            let last = period.last_day();
            let closed_this_year = (last.month(), last.day()) >= (m, d);
            let newest = last.year() - if closed_this_year { 1 } else { 2 };
            predicates.push(format!(
                "\"{column}\" = (SELECT max(\"{column}\") FROM \"{}\" WHERE {} AND \"{column}\" <= {newest})",
                panel.model,
                predicates.join(" AND ")
            ));
        } else if let Some(column) = &panel.period {
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
        let mut columns: Vec<&str> = Vec::new();
        for c in panel.dimensions.iter().chain(&panel.measures) {
            if !columns.contains(&c.as_str()) {
                columns.push(c);
            }
        }
        if let (Some(column), Some(_)) = (&panel.period, &panel.latest_round) {
            if !columns.contains(&column.as_str()) {
                columns.push(column);
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
        // A round's panel says which round it shows.
        let note = match (&panel.period, &panel.latest_round) {
            (Some(column), Some(_)) => rows
                .as_array()
                .and_then(|rows| rows.first())
                .and_then(|row| row.get(column))
                .and_then(Value::as_i64)
                .map(|year| format!("{year} 年度（最近一次已结束的年度评议）")),
            _ => None,
        };
        let columns = columns.iter().map(|c| c.to_string()).collect();
        let mut value = panel_json(panel, columns, rows, None);
        value["note"] = json!(note);
        Ok(value)
    }
}

fn encode(value: &Value) -> Arc<Encoded> {
    Arc::new(Encoded::new(Bytes::from(
        serde_json::to_vec(value).expect("a JSON value encodes"),
    )))
}

enum Source {
    Materialised,
    /// A model table as of a past instant (registered in that answer's own session).
    Past,
    Live(SessionContext),
}

fn panel_json(
    panel: &PanelSpec,
    columns: Vec<String>,
    rows: Value,
    error: Option<String>,
) -> Value {
    // Every measure's unit, declared or `count`: the page formats by it, never by name.
    let units: serde_json::Map<String, Value> = panel
        .measures
        .iter()
        .map(|m| (m.clone(), json!(panel.unit(m))))
        .collect();
    json!({
        "id": panel.id,
        "title": panel.title,
        "model": panel.model,
        "chart": panel.chart,
        "dimensions": panel.dimensions,
        "measures": panel.measures,
        "units": units,
        "columns": columns,
        "rows": rows,
        "note": null,
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

    /// A warehouse in memory with the org tree U → C1 and one materialised model
    /// counting each org's events; a cockpit over one dashboard of that model.
    async fn cockpit() -> (Arc<Cockpit>, Arc<ingest::Ingestor>) {
        use warehouse::queries::{QueryCatalog, QueryKind};
        use warehouse::{StorageRoot, Warehouse};

        let views = QueryCatalog::embedded().unwrap();
        let views = views
            .of_kind(QueryKind::View)
            .map(|v| (v.path.clone(), v.sql.clone()));
        let model = (
            "metrics/events_per_org.sql".to_string(),
            "-- name: events_per_org\n-- schedule: 0 0 * * * *\n-- materialise: true\n\
             SELECT org_id, count(*) AS events FROM events GROUP BY org_id"
                .to_string(),
        );
        let catalog = QueryCatalog::from_files(views.chain([model])).unwrap();
        let root = StorageRoot::parse(&format!(
            "memory:///render-{}/",
            uuid::Uuid::now_v7().simple()
        ))
        .unwrap();
        let (warehouse, table) = Warehouse::open(root, catalog).await.unwrap();
        let warehouse = Arc::new(warehouse);
        let ingest = Arc::new(
            ingest::Ingestor::start(
                warehouse.clone(),
                table,
                ingest::IngestConfig::pinned_for_tests(),
            )
            .await
            .unwrap(),
        );
        ingest
            .ingest(vec![
                json!({"event_type": "org.created", "occurred_at": "2026-01-01", "org_id": "U",
                       "payload": {"name": "大学", "kind": "university"}}),
                json!({"event_type": "org.created", "occurred_at": "2026-01-01", "org_id": "C1",
                       "payload": {"name": "学院", "kind": "college", "parent_id": "U"}}),
            ])
            .await
            .unwrap();
        let spec = r#"
            id = "counts"
            title = "counts"
            level = "any"
            [[panels]]
            id = "events"
            title = "events"
            model = "events_per_org"
            chart = "table"
            rows = "children"
            dimensions = []
            measures = ["events"]
        "#;
        let specs =
            Specs::load([("counts.toml".into(), spec.into())], warehouse.catalog()).unwrap();
        let runner = Arc::new(ModelRunner::new(warehouse));
        let clock = warehouse::clock::pinned("2026-12-01").unwrap();
        (
            Arc::new(Cockpit::new(specs, runner).with_clock(clock)),
            ingest,
        )
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_refreshed_model_is_never_answered_from_the_cache() {
        let (cockpit, ingest) = cockpit().await;
        let clock = warehouse::clock::pinned("2026-12-01").unwrap();
        let period = Period::parse(
            Some("2026-01"),
            Some("2026-12"),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        )
        .unwrap();
        let json =
            |answer: &Arc<Encoded>| -> Value { serde_json::from_slice(answer.json()).unwrap() };
        let events = |answer: &Arc<Encoded>| {
            let v = json(answer);
            assert_eq!(v["source"], "materialised", "{v}");
            v["panels"][0]["rows"][0]["events"].as_i64().unwrap()
        };
        let render = || async {
            cockpit
                .render_json("counts", "U", period, None)
                .await
                .unwrap()
        };
        let runner = cockpit.runner.clone();
        runner.refresh("events_per_org", clock.as_ref()).await;
        let first = render().await;
        assert_eq!(events(&first), 1);
        assert_eq!(cockpit.cache.len(), 1);

        // New events alone change nothing: the materialised table is what is shown.
        ingest
            .ingest(vec![
                json!({"event_type": "org.renamed", "occurred_at": "2026-02-01",
                                "org_id": "C1", "payload": {"name": "学院（新）"}}),
            ])
            .await
            .unwrap();
        let again = render().await;
        assert!(Arc::ptr_eq(&again, &first), "answered from the cache");

        // A refresh writes a new version: the next answer is rendered anew.
        runner.refresh("events_per_org", clock.as_ref()).await;
        let after = render().await;
        assert_eq!(events(&after), 2, "no stale answer after a refresh");
        assert_eq!(cockpit.cache.len(), 1, "the new answer replaced the old");

        // A new org is part of the answer (children, names): not answered from the cache.
        ingest
            .ingest(vec![json!({"event_type": "org.created", "occurred_at": "2026-03-01",
                "org_id": "C2", "payload": {"name": "学院二", "kind": "college", "parent_id": "U"}})])
            .await
            .unwrap();
        let with_c2 = json(&render().await);
        assert_eq!(with_c2["org"]["children"].as_array().unwrap().len(), 2);

        // A rename reaches the org directory (read again after the commit) and the
        // cached answer with the old name is not served.
        ingest
            .ingest(vec![
                json!({"event_type": "org.renamed", "occurred_at": "2026-03-02",
                "org_id": "C2", "payload": {"name": "学院二（更名）"}}),
            ])
            .await
            .unwrap();
        let mut names = Vec::new();
        for _ in 0..100 {
            let answer = json(&render().await);
            names = answer["org"]["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect();
            if names.iter().any(|n| n == "学院二（更名）") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(names.contains(&"学院二（更名）".to_string()), "{names:?}");
        assert!(!names.contains(&"学院二".to_string()), "{names:?}");

        let off = Arc::new(Cockpit::new(cockpit.specs.clone(), runner).with_cache_entries(0));
        off.render_json("counts", "U", period, None).await.unwrap();
        assert!(off.cache.is_empty());
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
