//! The SQL files of `queries/`: views, cockpit metrics, statistics and warning rules.
//!
//! Each file starts with a comment header of `-- key: value` lines (name, title,
//! schedule, materialise, severity, …) followed by the SQL. The files are embedded at
//! build time; [`QueryCatalog::from_dir`] reads a directory instead, so an analyst can
//! add a model to a running installation without a rebuild.
//!
//! Queries that differ only in a few names share a template of `queries/templates/`: a
//! file with a `-- template: <name>` header has no SQL of its own; its SQL is the
//! template's, with each `${key}` filled from the file's `-- template.<key>:` header (or,
//! failing that, its `-- <key>:` header). What is left (`${as_of}`, the parameters) is
//! rendered as in any other file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/queries_embedded.rs"));

/// What a query file is for, from the folder it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueryKind {
    View,
    Metric,
    Stat,
    Warning,
    /// `queries/recommendations/`: what to push to whom (智能党建), evaluated at an
    /// instant like a warning rule.
    Recommendation,
}

impl QueryKind {
    fn from_folder(folder: &str) -> Option<Self> {
        match folder {
            "views" => Some(Self::View),
            "metrics" => Some(Self::Metric),
            "stats" => Some(Self::Stat),
            "warnings" => Some(Self::Warning),
            "recommendations" => Some(Self::Recommendation),
            _ => None,
        }
    }
}

/// One SQL file with its parsed header.
#[derive(Debug, Clone)]
pub struct QueryFile {
    pub kind: QueryKind,
    /// `views/10_orgs.sql`
    pub path: String,
    /// The `name` header, or the file stem without its ordering prefix.
    pub name: String,
    pub header: BTreeMap<String, String>,
    /// The whole file text (header comments included, which SQL ignores).
    pub sql: String,
}

