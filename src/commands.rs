//! The small commands: `sql`, `token`, `config`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use crate::CommandResult;
use crate::auth::{Role, hash_token_hex, new_token};
use crate::config::{Config, Setting};
use crate::server::{load_config, open_for_ingest, open_warehouse};

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

pub async fn sql_command(file: Option<&Path>, sets: &[Setting], args: SqlArgs) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let sql = match (&args.query, &args.file) {
        (Some(q), None) => q.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?
        }
        _ => return Err("give a query, or -f FILE".into()),
    };
    let (warehouse, _table) = open_warehouse(&config).await?;
    let warehouse = std::sync::Arc::new(warehouse);
    // The read models answer under their own names, as they do for the server's readers.
    dashboards::ModelRunner::new(warehouse.clone())
        .load_tables()
        .await?;
    // At the machine: the operator reads everything, as an admin.
    let result = warehouse
        .query(
            &warehouse::ReadAccess::operator(),
            &sql,
            &config.sql_limits(),
        )
        .await?;
    match args.output {
        SqlOutput::Table => {
            println!(
                "{}",
                warehouse::arrow::util::pretty::pretty_format_batches(&result.batches)?
            );
        }
        SqlOutput::Csv => {
            let mut out = Vec::new();
            warehouse::csv::write_csv(&result.schema, &result.batches, &mut out)?;
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
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
    sets: &[Setting],
    args: RefreshArgs,
) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let (warehouse, _table) = open_warehouse(&config).await?;
    let runner = dashboards::ModelRunner::new(std::sync::Arc::new(warehouse));
    let clock = config.clock()?;
    let failed = refresh_models(&runner, &args.models, clock.as_ref()).await?;
    if failed > 0 {
        return Err(format!(
            "{failed} model(s) failed; see the messages above and the run history"
        )
        .into());
    }
    Ok(())
}

/// Adds what this version of dangjian stores beside the events of a table written by an
/// earlier one (today: the typed payload columns), in one commit, with progress. The
/// server does the same at start; this does it ahead of time, on its own.
pub async fn migrate_command(file: Option<&Path>, sets: &[Setting]) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let root = warehouse::StorageRoot::parse(&config.storage.url)?;
    let table = warehouse::events::open_or_create(&root).await?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} 迁移 events: {msg} [{elapsed}]")
            .expect("the template is valid"),
    );
    bar.set_message("typed payload columns (the table is read and rewritten once)");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let outcome = warehouse::migrate::typed_columns(table).await;
    bar.finish_and_clear();
    match outcome? {
        (_, Some(done)) => println!(
            "migrate: typed payload columns added to events and filled for {} events ({} file(s) rewritten in one commit, now version {}) in {:.1} s",
            done.events,
            done.files_replaced,
            done.version,
            done.elapsed.as_secs_f64()
        ),
        (table, None) => println!(
            "migrate: nothing to do; events (version {}) already has the typed payload columns",
            table.version().unwrap_or(0)
        ),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VacuumArgs {
    /// Delete only files removed more than this many hours ago (default:
    /// `scheduler.vacuum_retention_hours`, 168).
    #[arg(long)]
    pub retention_hours: Option<u64>,
}

pub async fn vacuum_command(
    file: Option<&Path>,
    sets: &[Setting],
    args: VacuumArgs,
) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let retention = args.retention_hours.map_or_else(
        || config.vacuum_retention(),
        |h| std::time::Duration::from_secs(h * 3600),
    );
    let (warehouse, ingest) = open_for_ingest(&config).await?;
    let runner = dashboards::ModelRunner::new(warehouse.clone());
    let outcome = crate::server::vacuum_all(&ingest, &runner, retention).await;
    let now = ingest.clock().now();
    ingest.shutdown().await;
    let (events, models) = outcome?;
    let (audit_rows, audit_files) =
        crate::server::expire_audit(&warehouse, &config, now, retention).await?;
    println!(
        "vacuum (files removed more than {} h ago): events {} file(s) deleted, now version {}; models {} file(s) deleted; audit {} row(s) past {} days and {} file(s) deleted",
        retention.as_secs() / 3600,
        events.files_deleted,
        events.version,
        models,
        audit_rows,
        config.access.audit_retention_days,
        audit_files
    );
    Ok(())
}

