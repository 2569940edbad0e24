//! The web cockpit: `/` is the page, `/assets/<path>` its files, all embedded in the
//! binary (`dashboards/web/`). The page signs in with a token and calls the API.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The web cockpit's page (it signs in with a token and calls the API).
#[utoipa::path(get, path = "/", tag = "service", security(()),
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
pub async fn index() -> Result<Response, ApiError> {
    serve("index.html", "no-cache")
}

/// A file of the web cockpit (scripts, styles, fonts).
#[utoipa::path(get, path = "/assets/{path}", tag = "service", security(()),
    params(("path" = String, Path, description = "The file under `dashboards/web/`")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "Unknown (or outside the caller's scope)", body = super::openapi::ErrorBody)))]
pub async fn asset(Path(path): Path<String>) -> Result<Response, ApiError> {
    serve(&path, "public, max-age=3600")
}

fn serve(path: &str, cache: &'static str) -> Result<Response, ApiError> {
    let (bytes, content_type) = dashboards::cockpit::web::asset(path).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset `{path}`"),
        )
    })?;
    Ok((
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, cache)],
        bytes,
    )
        .into_response())
}
