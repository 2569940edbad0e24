//! The `dangjian` command: parses arguments and runs the service of the `dangjian`
//! library (see `src/lib.rs` for the layout). `dangjian --help` lists the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dangjian::{commands, demo, server};

#[derive(Debug, Parser)]
#[command(
    name = "dangjian",
    version,
    about = "智慧党建: Party-affairs events → Delta Lake → SQL, cockpit and early warnings"
)]
struct Cli {
    /// A TOML config file (also `DANGJIAN_CONFIG`).
    #[arg(long, global = true, env = "DANGJIAN_CONFIG")]
    config: Option<PathBuf>,
    /// Override any setting: `--set sql.row_limit=500` (repeatable; wins over file and env).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<dangjian::config::Setting>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server: ingest, SQL, health.
    Serve(server::ServeArgs),
    /// Generate a realistic university, load it through ingest, and serve it.
    Demo(demo::DemoArgs),
    /// Run a read-only SQL query against the warehouse and print a table.
    Sql(commands::SqlArgs),
    /// Refresh materialised cockpit models now (all, or the ones named).
    Refresh(commands::RefreshArgs),
    /// Delete the files that compactions and model refreshes replaced (the server does
    /// it on `scheduler.vacuum`); run it while no server writes to the same storage.
    Vacuum(commands::VacuumArgs),
    /// Bring a table written by an earlier version up to this one (the server also does
    /// it at start); run it while no server writes to the same storage.
    Migrate,
    /// Early warnings (党建测控预警): run the rules, list the warnings.
    #[command(subcommand)]
    Warnings(commands::WarningsCommand),
    /// Study recommendations (智能党建): the weekly push.
    #[command(subcommand)]
    Study(commands::StudyCommand),
    /// Make bearer tokens and their hashes for the config.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Print every setting with its default and environment variable.
    Config,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Planning recurses over the expression tree: an analyst's `IN (…)` list of a few
    // thousand ids, or a deeply nested CASE, needs more than tokio's default 2 MiB of
    // stack per worker. Only the pages a thread touches are ever allocated.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                server::serve_command(cli.config.as_deref(), &cli.set, args).await
            }
            Command::Demo(args) => demo::demo_command(cli.config.as_deref(), &cli.set, args).await,
            Command::Sql(args) => {
                commands::sql_command(cli.config.as_deref(), &cli.set, args).await
            }
            Command::Refresh(args) => {
                commands::refresh_command(cli.config.as_deref(), &cli.set, args).await
            }
            Command::Vacuum(args) => {
                commands::vacuum_command(cli.config.as_deref(), &cli.set, args).await
            }
            Command::Migrate => commands::migrate_command(cli.config.as_deref(), &cli.set).await,
            Command::Warnings(cmd) => {
                commands::warnings_command(cli.config.as_deref(), &cli.set, cmd).await
            }
            Command::Study(cmd) => {
                commands::study_command(cli.config.as_deref(), &cli.set, cmd).await
            }
            Command::Token(cmd) => commands::token_command(cli.config.as_deref(), &cli.set, cmd),
            Command::Config => commands::config_command(),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
