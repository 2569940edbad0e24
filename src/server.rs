//! Wiring of the server: config → warehouse → ingest writer → HTTP, and the orderly
//! shutdown (stop accepting, finish requests, commit what is queued, exit 0).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use ingest::Ingestor;
use tokio::net::TcpListener;
use warehouse::queries::QueryCatalog;
use warehouse::{StorageRoot, Warehouse};

use crate::CommandResult;
use crate::auth::{Maskings, TokenStore, Tokens};
use crate::config::{Config, Setting};
use crate::http::{self, AppState};
use crate::throttle::{CallerSlots, SignInThrottle};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080 (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Where the warehouse lives: a path, file://, memory:// or s3:// URL.
    #[arg(long)]
    pub storage_url: Option<String>,
    /// Run on this day (YYYY-MM-DD, China date, at the machine's time of day) or from
    /// this RFC 3339 instant (`clock.today`); the clock runs on from there.
    #[arg(long)]
    pub today: Option<String>,
}

impl ServeArgs {
    /// The flags as settings of the command line, which win over file and environment.
    pub fn as_sets(&self) -> Vec<Setting> {
        let mut sets = Vec::new();
        if let Some(listen) = &self.listen {
            sets.push(Setting::text("listen", listen, "--listen"));
        }
        if let Some(url) = &self.storage_url {
            sets.push(Setting::text("storage.url", url, "--storage-url"));
        }
        if let Some(today) = &self.today {
            sets.push(Setting::text("clock.today", today, "--today"));
        }
        sets
    }
}

pub fn load_config(
    file: Option<&Path>,
    sets: &[Setting],
    extra: Vec<Setting>,
) -> Result<Config, Box<dyn std::error::Error + Send + Sync>> {
    let mut all = sets.to_vec();
    all.extend(extra);
    Ok(Config::load(file, std::env::vars(), &all)?)
}

pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .ok();
}

pub async fn serve_command(
    file: Option<&Path>,
    sets: &[Setting],
    args: ServeArgs,
) -> CommandResult {
    let config = load_config(file, sets, args.as_sets())?;
    init_tracing(&config.log.filter);
    let app = App::build(config)
        .await?
        .with_reload(file, [sets.to_vec(), args.as_sets()].concat())?
        .bind_listeners()
        .await?;
    let listener = TcpListener::bind(&app.state.config.listen).await?;
    app.print_banner(&listener, &[])?;
    app.serve(listener, shutdown_signal()).await
}

/// Opens the warehouse under the configured root with the configured queries.
pub async fn open_warehouse(
    config: &Config,
) -> Result<(Warehouse, warehouse::deltalake::DeltaTable), Box<dyn std::error::Error + Send + Sync>>
{
    let root = StorageRoot::parse(&config.storage.url)?;
    let catalog = if config.queries.dir.is_empty() {
        QueryCatalog::embedded()?
    } else {
        QueryCatalog::from_dir(Path::new(&config.queries.dir))?
    }
    .with_params(config.queries.param_text());
    let (warehouse, table) = Warehouse::open(root, catalog).await?;
    let personal = warehouse::access::PersonalFields::new(
        ingest::catalogue::PERSONAL_FIELDS,
        config.access.pseudonym_salt.as_str(),
    );
    Ok((
        warehouse
            .with_bounds(config.query_bounds())?
            .with_personal_fields(personal),
        table,
    ))
}

/// Opens the warehouse and starts its ingest writer: what every command that writes
/// events (the server, the demo, warning runs, vacuum) needs first.
pub async fn open_for_ingest(
    config: &Config,
) -> Result<(Arc<Warehouse>, Arc<Ingestor>), Box<dyn std::error::Error + Send + Sync>> {
    // Counted from the first event on (the demo's load too).
    if config.metrics.enabled {
        crate::metrics::install();
    }
    let (warehouse, table) = open_warehouse(config).await?;
    let warehouse = Arc::new(warehouse);
    let ingest_config = config.ingest_config(config.clock()?);
    let ingest = Ingestor::start(warehouse.clone(), table, ingest_config).await?;
    Ok((warehouse, Arc::new(ingest)))
}