impl QueryFile {
    pub fn parse(path: &str, text: &str) -> Result<Self> {
        let invalid = |reason: String| Error::QueryFile {
            file: path.to_string(),
            reason,
        };
        let (folder, file) = path
            .split_once('/')
            .ok_or_else(|| invalid("expected <folder>/<file>.sql".into()))?;
        let kind = QueryKind::from_folder(folder)
            .ok_or_else(|| invalid(format!("unknown folder `{folder}`")))?;
        let mut header = BTreeMap::new();
        for line in text.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            if let Some((key, value)) = comment.split_once(':') {
                let key = key.trim();
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    header.insert(key.to_string(), value.trim().to_string());
                }
            }
        }
        let stem = file.trim_end_matches(".sql");
        let default_name = stem
            .split_once('_')
            .filter(|(prefix, _)| prefix.chars().all(|c| c.is_ascii_digit()))
            .map_or(stem, |(_, rest)| rest);
        let name = header
            .get("name")
            .cloned()
            .unwrap_or_else(|| default_name.to_string());
        Ok(Self {
            kind,
            path: path.to_string(),
            name,
            header,
            sql: text.to_string(),
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.header.get(key).map(String::as_str)
    }

    /// For a file with a `template` header: its text followed by the template's SQL,
    /// filled from its `template.<key>` (else `<key>`) headers.
    fn with_template(mut self, templates: &BTreeMap<String, String>) -> Result<Self> {
        let Some(name) = self.header.get("template") else {
            return Ok(self);
        };
        let template = templates.get(name).ok_or_else(|| Error::QueryFile {
            file: self.path.clone(),
            reason: format!("no template `{name}` in queries/templates/"),
        })?;
        // What the file's headers do not name is left for `render`.
        let filled = fill(&self.path, template, |key| {
            Ok(self
                .header
                .get(&format!("template.{key}"))
                .or_else(|| self.header.get(key))
                .map_or_else(|| format!("${{{key}}}"), String::clone))
        })?;
        self.sql.push('\n');
        self.sql.push_str(&filled);
        Ok(self)
    }

    /// Whether the scheduler keeps a materialised copy (`materialise: true`).
    pub fn materialise(&self) -> bool {
        self.get("materialise")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The SQL with every `${param}` replaced: by `overrides` (from the config), else by
    /// the file's `-- param.<name>: <default>` header. An unknown parameter is an error.
    pub fn render(&self, overrides: &BTreeMap<String, String>) -> Result<String> {
        fill(&self.path, &self.sql, |key| {
            overrides
                .get(key)
                .or_else(|| self.header.get(&format!("param.{key}")))
                .cloned()
                .ok_or_else(|| Error::QueryFile {
                    file: self.path.clone(),
                    reason: format!("parameter `{key}` has no value: add `-- param.{key}: <default>` to the header"),
                })
        })
    }
}

/// `text` with each `${key}` replaced by `value(key)` (an error stops it); a `${`
/// without its `}` is an error of `file`.
fn fill(file: &str, text: &str, mut value: impl FnMut(&str) -> Result<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| Error::QueryFile {
            file: file.to_string(),
            reason: "`${` without a closing `}`".into(),
        })?;
        let key = after[..end].trim();
        out.push_str(&value(key)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `'a', 'b'` — values as SQL string literals for an `IN (…)` list; `NULL` for none,
/// which matches nothing.
pub fn sql_string_list(values: &[String]) -> String {
    if values.is_empty() {
        return "NULL".into();
    }
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// All query files, in path order (views are applied in that order, so a view may use
/// the ones before it).
#[derive(Debug, Clone, Default)]
pub struct QueryCatalog {
    files: Vec<QueryFile>,
    /// Values for `${param}` placeholders, overriding the files' defaults.
    params: BTreeMap<String, String>,
}

impl QueryCatalog {
    /// The files compiled into this binary.
    pub fn embedded() -> Result<Self> {
        Self::from_files(EMBEDDED.iter().map(|(p, t)| (p.to_string(), t.to_string())))
    }

    /// The files of a `queries/` directory on disk.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        for folder in [
            "views",
            "metrics",
            "stats",
            "warnings",
            "recommendations",
            "templates",
        ] {
            let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "sql") {
                    let rel = format!("{folder}/{}", entry.file_name().to_string_lossy());
                    let text = std::fs::read_to_string(&path).map_err(|e| Error::QueryFile {
                        file: rel.clone(),
                        reason: e.to_string(),
                    })?;
                    files.push((rel, text));
                }
            }
        }
        Self::from_files(files)
    }

    /// Files given as (`folder/file.sql`, text) pairs — for tests and tools. The
    /// templates (`templates/<name>.sql`) are filled into the files that name them.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let (templates, files): (Vec<_>, Vec<_>) = files
            .into_iter()
            .partition(|(path, _)| path.starts_with("templates/"));
        let templates: BTreeMap<String, String> = templates
            .into_iter()
            .map(|(path, text)| {
                let stem = path
                    .trim_start_matches("templates/")
                    .trim_end_matches(".sql");
                (stem.to_string(), text)
            })
            .collect();
        let mut parsed = files
            .into_iter()
            .map(|(path, text)| QueryFile::parse(&path, &text)?.with_template(&templates))
            .collect::<Result<Vec<_>>>()?;
        parsed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self {
            files: parsed,
            params: BTreeMap::new(),
        })
    }

    /// Sets parameter values (e.g. the weights of the member score from the config).
    pub fn with_params(mut self, params: BTreeMap<String, String>) -> Self {
        self.params = params;
        self
    }

    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// The parameters of a query evaluated at `as_of` (a warning rule): the configured
    /// values, `${as_of}` the instant in China time to the second, `${as_of_date}` its
    /// China date.
    pub fn params_at(&self, as_of: chrono::DateTime<chrono::Utc>) -> BTreeMap<String, String> {
        let local = as_of.with_timezone(&crate::clock::china_time());
        let mut params = self.params.clone();
        params.insert(
            "as_of".into(),
            local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        );
        params.insert("as_of_date".into(), local.date_naive().to_string());
        params
    }

    /// The cockpit models: metrics and statistics, in path order.
    pub fn models(&self) -> impl Iterator<Item = &QueryFile> {
        self.files
            .iter()
            .filter(|f| matches!(f.kind, QueryKind::Metric | QueryKind::Stat))
    }

    pub fn of_kind(&self, kind: QueryKind) -> impl Iterator<Item = &QueryFile> {
        self.files.iter().filter(move |f| f.kind == kind)
    }

    pub fn all(&self) -> &[QueryFile] {
        &self.files
    }

    pub fn get(&self, name: &str) -> Option<&QueryFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The views (of `queries/views/`) that the query `name` reads — named in its SQL, in
    /// the SQL of a view it reads, or in that of another model it reads, and so on — each
    /// with how many times it is named across all of those (a view named twice is planned
    /// twice, over every event, unless computed once). A name counts where it stands as a
    /// whole word (`people`, not `people_count`); a word that only looks like a view's
    /// name costs a computation, never an answer.
    pub fn read_by(&self, name: &str) -> BTreeMap<String, usize> {
        let mut views = BTreeMap::new();
        let mut seen = BTreeSet::from([name.to_string()]);
        let mut pending: Vec<&QueryFile> = self.get(name).into_iter().collect();
        while let Some(file) = pending.pop() {
            for other in &self.files {
                let readable = matches!(
                    other.kind,
                    QueryKind::View | QueryKind::Metric | QueryKind::Stat
                );
                let code = without_comments(&file.sql);
                let times =
                    if readable && other.name != file.name && !defines_cte(&code, &other.name) {
                        names_word(&code, &other.name)
                    } else {
                        0
                    };
                if times == 0 {
                    continue;
                }
                if other.kind == QueryKind::View {
                    *views.entry(other.name.clone()).or_insert(0) += times;
                }
                if seen.insert(other.name.clone()) {
                    pending.push(other);
                }
            }
        }
        views
    }
}

