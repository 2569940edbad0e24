//! The small commands: `sql`, `token`, `config`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use crate::CommandResult;
use crate::auth::{Role, hash_token_hex, new_token};
use crate::config::Config;
use crate::server::{load_config, open_warehouse};

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE).
    pub query: Option<String>,
    /// Read the query from a file instead.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = SqlOutput::Table)]
    pub output: SqlOutput,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SqlOutput {
    Table,
    Csv,
    Json,
}

pub async fn sql_command(file: Option<&Path>, sets: &[String], args: SqlArgs) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let sql = match (&args.query, &args.file) {
        (Some(q), None) => q.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?
        }
        _ => return Err("give a query, or -f FILE".into()),
    };
    let (warehouse, _table) = open_warehouse(&config).await?;
    let result = warehouse.query(&sql, &config.sql_limits()).await?;
    match args.output {
        SqlOutput::Table => {
            println!(
                "{}",
                warehouse::arrow::util::pretty::pretty_format_batches(&result.batches)?
            );
        }
        SqlOutput::Csv => {
            let mut writer = warehouse::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(std::io::stdout());
            for batch in &result.batches {
                writer.write(batch)?;
            }
        }
        SqlOutput::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::http::rows_json(&result.batches)?)?
            );
        }
    }
    eprintln!(
        "{} row(s){} in {:.1} ms",
        result.rows,
        if result.truncated {
            " (truncated at the row limit)"
        } else {
            ""
        },
        result.elapsed.as_secs_f64() * 1000.0
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Models to refresh (default: every materialised model).
    pub models: Vec<String>,
}

pub async fn refresh_command(
    file: Option<&Path>,
    sets: &[String],
    args: RefreshArgs,
) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let (warehouse, _table) = open_warehouse(&config).await?;
    let runner = dashboards::ModelRunner::new(std::sync::Arc::new(warehouse));
    let failed = refresh_models(&runner, &args.models).await?;
    if failed > 0 {
        return Err(format!(
            "{failed} model(s) failed; see the messages above and the run history"
        )
        .into());
    }
    Ok(())
}

/// Refreshes `names` (or every materialised model) with a progress bar; returns how
/// many failed. Every run is recorded in the run history.
pub async fn refresh_models(
    runner: &dashboards::ModelRunner,
    names: &[String],
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let materialised: Vec<String> = runner.materialised().into_iter().map(|m| m.name).collect();
    let models = if names.is_empty() {
        materialised
    } else {
        for name in names {
            if !materialised.contains(name) {
                return Err(dashboards::Error::UnknownModel {
                    model: name.clone(),
                    known: materialised.join(", "),
                }
                .into());
            }
        }
        names.to_vec()
    };
    let bar = indicatif::ProgressBar::new(models.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} 刷新模型 {bar:30} {pos}/{len} {msg}")
            .expect("the template is valid"),
    );
    let mut failed = 0;
    for model in &models {
        bar.set_message(model.clone());
        let run = runner.refresh(model, &dashboards::SystemClock).await;
        let ms = (run.finished - run.started).num_milliseconds();
        match &run.error {
            None => bar.println(format!("  ✓ {model}: {} rows in {ms} ms", run.rows)),
            Some(e) => {
                failed += 1;
                bar.println(format!("  ✗ {model}: {e}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(failed)
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new random token and print the `[[tokens]]` entry for the config.
    New {
        #[arg(long)]
        name: String,
        /// admin, leader, analyst, secretary or producer.
        #[arg(long)]
        role: String,
        /// The org subtree the token may see and write.
        #[arg(long)]
        org: String,
    },
    /// Print the SHA-256 of an existing token.
    Hash { token: String },
}

pub fn token_command(cmd: TokenCommand) -> CommandResult {
    match cmd {
        TokenCommand::New { name, role, org } => {
            Role::parse(&role).ok_or_else(|| {
                format!("unknown role `{role}` (admin, leader, analyst, secretary, producer)")
            })?;
            let token = new_token();
            println!("# token (give it to {name}; it is not stored anywhere): {token}");
            println!(
                "[[tokens]]\nname = {name:?}\nrole = {role:?}\norg = {org:?}\nsha256 = {:?}",
                hash_token_hex(&token)
            );
        }
        TokenCommand::Hash { token } => println!("{}", hash_token_hex(&token)),
    }
    Ok(())
}

pub fn config_command() -> CommandResult {
    for (key, default) in Config::reference() {
        println!(
            "{key} = {default}    # DANGJIAN_{}",
            key.replace('.', "_").to_ascii_uppercase()
        );
    }
    Ok(())
}