/// Refreshes `names` (or every materialised model) with a progress bar; returns how
/// many failed. Every run is recorded in the run history.
pub async fn refresh_models(
    runner: &dashboards::ModelRunner,
    names: &[String],
    clock: &dyn dashboards::Clock,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let count = if names.is_empty() {
        runner.materialised().len()
    } else {
        names.len()
    };
    let bar = indicatif::ProgressBar::new(count as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} 刷新模型 {bar:30} {pos}/{len} {msg}")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut failed = 0;
    runner
        .refresh_all(names, clock, |run| {
            let ms = (run.finished - run.started).num_milliseconds();
            match &run.error {
                None => bar.println(format!("  ✓ {}: {} rows in {ms} ms", run.model, run.rows)),
                Some(e) => {
                    failed += 1;
                    bar.println(format!("  ✗ {}: {e}", run.model));
                }
            }
            bar.inc(1);
        })
        .await?;
    bar.finish_and_clear();
    Ok(failed)
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new random token and print the `[[tokens]]` entry for the config.
    New {
        /// Who the token is for (default for a member token: the member id).
        #[arg(long)]
        name: Option<String>,
        /// admin, leader, analyst, secretary, producer or member.
        #[arg(long)]
        role: String,
        /// The org subtree the token may see and write (not for a member token).
        #[arg(long, required_unless_present = "member")]
        org: Option<String>,
        /// For `--role member`: the person (`member_id`, e.g. M000123) whose own record
        /// the token reads (我的党建).
        #[arg(long)]
        member: Option<String>,
    },
    /// Print the SHA-256 of an existing token.
    Hash { token: String },
    /// Revoke the token of NAME: its name is added to the revoked list beside the
    /// config (`access.revoked_file`); a running server refuses it within seconds.
    Revoke {
        /// The token's `name` in the config.
        name: String,
    },
}

