//! The web cockpit: `/` is the page, `/assets/<path>` its files, all embedded in the
//! binary (`dashboards/web/`). The page signs in with a token and calls the API.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::ApiError;

pub async fn index() -> Result<Response, ApiError> {
    serve("index.html", "no-cache")
}

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
