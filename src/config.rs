//! The one typed configuration of dangjian, read only here.
//!
//! Sources, later ones winning: embedded defaults (a laptop setup: `./data`, loopback),
//! a TOML file (`--config`, or `DANGJIAN_CONFIG`), environment variables
//! `DANGJIAN_<SECTION>_<KEY>` (e.g. `DANGJIAN_SQL_ROW_LIMIT=500`), and flags
//! (`--listen`, `--storage-url`, or any key with `--set sql.row_limit=500`).
//! Unknown keys are refused, naming the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on; port 0 picks a free port.
    pub listen: String,
    /// The URL printed for users and used in links (mail); empty = derived from `listen`.
    pub public_url: String,
    pub storage: StorageConfig,
    pub queries: QueriesConfig,
    pub ingest: IngestSettings,
    pub sql: SqlSettings,
    pub log: LogSettings,
    pub scheduler: SchedulerSettings,
    pub dashboards: DashboardSettings,
    pub mail: MailConfig,
    pub clock: ClockSettings,
    pub access: AccessSettings,
    pub pg: PgSettings,
    pub metrics: MetricsSettings,
    /// Bearer tokens: `[[tokens]]` tables of name, role, org and the token's SHA-256.
    pub tokens: Vec<TokenConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// A local path, `file://…`, `memory://` (tests) or `s3://bucket/prefix`.
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueriesConfig {
    /// A `queries/` directory read at start-up instead of the SQL built into the binary
    /// (empty = built in). Lets analysts add views and models without a rebuild.
    pub dir: String,
    /// Values for the `${name}` parameters of the query files (thresholds, weights),
    /// overriding each file's `-- param.<name>:` default, e.g.
    /// `[queries.params]` `weight_dues = 0.3`, `dues_warning_months = 2`.
    pub params: std::collections::BTreeMap<String, toml::Value>,
}

impl QueriesConfig {
    /// The parameters as the SQL text that replaces `${name}`.
    pub fn param_text(&self) -> std::collections::BTreeMap<String, String> {
        self.params
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// Largest request body accepted (after gzip decoding), in bytes.
    pub max_body_bytes: usize,
    /// How long the writer waits for more requests to share a commit.
    pub commit_window_ms: u64,
    /// Events per commit at most (whole requests are never split).
    pub max_batch_events: usize,
    /// How far `occurred_at` may lie in the future, in seconds.
    pub max_future_skew_secs: i64,
    /// Compact the table (Delta OPTIMIZE) after this many data files were written; 0 = never.
    pub compact_after_files: usize,
    /// … or after this many commits, whichever comes first; 0 = count files only.
    pub compact_after_commits: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlSettings {
    /// Rows returned at most (`truncated: true` beyond).
    pub row_limit: usize,
    /// Bytes of result returned at most (Arrow memory; `truncated: true` beyond).
    pub max_result_bytes: usize,
    /// A query is cancelled after this (also a live `as_of` dashboard).
    pub timeout_secs: u64,
    /// Memory pool of one query (and of one live `as_of` dashboard).
    pub memory_limit_bytes: usize,
    /// Memory that all bounded queries may hold together.
    pub total_memory_bytes: usize,
    /// Bounded queries (SQL, live dashboards) running at once; more wait in line.
    pub max_concurrent: usize,
    /// How long a query waits for a place before the answer is 503 with Retry-After.
    pub queue_timeout_ms: u64,
    /// Bounded queries one token may run at once (SQL and live dashboards together);
    /// beyond it the answer is 429 with Retry-After at once, so one caller cannot take
    /// every place of `max_concurrent`.
    pub max_concurrent_per_token: usize,
    /// Where a query spills the sorts, aggregates and sort-merge joins that outgrow its
    /// memory pool: empty = the system's temporary directory, `off` = refuse them.
    pub spill_dir: String,
    /// Bytes all spilling queries may write together.
    pub spill_max_bytes: u64,
}

/// Prometheus metrics: `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Count at all: `false` installs no recorder (every count is a no-op) and
    /// `/metrics` answers 404; for measuring what the counting costs.
    pub enabled: bool,
    /// A separate address serving `GET /metrics` without a token (for a scraper on a
    /// private network); empty = only the main listener's `/metrics`, with an admin token.
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: String::new(),
        }
    }
}