pub fn token_command(
    file: Option<&std::path::Path>,
    sets: &[Setting],
    cmd: TokenCommand,
) -> CommandResult {
    match cmd {
        TokenCommand::Revoke { name } => {
            let file = file.ok_or("token revoke needs the server's config: --config FILE")?;
            let config = crate::server::load_config(Some(file), sets, Vec::new())?;
            if !config.tokens.iter().any(|t| t.name == name) {
                return Err(format!(
                    "no token named `{name}` in {} (known: {})",
                    file.display(),
                    config
                        .tokens
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into());
            }
            let revoked = crate::server::revoked_file(&config, file);
            if crate::auth::read_revoked(&revoked)?.contains(&name) {
                println!("`{name}` was already revoked ({})", revoked.display());
                return Ok(());
            }
            use std::io::Write;
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&revoked)?;
            writeln!(out, "{name}")?;
            println!(
                "revoked `{name}` ({}); a running server refuses it within access.reload_secs, or at once on SIGHUP",
                revoked.display()
            );
        }
        TokenCommand::New {
            name,
            role,
            org,
            member,
        } => {
            let parsed = Role::parse(&role).ok_or_else(|| {
                format!(
                    "unknown role `{role}` (admin, leader, analyst, secretary, producer, member)"
                )
            })?;
            let entry = match (parsed, member, org) {
                (Role::Member, Some(member), _) => {
                    ingest::catalogue::Id::check(&member)
                        .map_err(|e| format!("--member `{member}`: {e}"))?;
                    let name = name.unwrap_or_else(|| member.clone());
                    format!("name = {name:?}\nrole = \"member\"\nmember = {member:?}")
                }
                (Role::Member, None, _) => {
                    return Err("--role member needs --member <member_id>".into());
                }
                (_, Some(_), _) => {
                    return Err("--member is only for --role member".into());
                }
                (_, None, org) => {
                    let name = name.ok_or("--name is needed (who the token is for)")?;
                    let org = org.ok_or("--org is needed (the org subtree of the token)")?;
                    format!("name = {name:?}\nrole = {role:?}\norg = {org:?}")
                }
            };
            let token = new_token();
            println!("# token (give it to its holder; it is not stored anywhere): {token}");
            println!("[[tokens]]\n{entry}\nsha256 = {:?}", hash_token_hex(&token));
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

#[derive(Debug, Subcommand)]
pub enum WarningsCommand {
    /// Evaluate the early-warning rules now (or as of a date) and print the findings;
    /// without --dry-run, raise / resolve / escalate and mail the digests.
    Run {
        /// Evaluate as of this day (China time, 08:00) or RFC 3339 instant; default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the findings only: raise nothing, mail nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rules to run (default: all).
        rules: Vec<String>,
    },
    /// List the warnings (default: the open ones).
    List {
        /// open, acknowledged, resolved or all.
        #[arg(long, default_value = "open")]
        status: String,
    },
}

pub async fn warnings_command(
    file: Option<&Path>,
    sets: &[Setting],
    cmd: WarningsCommand,
) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let (warehouse, ingest) = open_for_ingest(&config).await?;
    let engine = dashboards::WarningEngine::new(
        warehouse.clone(),
        ingest.clone(),
        dashboards::warnings::mail::Mailer::new(config.mail_settings()?)?,
        config.link_base(),
    )?;
    let outcome = match cmd {
        WarningsCommand::Run {
            as_of,
            dry_run,
            rules,
        } => {
            let now = ingest.clock().now();
            run_warnings(&engine, as_of.as_deref(), now, dry_run, &rules).await
        }
        WarningsCommand::List { status } => list_warnings(&warehouse, &status).await,
    };
    ingest.shutdown().await;
    outcome
}

/// `2026-11-25` (08:00 China time, when a working day starts) or an RFC 3339 instant.
pub fn parse_as_of(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let local = day.and_hms_opt(8, 0, 0).expect("08:00 exists");
        return Ok((local - chrono::TimeDelta::hours(8)).and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("--as-of: `{text}` is neither YYYY-MM-DD nor an RFC 3339 instant"))
}

async fn run_warnings(
    engine: &dashboards::WarningEngine,
    as_of: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
    rules: &[String],
) -> CommandResult {
    let as_of = match as_of {
        Some(t) => parse_as_of(t)?,
        None => now,
    };
    let report = engine.run(rules, as_of, dry_run).await?;
    let rows: Vec<Vec<String>> = report
        .findings
        .iter()
        .map(|f| {
            vec![
                f.rule.clone(),
                f.severity.as_str().to_string(),
                f.org_id.clone(),
                f.member_id.clone().unwrap_or_default(),
                f.message.clone(),
            ]
        })
        .collect();
    println!(
        "{}",
        text_table(&["rule", "severity", "org", "member", "message"], &rows)?
    );
    println!(
        "{} finding(s) as of {}",
        report.findings.len(),
        as_of.to_rfc3339()
    );
    for (rule, error) in &report.failed {
        println!("  ✗ rule {rule} failed: {error}");
    }
    if dry_run {
        println!("dry run: nothing raised, nothing mailed");
    } else {
        println!(
            "raised {}, severity raised {}, resolved {}, escalated {}; {} digest(s) sent via {} for {} warning(s)",
            report.raised,
            report.raised_again,
            report.resolved,
            report.escalated,
            report.mails_sent,
            engine.mailer().describe(),
            report.notified
        );
        for (to, error) in &report.mails_failed {
            println!("  ✗ mail to {to} not delivered (next run retries): {error}");
        }
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} rule(s) failed", report.failed.len()).into())
    }
}

async fn list_warnings(warehouse: &warehouse::Warehouse, status: &str) -> CommandResult {
    let filter = match status {
        "all" => String::new(),
        "open" | "acknowledged" | "resolved" => format!("WHERE status = '{status}'"),
        other => {
            return Err(format!(
                "--status: `{other}` is not one of open, acknowledged, resolved, all"
            )
            .into());
        }
    };
    let batches = warehouse
        .context()
        .sql(&format!(
            "SELECT warning_id, rule, severity, status, org_id, member_id, detail, \
                    CAST(deadline AS VARCHAR) AS deadline, escalated_to \
             FROM warnings {filter} ORDER BY raised_at, warning_id"
        ))
        .await?
        .collect()
        .await?;
    println!(
        "{}",
        warehouse::arrow::util::pretty::pretty_format_batches(&batches)?
    );
    Ok(())
}

/// Rows of text as a bordered table.
fn text_table(
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<String, warehouse::arrow::error::ArrowError> {
    use warehouse::arrow::array::{ArrayRef, StringArray};
    let columns: Vec<(String, ArrayRef)> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let values: Vec<&str> = rows.iter().map(|r| r[i].as_str()).collect();
            (
                h.to_string(),
                std::sync::Arc::new(StringArray::from(values)) as ArrayRef,
            )
        })
        .collect();
    let batch = warehouse::arrow::array::RecordBatch::try_from_iter(columns)?;
    Ok(warehouse::arrow::util::pretty::pretty_format_batches(&[batch])?.to_string())
}

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// The weekly push of study recommendations (智能党建), now or as of a day: records
    /// the week's `study.recommended` events and mails each member their digest (the
    /// server does it on the schedule of `queries/recommendations/`). A second push in
    /// the same week records and mails nothing already done.
    Push {
        /// Push as of this day (China time, 08:00) or RFC 3339 instant; default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Count only: record nothing, mail nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn study_command(
    file: Option<&Path>,
    sets: &[Setting],
    cmd: StudyCommand,
) -> CommandResult {
    let config = load_config(file, sets, Vec::new())?;
    let (warehouse, ingest) = open_for_ingest(&config).await?;
    let members = dashboards::Members::new(
        warehouse.clone(),
        ingest.clone(),
        dashboards::warnings::mail::Mailer::new(config.mail_settings()?)?,
        config.link_base(),
    );
    let outcome = match cmd {
        StudyCommand::Push { as_of, dry_run } => {
            let as_of = match as_of {
                Some(t) => parse_as_of(&t)?,
                None => ingest.clock().now(),
            };
            match members.push(as_of, dry_run).await {
                Ok(report) => {
                    println!(
                        "week of {}: {} member(s) with recommendations ({} opted out), {} recommendation(s) recorded{}",
                        report.week,
                        report.members,
                        report.opted_out,
                        report.recorded,
                        if dry_run {
                            " (dry run: nothing recorded or mailed)"
                        } else {
                            ""
                        }
                    );
                    if !dry_run {
                        println!("{} digest(s) sent", report.mails_sent);
                        for (to, error) in &report.mails_failed {
                            println!("  ✗ mail to {to} not delivered (next push retries): {error}");
                        }
                    }
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
    };
    ingest.shutdown().await;
    outcome
}
