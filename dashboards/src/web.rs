//! The web cockpit's files (`dashboards/web/`), embedded at build time so the single
//! executable serves them; nothing is fetched from elsewhere at run time.

include!(concat!(env!("OUT_DIR"), "/web_embedded.rs"));

/// The bytes and content type of the asset at `path` (relative to `web/`).
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let (_, bytes) = ASSETS.iter().find(|(p, _)| *p == path)?;
    Some((bytes, content_type(path)))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            super::content_type("app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            super::content_type("vendor/LICENSE"),
            "text/plain; charset=utf-8"
        );
    }
}