/// The Postgres wire protocol (`psql`, DBeaver, ODBC, psycopg): `[pg]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PgSettings {
    /// Address Postgres clients connect to; empty turns the protocol off, port 0 picks
    /// a free port.
    pub listen: String,
    /// PEM certificate chain and PKCS#8 private key for TLS (both or neither). Clients
    /// on loopback may connect without TLS; others must use it, so without a
    /// certificate only loopback clients are served.
    pub tls_cert: String,
    pub tls_key: String,
    /// Connections open at once; more are refused (SQLSTATE 53300).
    pub max_connections: usize,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5433".into(),
            tls_cert: String::new(),
            tls_key: String::new(),
            max_connections: 64,
        }
    }
}

/// Where the warning digests go: an SMTP server, or (no host) `.eml` files in `outbox`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// SMTP host; empty = write the digests as `.eml` files to `outbox`.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (port 587), `tls` (465) or `none` (a relay on loopback).
    pub security: String,
    pub username: String,
    pub password: String,
    /// The sender of the digests.
    pub from: String,
    /// The folder of `.eml` files when no SMTP host is set.
    pub outbox: String,
    /// Attempts per digest, and the wait before the second (doubling after).
    pub attempts: u32,
    pub retry_backoff_ms: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "党建测控预警 <dangjian@localhost>".into(),
            outbox: "./data/outbox".into(),
            attempts: 3,
            retry_backoff_ms: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSettings {
    /// Whether `serve` refreshes the models (and runs the warning rules) on their cron
    /// schedules, catching up missed runs at start-up. Off, they run only by hand
    /// (`dangjian refresh`).
    pub enabled: bool,
    /// When `serve` vacuums `events` and the model tables (cron with seconds, China
    /// time): deletes the files compactions and refreshes replaced; "" = never.
    pub vacuum: String,
    /// A vacuum deletes only files removed more than this many hours ago (readers of
    /// older versions, such as external Delta readers, would miss them). Keep it at an
    /// hour or more while models refresh: a vacuum also deletes files not yet referenced
    /// that are older than this, and a refresh under way has uploaded files it has not
    /// committed yet.
    pub vacuum_retention_hours: u64,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            vacuum: "0 30 3 * * *".into(),
            vacuum_retention_hours: warehouse::maintenance::DEFAULT_RETENTION.as_secs() / 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// Materialised dashboard answers kept in memory (dashboard × org × period, reused
    /// until a model they read is refreshed); 0 renders every request.
    pub cache_entries: usize,
    /// A live (`as_of`) dashboard is cancelled after this; it also waits for a place
    /// among the bounded queries (`sql.max_concurrent`).
    pub live_timeout_secs: u64,
    /// Memory pool of one live (`as_of`) dashboard, drawn from `sql.total_memory_bytes`.
    pub live_memory_limit_bytes: usize,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            cache_entries: dashboards::cockpit::render::DEFAULT_CACHE_ENTRIES,
            live_timeout_secs: dashboards::cockpit::render::DEFAULT_LIVE_TIMEOUT.as_secs(),
            live_memory_limit_bytes: warehouse::QueryBounds::default().live_memory_limit,
        }
    }
}

