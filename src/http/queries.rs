//! `GET /api/v1/queries`: the SQL files of `queries/` (views, models, statistics,
//! warning rules) with their headers, for the SQL console to start from.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use warehouse::queries::QueryKind;

use super::{ApiError, AppState};
use crate::auth::{Caller, Permission};

pub async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Sql)?;
    let catalog = app.warehouse.catalog();
    let queries: Vec<Value> = catalog
        .all()
        .iter()
        .map(|q| {
            let kind = match q.kind {
                QueryKind::View => "view",
                QueryKind::Metric => "metric",
                QueryKind::Stat => "stat",
                QueryKind::Warning => "warning",
            };
            // Views, models and statistics are queryable by name; a rule needs its
            // evaluation time, so the console gets its SQL with today's parameters.
            let sql = match q.kind {
                QueryKind::Warning => q.render(catalog.params()).unwrap_or_else(|_| q.sql.clone()),
                _ => format!("SELECT * FROM {} LIMIT 100", q.name),
            };
            json!({
                "name": q.name,
                "kind": kind,
                "path": q.path,
                "title": q.get("title"),
                "description": q.get("description"),
                "sql": sql,
            })
        })
        .collect();
    Ok(Json(json!({ "queries": queries })))
}