/// `sql` without its `--` comments (which name models and views in prose).
fn without_comments(sql: &str) -> String {
    sql.lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `sql` defines a common table expression `name` (`name AS (`), which shadows
/// a view of that name within it.
fn defines_cte(sql: &str, name: &str) -> bool {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    names_word(&flat.replace(&format!("{name} AS ("), "\u{0}"), name) < names_word(&flat, name)
}

/// How many times `word` stands in `sql` as a whole identifier.
fn names_word(sql: &str, word: &str) -> usize {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(word)
        .filter(|(at, _)| {
            let before = sql[..*at].chars().next_back();
            let after = sql[at + word.len()..].chars().next();
            !before.is_some_and(ident) && !after.is_some_and(ident)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_reads_its_views_and_theirs() {
        let catalog = QueryCatalog::embedded().unwrap();
        let read = catalog.read_by("member_score");
        for view in [
            "people",
            "dues",
            "attendance_latest",
            "meetings",
            "study",
            "quizzes",
            "evaluations",
            "interactions",
            "live_events",
        ] {
            assert!(
                read.contains_key(view),
                "member_score reads {view}: {read:?}"
            );
        }
        assert!(!read.contains_key("warnings"), "{read:?}");
        // Through another model: the distribution reads member_score's views, and orgs
        // (three times itself: the recursive ancestry twice, the answer once; and in the
        // views it reads). Prose in comments names nothing.
        let distribution = catalog.read_by("member_score_distribution");
        assert!(
            read.keys().all(|v| distribution.contains_key(v)),
            "{distribution:?}"
        );
        assert!(distribution["orgs"] >= 3, "{distribution:?}");
        assert!(!distribution.contains_key("warnings"), "{distribution:?}");
        assert_eq!(without_comments("FROM dues -- as people"), "FROM dues ");
        assert!(defines_cte(
            "WITH member_months AS (SELECT 1) SELECT * FROM member_months",
            "member_months"
        ));
        assert!(!defines_cte("SELECT * FROM member_months", "member_months"));
        assert!(
            !catalog
                .read_by("dues_monthly")
                .contains_key("member_months")
        );
        assert_eq!(names_word("FROM people p JOIN people q", "people"), 2);
        assert_eq!(names_word("FROM people_count", "people"), 0);
        assert_eq!(names_word("FROM my_people", "people"), 0);
    }

    #[test]
    fn header_is_parsed_until_the_sql() {
        let file = QueryFile::parse(
            "metrics/20_dues_monthly.sql",
            "-- name: dues_monthly\n-- title: 党费缴纳率\n-- materialise: true\nSELECT 1 -- not: header\n",
        )
        .unwrap();
        assert_eq!(file.kind, QueryKind::Metric);
        assert_eq!(file.name, "dues_monthly");
        assert_eq!(file.get("title"), Some("党费缴纳率"));
        assert_eq!(file.get("not"), None);
    }

    #[test]
    fn parameters_take_config_then_header_defaults() {
        let file = QueryFile::parse(
            "metrics/90_score.sql",
            "-- param.w: 0.5\n-- param.v: 2\nSELECT ${w} * a + ${v} FROM t",
        )
        .unwrap();
        let mut overrides = BTreeMap::new();
        assert_eq!(
            file.render(&overrides).unwrap(),
            "-- param.w: 0.5\n-- param.v: 2\nSELECT 0.5 * a + 2 FROM t"
        );
        overrides.insert("w".to_string(), "0.7".to_string());
        assert!(
            file.render(&overrides)
                .unwrap()
                .ends_with("SELECT 0.7 * a + 2 FROM t")
        );
        let bad = QueryFile::parse("metrics/x.sql", "SELECT ${nope}").unwrap();
        assert!(
            bad.render(&overrides)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn a_template_is_filled_from_the_files_that_name_it() {
        let catalog = QueryCatalog::from_files([
            (
                "templates/missing.sql".to_string(),
                "SELECT '${severity}' AS severity FROM meetings WHERE kind = '${kind}' \
                 AND n < ${warn} AND at <= TIMESTAMP '${as_of}'"
                    .to_string(),
            ),
            (
                "warnings/20_lecture.sql".to_string(),
                "-- severity: notice\n-- param.lecture_days: 40\n-- template: missing\n\
                 -- template.kind: lecture\n-- template.warn: ${lecture_days}\n"
                    .to_string(),
            ),
        ])
        .unwrap();
        assert_eq!(
            catalog.all().len(),
            1,
            "a template is not a query of its own"
        );
        let mut at = BTreeMap::new();
        at.insert("as_of".to_string(), "2026-11-25".to_string());
        let sql = catalog.get("lecture").unwrap().render(&at).unwrap();
        assert!(
            sql.ends_with(
                "SELECT 'notice' AS severity FROM meetings WHERE kind = 'lecture' \
                 AND n < 40 AND at <= TIMESTAMP '2026-11-25'"
            ),
            "{sql}"
        );
        let unknown = QueryCatalog::from_files([(
            "warnings/x.sql".to_string(),
            "-- template: nowhere\n".to_string(),
        )])
        .unwrap_err();
        assert!(unknown.to_string().contains("nowhere"), "{unknown}");
    }

    #[test]
    fn name_defaults_to_stem_without_order_prefix() {
        let file = QueryFile::parse("views/10_orgs.sql", "CREATE VIEW orgs AS SELECT 1").unwrap();
        assert_eq!(file.name, "orgs");
    }

    #[test]
    fn embedded_views_are_present() {
        let catalog = QueryCatalog::embedded().unwrap();
        assert!(catalog.of_kind(QueryKind::View).count() >= 5);
    }
}
