//! Every storage location of dangjian, in one place.
//!
//! The root is an `object_store` URL: a local directory (default `./data/warehouse`),
//! `memory://` for tests, or `s3://bucket/prefix` once the `s3` feature is switched on.
//! Tables live under it as `events/`, `audit/`, `models/<name>/` and `runs/<name>/`.

use url::Url;

use crate::{Error, Result};

/// The root URL that every table lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRoot {
    url: Url,
}

impl StorageRoot {
    /// Parses `storage.url`: a URL with a scheme (`file://`, `memory://`, `s3://`) or a
    /// local path, relative to the working directory; a local directory is created.
    pub fn parse(location: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidStorageUrl {
            url: location.to_string(),
            reason,
        };
        let url = match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                let path = std::path::Path::new(location);
                std::fs::create_dir_all(path)
                    .map_err(|e| invalid(format!("cannot create directory: {e}")))?;
                let abs = path
                    .canonicalize()
                    .map_err(|e| invalid(format!("cannot resolve path: {e}")))?;
                Url::from_directory_path(&abs)
                    .map_err(|()| invalid("not an absolute path".to_string()))?
            }
        };
        Self::from_url(url)
    }

    fn from_url(mut url: Url) -> Result<Self> {
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path).map_err(|e| Error::InvalidStorageUrl {
                url: url.to_string(),
                reason: format!("cannot create directory: {e}"),
            })?;
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self { url })
    }

    /// `text` with every mention of where the root lives (its URL, its local path, and
    /// the delta-rs object store names built from them) replaced by `warehouse:/`: plans
    /// and errors shown to analysts say which table, not which directory of this machine.
    pub fn scrub(&self, text: &str) -> String {
        let url = self.url.as_str().trim_end_matches('/');
        let mut out = text.replace(url, "warehouse:/");
        if let Ok(path) = self.url.to_file_path() {
            let path = path.display().to_string();
            let path = path.trim_end_matches('/');
            if !path.is_empty() && path != "/" {
                out = out.replace(path, "warehouse:/");
                // delta-rs names a table's store by its location with `/` as `-`.
                out = out.replace(&path.replace('/', "-"), "warehouse");
            }
        }
        out
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The append-only table of every event.
    pub fn events_table(&self) -> Url {
        self.child("events/")
    }

    /// The materialised result of one cockpit model.
    pub fn model_table(&self, model: &str) -> Url {
        self.child(&format!("models/{model}/"))
    }

    /// The audit trail: who read what (admins only).
    pub fn audit_table(&self) -> Url {
        self.child("audit/")
    }

    /// The run history of the scheduler.
    pub fn run_history_table(&self) -> Url {
        self.child("runs/history/")
    }

    fn child(&self, relative: &str) -> Url {
        self.url
            .join(relative)
            .expect("relative table paths are valid URLs")
    }

    /// The table name used in errors and logs: the URL relative to the root.
    pub fn display_name(&self, table: &Url) -> String {
        table
            .as_str()
            .strip_prefix(self.url.as_str())
            .unwrap_or(table.as_str())
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_root_keeps_its_scheme() {
        let root = StorageRoot::parse("memory:///").unwrap();
        assert_eq!(root.events_table().as_str(), "memory:///events/");
        assert_eq!(
            root.model_table("dues_monthly").as_str(),
            "memory:///models/dues_monthly/"
        );
    }

    #[test]
    fn local_path_becomes_file_url() {
        let dir = std::env::temp_dir().join(format!("dj-paths-{}", std::process::id()));
        let root = StorageRoot::parse(dir.to_str().unwrap()).unwrap();
        assert_eq!(root.url().scheme(), "file");
        assert!(root.events_table().as_str().ends_with("/events/"));
        assert_eq!(root.display_name(&root.events_table()), "events");
        std::fs::remove_dir_all(dir).ok();
    }
}