/// What "today" is for the server and every command: the machine's clock, or a fixed
/// day to run on (the demo and the browser tests pin it, so nothing they show depends
/// on the date they run).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSettings {
    /// Run on this day (`YYYY-MM-DD`, China date, at the machine's time of day) or start
    /// at this RFC 3339 instant, the clock running on from there; empty = the machine's
    /// clock.
    pub today: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `dangjian=debug,ingest=debug`.
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The person the token belongs to.
    pub name: String,
    /// `admin`, `leader`, `analyst`, `secretary`, `producer` or `member`.
    pub role: String,
    /// The root of the org subtree the token may see and write (none for a member).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org: String,
    /// Hex SHA-256 of the token (`dangjian token new` prints both).
    pub sha256: String,
    /// When the token stops working (RFC 3339, or a China date: valid through that
    /// day); empty = never.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expires_at: String,
    /// For a `member` token: the person (`member_id`) whose own record it reads; their
    /// scope is that record, not `org` (which may be empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub member: String,
}

/// Who sees what: personal data per role, the audit trail, sign-in throttling, tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSettings {
    /// Mixed into every pseudonym analysts see; change it and every pseudonym changes
    /// (keep it secret and fixed, or analysts' saved joins break).
    pub pseudonym_salt: String,
    /// What leaders see of each kind of personal data.
    pub leader: RoleMasking,
    /// What analysts see.
    pub analyst: RoleMasking,
    /// What secretaries see (within their own subtree).
    pub secretary: RoleMasking,
    /// Failed sign-ins one client address may make in a burst before 429.
    pub sign_in_burst: u32,
    /// … and one more try per this many seconds after.
    pub sign_in_refill_secs: u64,
    /// A file of revoked token names, one a line (`dangjian token revoke NAME` appends);
    /// empty = `revoked-tokens` beside the config file. Read again with the config.
    pub revoked_file: String,
    /// How often the server looks whether the config or the revoked list changed (a
    /// SIGHUP reloads at once).
    pub reload_secs: u64,
    /// Rows of the `audit` table older than this are deleted by the vacuum schedule.
    pub audit_retention_days: u64,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            pseudonym_salt: String::new(),
            leader: RoleMasking::from(&warehouse::Masking::leader()),
            analyst: RoleMasking::from(&warehouse::Masking::analyst()),
            secretary: RoleMasking::from(&warehouse::Masking::clear()),
            sign_in_burst: 10,
            sign_in_refill_secs: 6,
            revoked_file: String::new(),
            reload_secs: 2,
            audit_retention_days: 400,
            cors_origins: Vec::new(),
        }
    }
}

/// What one role sees of each kind of personal data: `clear`, `masked`, `pseudonym`,
/// `year` or `removed` (see `warehouse::access::Treatment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleMasking {
    pub name: String,
    pub student_no: String,
    pub email: String,
    pub phone: String,
    pub birth_date: String,
    pub free_text: String,
}

impl Default for RoleMasking {
    fn default() -> Self {
        Self::from(&warehouse::Masking::clear())
    }
}

impl From<&warehouse::Masking> for RoleMasking {
    fn from(m: &warehouse::Masking) -> Self {
        use warehouse::access::PersonalKind as K;
        let t = |k| m.treatment(k).as_str().to_string();
        Self {
            name: t(K::Name),
            student_no: t(K::StudentNo),
            email: t(K::Email),
            phone: t(K::Phone),
            birth_date: t(K::BirthDate),
            free_text: t(K::FreeText),
        }
    }
}

impl RoleMasking {
    /// The masking these settings describe; `role` names the section in the error.
    pub fn masking(&self, role: &str) -> Result<warehouse::Masking, ConfigError> {
        use warehouse::access::{PersonalKind as K, Treatment};
        let mut masking = warehouse::Masking::clear();
        for (kind, value) in [
            (K::Name, &self.name),
            (K::StudentNo, &self.student_no),
            (K::Email, &self.email),
            (K::Phone, &self.phone),
            (K::BirthDate, &self.birth_date),
            (K::FreeText, &self.free_text),
        ] {
            let treatment = Treatment::parse(value).ok_or_else(|| ConfigError::Invalid {
                message: format!(
                    "access.{role}.{}: `{value}` is not one of {}",
                    kind.as_str(),
                    Treatment::NAMES
                ),
            })?;
            masking = masking.with(kind, treatment);
        }
        Ok(masking)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            storage: StorageConfig::default(),
            queries: QueriesConfig::default(),
            ingest: IngestSettings::default(),
            sql: SqlSettings::default(),
            log: LogSettings::default(),
            scheduler: SchedulerSettings::default(),
            dashboards: DashboardSettings::default(),
            mail: MailConfig::default(),
            clock: ClockSettings::default(),
            access: AccessSettings::default(),
            pg: PgSettings::default(),
            metrics: MetricsSettings::default(),
            tokens: Vec::new(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: "./data/warehouse".into(),
        }
    }
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            commit_window_ms: 2,
            max_batch_events: 100_000,
            max_future_skew_secs: 86_400,
            compact_after_files: 100,
            compact_after_commits: 20,
        }
    }
}

