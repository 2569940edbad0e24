//! `GET /api/v1/queries`: the SQL files of `queries/` (views, models, statistics,
//! warning rules) with their headers, for the SQL console to start from, and what each
//! name reads: a model with a table answers from it (`"source": "table"`, as of
//! `refreshed_at`), a projected view (`people`, `orgs`, `meetings`) from its projection while that is
//! up to date (`"projection": true`, see `warehouse::projections`), every view and model
//! is computed live under `live.<name>`, and the `models` catalogue lists them all (see
//! `warehouse::read_models`).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use warehouse::queries::QueryKind;
use warehouse::read_models::{LIVE_SCHEMA, MODELS_TABLE};

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

/// The SQL files of `queries/` with each model's source and live name.
#[utoipa::path(get, path = "/api/v1/queries", tag = "sql",
    responses(
        (status = 200, description = "The queries", body = super::openapi::QueriesBody),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = super::openapi::ErrorBody),
        (status = 403, description = "The role may not do this, or the org is outside the caller's scope", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many queries of this token, or failed sign-ins from this address (`Retry-After`)", body = super::openapi::ErrorBody)))]
pub async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Sql)?;
    let catalog = app.warehouse.catalog();
    let whole_tree = app.warehouse.covers_all(&caller.scope);
    let queries: Vec<Value> = catalog
        .all()
        .iter()
        .map(|q| {
            let kind = match q.kind {
                QueryKind::View => "view",
                QueryKind::Metric => "metric",
                QueryKind::Stat => "stat",
                QueryKind::Warning => "warning",
                QueryKind::Recommendation => "recommendation",
            };
            // Views, models and statistics are queryable by name; a rule needs its
            // evaluation time, so the console gets its SQL with today's parameters.
            let sql = match q.kind {
                QueryKind::Warning | QueryKind::Recommendation => {
                    q.render(catalog.params()).unwrap_or_else(|_| q.sql.clone())
                }
                _ => format!("SELECT * FROM {} LIMIT 100", q.name),
            };
            let mut entry = json!({
                "name": q.name,
                "kind": kind,
                "path": q.path,
                "title": q.get("title"),
                "description": q.get("description"),
                "sql": sql,
            });
            if !matches!(q.kind, QueryKind::Warning | QueryKind::Recommendation) {
                entry["live"] = json!(format!("{LIVE_SCHEMA}.{}", q.name));
            }
            if let Some(projection) = app.warehouse.projections().get(&q.name) {
                // Kept as a table from each commit's events: what whole-tree readers
                // read while it is up to date; a subtree's readers compute it live.
                let events = app.warehouse.events_newest();
                let current = whole_tree && projection.rows_as_of(events).is_some();
                entry["projection"] = json!(true);
                entry["source"] = json!(if current { "table" } else { "live" });
                entry["events_version"] = json!(projection.version());
            }
            if matches!(q.kind, QueryKind::Metric | QueryKind::Stat) {
                let table = app.warehouse.read_models().get(&q.name);
                entry["materialised"] = json!(q.materialise());
                entry["source"] = json!(if table.is_some() { "table" } else { "live" });
                entry["refreshed_at"] = json!(table.and_then(|t| t.refreshed_at));
            }
            entry
        })
        .chain(std::iter::once(json!({
            "name": MODELS_TABLE,
            "kind": "catalogue",
            "title": "模型目录",
            "description": "Every cockpit model and projected view: whether its name reads its \
                table (source 'table': a model as of refreshed_at, a projection as of the events \
                version it reflects) or computes it live, and its live name.",
            "sql": format!("SELECT * FROM {MODELS_TABLE}"),
        })))
        .collect();
    Ok(Json(json!({ "queries": queries })))
}