pub struct App {
    pub state: AppState,
    /// The Postgres wire's listener, once bound (`pg.listen`).
    pg: Option<crate::pg::PgListener>,
    /// The listener of `/metrics` without a token, once bound (`metrics.listen`).
    metrics: Option<TcpListener>,
    /// Where the tokens are read again from while serving: the config file and the
    /// `--set` overrides it was loaded with.
    reload: Option<(PathBuf, Vec<Setting>)>,
}

impl App {
    pub async fn build(config: Config) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if config.tokens.is_empty() {
            tracing::warn!(
                "no [[tokens]] configured: every API call will be refused (see `dangjian token new`)"
            );
        }
        let (warehouse, ingest) = open_for_ingest(&config).await?;
        tracing::info!(root = %warehouse.root().url(), version = ?warehouse.events_version(), orgs = warehouse.orgs().len(), "warehouse open");
        Self::from_parts(config, warehouse, ingest).await
    }

    /// An app over an already open warehouse and running writer (the demo loads first).
    pub async fn from_parts(
        config: Config,
        warehouse: Arc<Warehouse>,
        ingest: Arc<Ingestor>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let tokens = TokenStore::from_config(&config.tokens)?;
        let maskings = Maskings::from_config(&config.access)?;
        let slots = CallerSlots::new(config.sql.max_concurrent_per_token);
        let sign_ins = Arc::new(SignInThrottle::new(
            config.access.sign_in_burst,
            std::time::Duration::from_secs(config.access.sign_in_refill_secs),
        ));
        // One clock for the process: the writer's, handed to everything else.
        let clock = ingest.clock().clone();
        let runner = Arc::new(dashboards::ModelRunner::new(warehouse.clone()));
        // Readers' SQL reads the models' tables from the first query on.
        let tables = runner.load_tables().await?;
        tracing::info!(tables, "model tables open");
        let specs = dashboards::cockpit::spec::Specs::embedded_fitting(warehouse.catalog());
        let cockpit = Arc::new(
            dashboards::Cockpit::new(specs, runner.clone())
                .with_clock(clock.clone())
                .with_live_timeout(std::time::Duration::from_secs(
                    config.dashboards.live_timeout_secs,
                ))
                .with_cache_entries(config.dashboards.cache_entries),
        );
        let audit = Arc::new(warehouse::audit::AuditLog::start(&warehouse).await?);
        let mailer = dashboards::warnings::mail::Mailer::new(config.mail_settings()?)?;
        let warnings = Arc::new(dashboards::WarningEngine::new(
            warehouse.clone(),
            ingest.clone(),
            mailer,
            config.link_base(),
        )?);
        let members = Arc::new(dashboards::Members::new(
            warehouse.clone(),
            ingest.clone(),
            dashboards::warnings::mail::Mailer::new(config.mail_settings()?)?,
            config.link_base(),
        ));
        Ok(Self {
            reload: None,
            pg: None,
            metrics: None,
            state: AppState {
                config: Arc::new(config),
                clock,
                warehouse,
                ingest,
                tokens: Arc::new(Tokens::new(tokens)),
                maskings: Arc::new(maskings),
                slots,
                audit,
                sign_ins,
                runner,
                cockpit,
                warnings,
                members,
                ready: Arc::new(AtomicBool::new(true)),
            },
        })
    }

    /// Honours `file`'s revoked list from the start, and reads the tokens again from
    /// `file` (with the same `--set` overrides) and that list on SIGHUP and whenever
    /// either file changes (`access.reload_secs`).
    pub fn with_reload(
        mut self,
        file: Option<&Path>,
        sets: Vec<Setting>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(file) = file {
            let config = &self.state.config;
            let revoked = crate::auth::read_revoked(&revoked_file(config, file))?;
            self.state
                .tokens
                .replace(TokenStore::with_revoked(&config.tokens, &revoked)?);
            self.reload = Some((file.to_path_buf(), sets));
        }
        Ok(self)
    }

    /// Binds the addresses besides the HTTP one: the Postgres wire protocol's
    /// (`pg.listen`) and that of `/metrics` without a token (`metrics.listen`), each
    /// nothing when empty; so that they answer once the banner is printed, and
    /// [`App::serve`] serves them.
    pub async fn bind_listeners(
        mut self,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        self.pg = crate::pg::PgListener::bind(&self.state.config.pg).await?;
        let address = &self.state.config.metrics.listen;
        if !address.is_empty() {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|e| format!("metrics.listen `{address}`: {e}"))?;
            self.metrics = Some(listener);
        }
        Ok(self)
    }

    /// Where Postgres clients connect, once bound.
    pub fn pg_addr(&self) -> Option<std::net::SocketAddr> {
        self.pg.as_ref().and_then(|pg| pg.local_addr().ok())
    }

    /// The URL users reach the server at.
    pub fn public_url(&self, listener: &TcpListener) -> std::io::Result<String> {
        if !self.state.config.public_url.is_empty() {
            return Ok(self
                .state
                .config
                .public_url
                .trim_end_matches('/')
                .to_string());
        }
        let addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        Ok(format!("http://{host}:{}", addr.port()))
    }

    /// Prints where the server is; tests read the first line to find the port.
    pub fn print_banner(&self, listener: &TcpListener, extra: &[String]) -> std::io::Result<()> {
        use std::io::Write;
        let url = self.public_url(listener)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "dangjian listening on {url}")?;
        if let Some(addr) = self.pg_addr() {
            writeln!(
                out,
                "postgres wire on {addr} (any user name, a token as the password): psql \"host={} port={} user=analyst\"",
                addr.ip(),
                addr.port()
            )?;
        }
        for line in extra {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }

    /// Serves until `shutdown` resolves; then finishes in-flight requests and commits
    /// everything the ingest writer holds before returning.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> CommandResult {
        let state = self.state.clone();
        // A wrong vacuum schedule stops the start, not the first vacuum.
        let vacuum_schedule = state.config.vacuum_schedule()?;
        // So is a wrong schedule of the study push.
        state.members.schedule()?;
        let ready = state.ready.clone();
        let router = http::router(state.clone());
        // The scheduler refreshes the cockpit models; it stops with the server.
        let (stop_scheduler, scheduler_stopped) = tokio::sync::oneshot::channel::<()>();
        let scheduler = if state.config.scheduler.enabled {
            let scheduler = Arc::new(dashboards::Scheduler::new(
                state.runner.clone(),
                state.clock.clone(),
            )?);
            let rules = state
                .warnings
                .clone()
                .run_scheduled(state.clock.clone(), async move {
                    scheduler_stopped.await.ok();
                });
            let members = state.members.clone();
            let clock = state.clock.clone();
            Some(tokio::spawn(async move {
                // The models, the study push and the rules stop together.
                let (stop_models, models_stopped) = tokio::sync::oneshot::channel::<()>();
                let models = tokio::spawn(scheduler.run(async move {
                    models_stopped.await.ok();
                }));
                let (stop_push, push_stopped) = tokio::sync::oneshot::channel::<()>();
                let push = tokio::spawn(members.run_scheduled(clock, async move {
                    push_stopped.await.ok();
                }));
                rules.await;
                stop_models.send(()).ok();
                stop_push.send(()).ok();
                models.await.ok();
                push.await.ok();
            }))
        } else {
            tracing::info!("scheduler disabled: models refresh only by `dangjian refresh`");
            None
        };
        let vacuum = match vacuum_schedule {
            Some(schedule) if state.config.scheduler.enabled => {
                Some(tokio::spawn(vacuum_on_schedule(state.clone(), schedule)))
            }
            _ => None,
        };
        let reload = self
            .reload
            .map(|(file, sets)| tokio::spawn(reload_tokens(state.clone(), file, sets)));
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = match self.metrics {
            Some(listener) => {
                tracing::info!(address = %listener.local_addr()?, "metrics served without a token");
                let router = http::metrics::open_router(state.clone());
                Some(tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            metrics_stopped.await.ok();
                        })
                        .await
                }))
            }
            None => None,
        };
        let (stop_pg, pg_stopped) = tokio::sync::oneshot::channel::<()>();
        let pg = self.pg.map(|pg| {
            tokio::spawn(pg.serve(state.clone(), async move {
                pg_stopped.await.ok();
            }))
        });
        // The client address is what failed sign-ins are counted by.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                shutdown.await;
                ready.store(false, Ordering::Relaxed);
                // The wire closes its connections now, while HTTP finishes its requests.
                stop_pg.send(()).ok();
                tracing::info!("shutdown requested: finishing requests in flight");
            })
            .await?;
        if let Some(reload) = reload {
            reload.abort();
        }
        if let Some(pg) = pg {
            pg.await.ok();
        }
        stop_metrics.send(()).ok();
        if let Some(metrics) = metrics {
            metrics.await.ok();
        }
        stop_scheduler.send(()).ok();
        if let Some(vacuum) = vacuum {
            // A vacuum under way in the writer finishes before the writer stops.
            vacuum.abort();
        }
        if let Some(scheduler) = scheduler {
            scheduler.await.ok();
        }
        state.audit.shutdown().await;
        state.ingest.shutdown().await;
        tracing::info!(version = ?state.warehouse.events_version(), "stopped cleanly");
        Ok(())
    }
}