impl Default for SqlSettings {
    fn default() -> Self {
        Self {
            row_limit: 10_000,
            max_result_bytes: 64 << 20,
            timeout_secs: 30,
            memory_limit_bytes: 1 << 30,
            total_memory_bytes: 4 << 30,
            max_concurrent: 8,
            queue_timeout_ms: 5_000,
            max_concurrent_per_token: 2,
            spill_dir: String::new(),
            spill_max_bytes: 20 << 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info,buoyant_kernel=off,deltalake_core=warn".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
    #[error("config: {message}")]
    Invalid { message: String },
}

/// One setting given on the command line — `--set sql.row_limit=500`, or a flag such as
/// `--listen` — parsed once: a dotted key and its TOML value. The top layer of
/// [`Config::load`].
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: toml::Value,
    /// Where it came from, for errors: `--set sql.row_limit=5`, `--listen`.
    origin: String,
}

impl Setting {
    /// `key=value` as `--set` takes it: the value is read as TOML (`500`, `true`,
    /// `"text"`), and as plain text when it is not TOML (`--set listen=0.0.0.0:8080`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, raw) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected key=value"))?;
        Ok(Self {
            key: key.trim().to_string(),
            value: toml_value(raw.trim()),
            origin: format!("--set {text}"),
        })
    }

    /// A text setting from a command-line flag (`--listen 0.0.0.0:8080` is `listen`).
    pub fn text(key: &str, value: impl Into<String>, flag: &str) -> Self {
        Self {
            key: key.to_string(),
            value: toml::Value::String(value.into()),
            origin: flag.to_string(),
        }
    }
}

