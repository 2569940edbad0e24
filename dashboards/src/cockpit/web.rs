//! The web cockpit's files (`dashboards/web/`, subfolders included: the ES modules of
//! `pages/`, ECharts in `vendor/`), embedded at build time so the single executable
//! serves them; nothing is fetched from elsewhere at run time.

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

    /// The page's ES modules, subfolders (`pages/`) included, are served as JavaScript, and
    /// index.html preloads each of them and nothing else.
    #[test]
    fn every_module_is_embedded_and_preloaded() {
        let index = std::str::from_utf8(super::asset("index.html").unwrap().0).unwrap();
        let modules: Vec<&str> = super::ASSETS
            .iter()
            .map(|(path, _)| *path)
            .filter(|path| path.ends_with(".js") && !path.starts_with("vendor/"))
            .collect();
        assert!(modules.contains(&"app.js") && modules.contains(&"pages/cockpit.js"));
        for module in &modules {
            assert_eq!(
                super::asset(module).unwrap().1,
                "text/javascript; charset=utf-8"
            );
            let link = format!(r#"<link rel="modulepreload" href="/assets/{module}">"#);
            assert!(
                index.contains(&link),
                "index.html does not preload {module}"
            );
        }
        let preloaded = index.matches(r#"rel="modulepreload""#).count();
        assert_eq!(
            preloaded,
            modules.len(),
            "index.html preloads a missing module"
        );
    }
}
