//! Dashboard specs: the `dashboards/specs/*.toml` files that say what a cockpit screen shows.
//!
//! A spec names the dashboard (id, Chinese title, the org level it is made for) and its
//! panels. Each panel reads one model (a file of `queries/metrics/` or `queries/stats/`)
//! and says which of the model's rows belong to the org on screen, which column is its
//! period, and which columns are dimensions and measures of its chart:
//!
//! ```toml
//! [[panels]]
//! id = "dues"
//! title = "党费按月缴纳率"
//! model = "dues_monthly"
//! chart = "line"
//! rows = "self"            # self | children | subtree
//! period = "month"         # the column the ?from=&to= months filter, if any
//! filter = "level <> 'member'"
//! dimensions = ["month"]
//! measures = ["paid_share", "members_paid"]
//! order = "month"
//!
//! [panels.units]           # each measure's unit (or inline: units = { paid_share = "share" })
//! paid_share = "share"
//! members_paid = "count"
//! ```
//!
//! Units say what a measure's figures are, so the page shows them without guessing from
//! the column's name; the rendered panel carries them as `"units": {measure: unit}`. A
//! measure without one is a `count` (the built-in specs declare every one: a test checks);
//! a unit for a column that is not a measure is refused. Measures of different units go on
//! separate axes.
//!
//! | unit | what | shown as |
//! |---|---|---|
//! | `count` | how many (people, meetings, warnings) | a number |
//! | `share` | a fraction 0–1 (a rate) | a percentage; changes in percentage points |
//! | `average` | a mean that is neither a share nor a score (e.g. of branches' rates) | a decimal |
//! | `minutes`, `hours` | a duration | a decimal |
//! | `score` | points of a score or quiz (0–100) | a decimal |
//! | `index` | the interaction index | a decimal |
//! | `statistic` | a test's figure or a spread (χ², F, p, Cramér's V, η², variance) | a decimal (p as `< 0.001`) |
//! | `flag` | yes or no | 是 / 否 |
//! | `text` | not a number (a month such as `2026-10`) | as it is |
//!
//! The files are embedded at build time; [`Specs::load`] checks every one against the
//! query catalog, so a panel naming a model that does not exist, or a unit that is not
//! one of the above, fails the tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warehouse::queries::QueryCatalog;

use crate::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/specs_embedded.rs"));

/// The org level a dashboard is made for; its default org follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    University,
    College,
    Branch,
    Any,
}

/// How a panel draws its rows; the web cockpit renders unknown kinds as a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chart {
    /// Large figures: the last row's measures, with the change from the row before (a
    /// key figure's rows start one month before `from`, so the first month has one).
    Kpi,
    Funnel,
    Bar,
    Line,
    /// Two dimensions (x, y) and one measure.
    Heatmap,
    Pie,
    Table,
    /// One row of a statistical test (chi-square, ANOVA) with its verdict.
    Stat,
}

/// Which rows of the model belong to the org on screen (by the model's `org_id`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    /// The org's own rows (its totals).
    #[default]
    #[serde(rename = "self")]
    Own,
    /// The rows of its direct children (compare the branches of a college).
    Children,
    /// The rows of every org in its subtree (e.g. member rows, with a filter).
    Subtree,
}

/// What a measure's figures are (a panel's `units`); the table of units is in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Share,
    Average,
    Minutes,
    Hours,
    Score,
    Index,
    Statistic,
    Flag,
    Text,
}

impl Unit {
    pub const ALL: [Unit; 10] = [
        Unit::Count,
        Unit::Share,
        Unit::Average,
        Unit::Minutes,
        Unit::Hours,
        Unit::Score,
        Unit::Index,
        Unit::Statistic,
        Unit::Flag,
        Unit::Text,
    ];

