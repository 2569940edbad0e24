//! Wiring of the server: config → warehouse → ingest writer → HTTP, and the orderly
//! shutdown (stop accepting, finish requests, commit what is queued, exit 0).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use ingest::Ingestor;
use tokio::net::TcpListener;
use warehouse::queries::QueryCatalog;
use warehouse::{StorageRoot, Warehouse};

use crate::CommandResult;
use crate::auth::TokenStore;
use crate::config::Config;
use crate::http::{self, AppState};

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
    /// The flags as `--set` overrides, which win over file and environment.
    pub fn as_sets(&self) -> Vec<String> {
        let mut sets = Vec::new();
        if let Some(listen) = &self.listen {
            sets.push(format!("listen={listen:?}"));
        }
        if let Some(url) = &self.storage_url {
            sets.push(format!("storage.url={url:?}"));
        }
        if let Some(today) = &self.today {
            sets.push(format!("clock.today={today:?}"));
        }
        sets
    }
}

pub fn load_config(
    file: Option<&Path>,
    sets: &[String],
    extra: Vec<String>,
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

pub async fn serve_command(file: Option<&Path>, sets: &[String], args: ServeArgs) -> CommandResult {
    let config = load_config(file, sets, args.as_sets())?;
    init_tracing(&config.log.filter);
    let app = App::build(config).await?;
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
    Ok((warehouse.with_bounds(config.query_bounds()), table))
}

/// Opens the warehouse and starts its ingest writer: what every command that writes
/// events (the server, the demo, warning runs, vacuum) needs first.
pub async fn open_for_ingest(
    config: &Config,
) -> Result<(Arc<Warehouse>, Arc<Ingestor>), Box<dyn std::error::Error + Send + Sync>> {
    let (warehouse, table) = open_warehouse(config).await?;
    let warehouse = Arc::new(warehouse);
    let ingest_config = config.ingest_config(config.clock()?);
    let ingest = Ingestor::start(warehouse.clone(), table, ingest_config).await?;
    Ok((warehouse, Arc::new(ingest)))
}

pub struct App {
    pub state: AppState,
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
        Self::from_parts(config, warehouse, ingest)
    }

    /// An app over an already open warehouse and running writer (the demo loads first).
    pub fn from_parts(
        config: Config,
        warehouse: Arc<Warehouse>,
        ingest: Arc<Ingestor>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let tokens = TokenStore::from_config(&config.tokens)?;
        // One clock for the process: the writer's, handed to everything else.
        let clock = ingest.clock().clone();
        let runner = Arc::new(dashboards::ModelRunner::new(warehouse.clone()));
        let specs = dashboards::spec::Specs::embedded_fitting(warehouse.catalog());
        let cockpit = Arc::new(
            dashboards::Cockpit::new(specs, runner.clone())
                .with_clock(clock.clone())
                .with_live_timeout(std::time::Duration::from_secs(
                    config.dashboards.live_timeout_secs,
                ))
                .with_cache_entries(config.dashboards.cache_entries),
        );
        let mailer = dashboards::mail::Mailer::new(config.mail_settings()?)?;
        let warnings = Arc::new(dashboards::WarningEngine::new(
            warehouse.clone(),
            ingest.clone(),
            mailer,
            config.link_base(),
        )?);
        Ok(Self {
            state: AppState {
                config: Arc::new(config),
                clock,
                warehouse,
                ingest,
                tokens: Arc::new(tokens),
                runner,
                cockpit,
                warnings,
                acks: Default::default(),
                ready: Arc::new(AtomicBool::new(true)),
            },
        })
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
            Some(tokio::spawn(async move {
                // The models and the rules stop together.
                let (stop_models, models_stopped) = tokio::sync::oneshot::channel::<()>();
                let models = tokio::spawn(scheduler.run(async move {
                    models_stopped.await.ok();
                }));
                rules.await;
                stop_models.send(()).ok();
                models.await.ok();
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
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                ready.store(false, Ordering::Relaxed);
                tracing::info!("shutdown requested: finishing requests in flight");
            })
            .await?;
        stop_scheduler.send(()).ok();
        if let Some(vacuum) = vacuum {
            // A vacuum under way in the writer finishes before the writer stops.
            vacuum.abort();
        }
        if let Some(scheduler) = scheduler {
            scheduler.await.ok();
        }
        state.ingest.shutdown().await;
        tracing::info!(version = ?state.warehouse.events_version(), "stopped cleanly");
        Ok(())
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

/// Runs [`vacuum_all`] at every time of `schedule` (`scheduler.vacuum`).
async fn vacuum_on_schedule(state: AppState, schedule: dashboards::scheduler::ModelSchedule) {
    let retention = state.config.vacuum_retention();
    loop {
        let now = state.clock.now();
        let Some(next) = schedule.next_after(now) else {
            return;
        };
        state.clock.sleep_until(next).await;
        match vacuum_all(&state.ingest, &state.runner, retention).await {
            Ok((events, models)) => tracing::info!(
                events_files = events.files_deleted,
                model_files = models,
                "scheduled vacuum done"
            ),
            Err(e) => tracing::error!(error = %e, "scheduled vacuum failed"),
        }
    }
}