/// The revoked-tokens file of a config file: `access.revoked_file`, else
/// `revoked-tokens` beside the config.
pub fn revoked_file(config: &Config, file: &Path) -> PathBuf {
    if config.access.revoked_file.is_empty() {
        file.with_file_name("revoked-tokens")
    } else {
        PathBuf::from(&config.access.revoked_file)
    }
}

/// Keeps the tokens in force current: on SIGHUP, and whenever the config file or the
/// revoked list changed (looked at every `access.reload_secs`). A config that does not
/// load keeps the tokens as they were and says why. Only the tokens are reloaded; other
/// settings need a restart.
async fn reload_tokens(state: AppState, file: PathBuf, sets: Vec<Setting>) {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let stamps = |config: &Config| {
        let revoked = revoked_file(config, &file);
        (modified(&file), modified(&revoked))
    };
    let mut seen = stamps(&state.config);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let every = std::time::Duration::from_secs(state.config.access.reload_secs.max(1));
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let forced = tokio::select! {
            () = signalled => true,
            () = tokio::time::sleep(every) => false,
        };
        let now = stamps(&state.config);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        let loaded = load_config(Some(&file), &sets, Vec::new()).and_then(|config| {
            let revoked = crate::auth::read_revoked(&revoked_file(&config, &file))?;
            Ok(TokenStore::with_revoked(&config.tokens, &revoked)?)
        });
        match loaded {
            Ok(tokens) => {
                state.tokens.replace(tokens);
                tracing::info!(config = %file.display(), "tokens reloaded");
            }
            Err(e) => {
                tracing::error!(config = %file.display(), error = %e, "tokens not reloaded: the config does not load")
            }
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Vacuums `events` (between two commits of the writer) and every model table; answers
/// the files deleted of each.
pub async fn vacuum_all(
    ingest: &Ingestor,
    runner: &dashboards::ModelRunner,
    retention: std::time::Duration,
) -> Result<(ingest::Vacuum, usize), Box<dyn std::error::Error + Send + Sync>> {
    let events = ingest.vacuum(retention).await?;
    let models = runner.vacuum(retention).await?;
    Ok((events, models))
}

/// Deletes the audit rows older than `access.audit_retention_days` before `now`, then
/// vacuums the audit table's files removed more than `retention` ago; answers both counts.
pub async fn expire_audit(
    warehouse: &Warehouse,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
    retention: std::time::Duration,
) -> Result<(u64, usize), warehouse::Error> {
    let days = chrono::TimeDelta::days(config.access.audit_retention_days as i64);
    let (rows, files) =
        warehouse::audit::AuditLog::expire(warehouse, now - days, retention).await?;
    tracing::info!(rows, files, "audit records past their retention deleted");
    Ok((rows, files))
}

/// Runs [`vacuum_all`] and the audit retention at every time of `schedule`
/// (`scheduler.vacuum`).
async fn vacuum_on_schedule(state: AppState, schedule: dashboards::Schedule) {
    let retention = state.config.vacuum_retention();
    let clock = state.clock.clone();
    let never = std::future::pending::<()>();
    dashboards::on_schedule(clock.as_ref(), &[schedule], never, |_, at| {
        let state = state.clone();
        async move {
            match vacuum_all(&state.ingest, &state.runner, retention).await {
                Ok((events, models)) => tracing::info!(
                    events_files = events.files_deleted,
                    model_files = models,
                    "scheduled vacuum done"
                ),
                Err(e) => tracing::error!(error = %e, "scheduled vacuum failed"),
            }
            if let Err(e) = expire_audit(&state.warehouse, &state.config, at, retention).await {
                tracing::error!(error = %e, "audit retention failed");
            }
        }
    })
    .await;
}