impl std::str::FromStr for Setting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl Config {
    /// Loads the layers in order: defaults, `file`, `env`, `sets` (the command line).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        sets: &[Setting],
    ) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        let mut origin = "defaults".to_string();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            origin = path.display().to_string();
            // Check the file alone first, so an unknown key names the file.
            Self::from_table(table.clone()).map_err(|message| ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            })?;
        }
        let keys = scalar_keys();
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("DANGJIAN_"))
            .collect();
        for (name, value) in &env {
            if name == "DANGJIAN_CONFIG" {
                continue;
            }
            let key = keys.iter().find(|k| env_name(k) == *name).ok_or_else(|| {
                ConfigError::Override {
                    origin: format!("environment variable {name}"),
                    message: format!(
                        "no such setting; known: {}",
                        keys.iter()
                            .map(|k| env_name(k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            })?;
            set_path(&mut table, key, value);
        }
        for set in sets {
            if !keys.contains(&set.key) && !set.key.starts_with("queries.params.") {
                return Err(ConfigError::Override {
                    origin: set.origin.clone(),
                    message: format!("unknown key `{}`; known: {}", set.key, keys.join(", ")),
                });
            }
            set_value(&mut table, &set.key, set.value.clone());
        }
        let _ = origin;
        Self::from_table(table).map_err(|message| ConfigError::Invalid { message })
    }

    fn from_table(table: toml::Table) -> Result<Self, String> {
        Config::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
    }

    pub fn sql_limits(&self) -> warehouse::QueryLimits {
        warehouse::QueryLimits {
            row_limit: self.sql.row_limit,
            result_bytes: self.sql.max_result_bytes,
            timeout: Duration::from_secs(self.sql.timeout_secs),
            memory_limit: self.sql.memory_limit_bytes,
        }
    }

    /// The bounds of all bounded work (SQL, live dashboards) of the process.
    pub fn query_bounds(&self) -> warehouse::QueryBounds {
        warehouse::QueryBounds {
            limits: self.sql_limits(),
            live_memory_limit: self.dashboards.live_memory_limit_bytes,
            max_concurrent: self.sql.max_concurrent,
            queue_wait: Duration::from_millis(self.sql.queue_timeout_ms),
            total_memory: self.sql.total_memory_bytes,
            spill_dir: match self.sql.spill_dir.as_str() {
                "" => Some(std::env::temp_dir()),
                "off" => None,
                dir => Some(PathBuf::from(dir)),
            },
            spill_max_bytes: self.sql.spill_max_bytes,
        }
    }

    /// The base of links in mails: `public_url`, else `http://` + `listen`.
    pub fn link_base(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.clone()
        }
    }

    pub fn mail_settings(&self) -> Result<dashboards::warnings::mail::MailSettings, ConfigError> {
        let security = dashboards::warnings::mail::Security::parse(&self.mail.security)
            .ok_or_else(|| ConfigError::Invalid {
                message: format!(
                    "mail.security: `{}` is not one of starttls, tls, none",
                    self.mail.security
                ),
            })?;
        Ok(dashboards::warnings::mail::MailSettings {
            smtp_host: self.mail.smtp_host.clone(),
            smtp_port: self.mail.smtp_port,
            security,
            username: self.mail.username.clone(),
            password: self.mail.password.clone(),
            from: self.mail.from.clone(),
            outbox: PathBuf::from(&self.mail.outbox),
            attempts: self.mail.attempts,
            backoff: Duration::from_millis(self.mail.retry_backoff_ms),
        })
    }

    /// When `serve` vacuums, if ever.
    pub fn vacuum_schedule(&self) -> Result<Option<dashboards::Schedule>, ConfigError> {
        let expression = self.scheduler.vacuum.trim();
        if expression.is_empty() {
            return Ok(None);
        }
        dashboards::Schedule::parse("vacuum", expression)
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                message: format!("scheduler.vacuum: {e}"),
            })
    }

    pub fn vacuum_retention(&self) -> Duration {
        Duration::from_secs(self.scheduler.vacuum_retention_hours * 3600)
    }

    /// The process's clock: the machine's, or one started at `clock.today`. Make it once
    /// per process and share it (a shifted clock is fixed when it is made).
    pub fn clock(&self) -> Result<warehouse::SharedClock, ConfigError> {
        let text = self.clock.today.trim();
        if text.is_empty() {
            return Ok(std::sync::Arc::new(warehouse::clock::SystemClock));
        }
        warehouse::clock::pinned(text).ok_or_else(|| ConfigError::Invalid {
            message: format!(
                "clock.today: `{text}` is neither YYYY-MM-DD nor an RFC 3339 instant, e.g. 2026-11-25"
            ),
        })
    }

    pub fn ingest_config(&self, clock: warehouse::SharedClock) -> ingest::IngestConfig {
        ingest::IngestConfig {
            clock,
            commit_window: Duration::from_millis(self.ingest.commit_window_ms),
            max_batch_events: self.ingest.max_batch_events,
            max_future_skew: chrono::TimeDelta::seconds(self.ingest.max_future_skew_secs),
            compact_after_files: self.ingest.compact_after_files,
            compact_after_commits: self.ingest.compact_after_commits,
        }
    }

    /// Every scalar setting as a dotted key, with its default — the config reference.
    pub fn reference() -> Vec<(String, String)> {
        let defaults = toml::Value::try_from(Config::default()).expect("defaults serialize");
        let mut out = Vec::new();
        walk(&defaults, String::new(), &mut |key, value| {
            out.push((key, value.to_string()))
        });
        out
    }
}