    /// The name a spec writes, e.g. `"share"`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Share => "share",
            Unit::Average => "average",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Score => "score",
            Unit::Index => "index",
            Unit::Statistic => "statistic",
            Unit::Flag => "flag",
            Unit::Text => "text",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSpec {
    pub id: String,
    pub title: String,
    pub model: String,
    pub chart: Chart,
    #[serde(default)]
    pub rows: Rows,
    /// The column that `from` / `to` filter: a `YYYY-MM` text column, an integer
    /// `year`, or a date; none = the panel ignores the period.
    #[serde(default)]
    pub period: Option<String>,
    /// For yearly rounds (民主评议 and what is built on it: the member score is final once
    /// the year's evaluation is in): the month-day of year Y + 1 by which round Y closes,
    /// e.g. `"01-31"`, the evaluation deadline. The panel then shows the one latest round
    /// that closed by the end of the period (with rows for the org), labelled with its
    /// year in the panel's `note`, rather than the years the period touches: in December
    /// the current year's evaluation has not happened yet, and a January screen should
    /// not show a year that just began. Needs an integer `period` column.
    #[serde(default)]
    pub latest_round: Option<String>,
    /// A further SQL predicate over the model's columns.
    #[serde(default)]
    pub filter: Option<String>,
    pub dimensions: Vec<String>,
    pub measures: Vec<String>,
    /// Measure → unit name (a [`Unit`]); a measure not named is a count. Checked by
    /// [`Specs::load`]: every key one of `measures`, every value a unit; read it with
    /// [`PanelSpec::unit`].
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// ORDER BY clause (without the keywords); default: the dimensions.
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl PanelSpec {
    /// The unit of `measure`: the declared one, else [`Unit::Count`].
    pub fn unit(&self, measure: &str) -> Unit {
        self.units
            .get(measure)
            .and_then(|u| Unit::parse(u))
            .unwrap_or(Unit::Count)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSpec {
    pub id: String,
    pub title: String,
    pub level: Level,
    #[serde(default)]
    pub description: String,
    pub panels: Vec<PanelSpec>,
}

/// `"MM-DD"` → (month, day), a day that exists in every year (29 February does not).
pub fn round_close(text: &str) -> Option<(u32, u32)> {
    let (m, d) = text.split_once('-')?;
    let (m, d) = (m.parse().ok()?, d.parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(2025, m, d).map(|_| (m, d))
}

/// Every dashboard spec, in file order.
#[derive(Debug, Clone, Default)]
pub struct Specs {
    dashboards: Vec<DashboardSpec>,
}

impl Specs {
    /// The specs built into the binary, checked against `catalog`.
    pub fn embedded(catalog: &QueryCatalog) -> Result<Self> {
        Self::load(
            SPECS.iter().map(|(f, t)| (f.to_string(), t.to_string())),
            catalog,
        )
    }

    /// The built-in specs that fit `catalog`; the others are logged and left out (a
    /// `queries.dir` without some model must not stop the server).
    pub fn embedded_fitting(catalog: &QueryCatalog) -> Self {
        let mut dashboards = Vec::new();
        for (file, text) in SPECS {
            match Self::load([(file.to_string(), text.to_string())], catalog) {
                Ok(mut one) => dashboards.append(&mut one.dashboards),
                Err(e) => tracing::warn!(error = %e, "dashboard left out"),
            }
        }
        Self { dashboards }
    }

    /// Parses `(file name, text)` pairs and checks them: ids unique, every panel's
    /// model in the catalog, at least one measure, every unit known and given to one of
    /// the panel's measures, panel ids unique per dashboard.
    pub fn load(
        files: impl IntoIterator<Item = (String, String)>,
        catalog: &QueryCatalog,
    ) -> Result<Self> {
        let mut dashboards: Vec<DashboardSpec> = Vec::new();
        for (file, text) in files {
            let invalid = |reason: String| Error::Spec {
                file: file.clone(),
                reason,
            };
            let spec: DashboardSpec = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
            if dashboards.iter().any(|d| d.id == spec.id) {
                return Err(invalid(format!("dashboard id `{}` is used twice", spec.id)));
            }
            for (i, panel) in spec.panels.iter().enumerate() {
                if catalog.models().all(|m| m.name != panel.model) {
                    return Err(invalid(format!(
                        "panel `{}` names the model `{}`, which is not a file of queries/metrics or queries/stats",
                        panel.id, panel.model
                    )));
                }
                if let Some(closes) = &panel.latest_round {
                    if round_close(closes).is_none() || panel.period.is_none() {
                        return Err(invalid(format!(
                            "panel `{}`: latest_round needs a `period` column and a month-day such as \"01-31\", not `{closes}`",
                            panel.id
                        )));
                    }
                }
                if panel.measures.is_empty() {
                    return Err(invalid(format!("panel `{}` has no measures", panel.id)));
                }
                for (measure, unit) in &panel.units {
                    let at = format!(
                        "dashboard `{}`, panel `{}`, measure `{measure}`",
                        spec.id, panel.id
                    );
                    if !panel.measures.contains(measure) {
                        return Err(invalid(format!(
                            "{at}: has a unit but is not one of the panel's measures"
                        )));
                    }
                    if Unit::parse(unit).is_none() {
                        let known: Vec<&str> = Unit::ALL.iter().map(|u| u.name()).collect();
                        return Err(invalid(format!(
                            "{at}: unknown unit `{unit}` (the units are {})",
                            known.join(", ")
                        )));
                    }
                }
                if spec.panels[..i].iter().any(|p| p.id == panel.id) {
                    return Err(invalid(format!("panel id `{}` is used twice", panel.id)));
                }
            }
            dashboards.push(spec);
        }
        Ok(Self { dashboards })
    }

    pub fn all(&self) -> &[DashboardSpec] {
        &self.dashboards
    }

    pub fn get(&self, id: &str) -> Option<&DashboardSpec> {
        self.dashboards.iter().find(|d| d.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_specs_name_real_models() {
        let catalog = QueryCatalog::embedded().unwrap();
        let specs = Specs::embedded(&catalog).unwrap();
        for id in ["university", "college", "branch", "statistics"] {
            assert!(specs.get(id).is_some(), "dashboard `{id}` is missing");
        }
    }

    #[test]
    fn a_panel_on_an_unknown_model_is_refused() {
        let catalog = QueryCatalog::embedded().unwrap();
        let text = r#"
            id = "x"
            title = "x"
            level = "any"
            [[panels]]
            id = "p"
            title = "p"
            model = "no_such_model"
            chart = "bar"
            dimensions = []
            measures = ["n"]
        "#;
        let err = Specs::load([("x.toml".to_string(), text.to_string())], &catalog).unwrap_err();
        assert!(err.to_string().contains("no_such_model"), "{err}");
    }

    /// A panel of `dues_monthly` with the given `units` table.
    fn with_units(units: &str) -> Result<Specs> {
        let catalog = QueryCatalog::embedded().unwrap();
        let text = format!(
            r#"
            id = "x"
            title = "x"
            level = "any"
            [[panels]]
            id = "p"
            title = "p"
            model = "dues_monthly"
            chart = "line"
            dimensions = ["month"]
            measures = ["paid_share", "members_paid"]
            units = {units}
        "#
        );
        Specs::load([("x.toml".to_string(), text)], &catalog)
    }

    #[test]
    fn a_measure_of_an_unknown_unit_is_refused() {
        let err = with_units(r#"{ paid_share = "percent" }"#)
            .unwrap_err()
            .to_string();
        for part in [
            "x.toml",
            "dashboard `x`",
            "panel `p`",
            "measure `paid_share`",
            "unknown unit `percent`",
        ] {
            assert!(err.contains(part), "`{part}` not in: {err}");
        }
    }

    #[test]
    fn a_unit_for_no_measure_is_refused() {
        let err = with_units(r#"{ paid_shares = "share" }"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("measure `paid_shares`"), "{err}");
    }

    #[test]
    fn units_are_declared_or_counts() {
        let specs = with_units(r#"{ paid_share = "share" }"#).unwrap();
        let panel = &specs.get("x").unwrap().panels[0];
        assert_eq!(panel.unit("paid_share"), Unit::Share);
        assert_eq!(panel.unit("members_paid"), Unit::Count);
        for unit in Unit::ALL {
            assert_eq!(Unit::parse(unit.name()), Some(unit));
            assert_eq!(
                serde_json::to_value(unit).unwrap(),
                serde_json::json!(unit.name())
            );
        }
    }

    /// The page never guesses: every measure of the built-in specs has its unit.
    #[test]
    fn every_measure_of_the_embedded_specs_declares_its_unit() {
        let catalog = QueryCatalog::embedded().unwrap();
        let specs = Specs::embedded(&catalog).unwrap();
        let mut missing = Vec::new();
        for d in specs.all() {
            for p in &d.panels {
                for m in p.measures.iter().filter(|m| !p.units.contains_key(*m)) {
                    missing.push(format!("{}/{}/{m}", d.id, p.id));
                }
            }
        }
        assert!(missing.is_empty(), "measures without a unit: {missing:?}");
    }
}