/// Dotted keys of every scalar setting (tokens are set in a file only).
fn scalar_keys() -> Vec<String> {
    Config::reference().into_iter().map(|(k, _)| k).collect()
}

fn walk(value: &toml::Value, prefix: String, f: &mut dyn FnMut(String, &toml::Value)) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(v, key, f);
            }
        }
        toml::Value::Array(_) => {}
        scalar => f(prefix, scalar),
    }
}

/// `sql.row_limit` → `DANGJIAN_SQL_ROW_LIMIT`.
fn env_name(key: &str) -> String {
    format!("DANGJIAN_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Sets a dotted key; the value is read as TOML (numbers, booleans) or else as text.
/// A setting's text as TOML (`500`, `true`, `"text"`), else as the text itself.
fn toml_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(table: &mut toml::Table, key: &str, raw: &str) {
    set_value(table, key, toml_value(raw));
}

fn set_value(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("keys are not empty");
    let mut current = table;
    for part in parts {
        current = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("config sections are tables");
    }
    current.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("dj-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:1\"\n[sql]\nrow_limit = 5\ntimeout_secs = 7\n",
        )
        .unwrap();
        let env = vec![("DANGJIAN_SQL_ROW_LIMIT".to_string(), "6".to_string())];
        let config = Config::load(
            Some(&file),
            env,
            &[Setting::parse("sql.timeout_secs=8").unwrap()],
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:1");
        assert_eq!(config.sql.row_limit, 6);
        assert_eq!(config.sql.timeout_secs, 8);
        assert_eq!(config.storage.url, "./data/warehouse");
    }

    #[test]
    fn the_deploy_example_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/dangjian.example.toml");
        let config = Config::load(Some(&file), vec![], &[]).unwrap();
        assert_eq!(config.storage.url, "/var/lib/dangjian/warehouse");
        assert_eq!(config.tokens.len(), 2);
        crate::auth::TokenStore::from_config(&config.tokens).unwrap();
        let defaults = Config::default();
        assert_eq!(config.sql, defaults.sql, "the example shows the defaults");
        assert_eq!(config.ingest, defaults.ingest);
        assert_eq!(config.scheduler, defaults.scheduler);
        assert!(config.vacuum_schedule().unwrap().is_some());
    }

    #[test]
    fn a_wrong_vacuum_schedule_is_named() {
        let config = Config::load(
            None,
            vec![],
            &[Setting::parse("scheduler.vacuum=every night").unwrap()],
        )
        .unwrap();
        let err = config.vacuum_schedule().unwrap_err().to_string();
        assert!(
            err.contains("scheduler.vacuum") && err.contains("every night"),
            "{err}"
        );
        let never = Config::load(
            None,
            vec![],
            &[Setting::parse("scheduler.vacuum=").unwrap()],
        )
        .unwrap();
        assert!(never.vacuum_schedule().unwrap().is_none());
    }

    #[test]
    fn the_clock_starts_at_the_configured_day() {
        let config = Config::load(
            None,
            vec![],
            &[Setting::parse("clock.today=2027-01-01").unwrap()],
        )
        .unwrap();
        let today = warehouse::clock::china_today(config.clock().unwrap().now());
        assert_eq!(today.to_string(), "2027-01-01");
        let wrong = Config::load(
            None,
            vec![],
            &[Setting::parse("clock.today=tomorrow").unwrap()],
        )
        .unwrap();
        let err = wrong.clock().unwrap_err().to_string();
        assert!(
            err.contains("clock.today") && err.contains("tomorrow"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = std::env::temp_dir().join(format!("dj-config-u-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[sql]\nrow_limt = 5\n").unwrap();
        let err = Config::load(Some(&file), vec![], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("row_limt"), "{err}");
        let err = Config::load(None, vec![("DANGJIAN_SQL_ROWS".into(), "1".into())], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("DANGJIAN_SQL_ROWS"), "{err}");
    }
}
