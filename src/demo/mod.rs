//! `dangjian demo`: a realistic university, generated from a seed, loaded through the
//! same ingest path as the API, then served.
//!
//! [`generate`] makes the events; this module loads them with a progress bar, writes
//! a config with one fresh token per role (hashes only) and starts the server.

pub mod generate;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::Ingestor;
use tokio::net::TcpListener;

use crate::CommandResult;
use crate::auth::{hash_token_hex, new_token};
use crate::config::{Config, Setting, TokenConfig};
use crate::server::{App, init_tracing, load_config, open_for_ingest, shutdown_signal};
use generate::{DemoPlan, DemoSpec};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the generator: the same seed and --today give the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Multiplies the university (colleges, branches, people, events); ~25 gives 10M+ events.
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// The day the demo data runs up to (default: today in China Standard Time).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Where the demo keeps its warehouse, config and outbox.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Load the data, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Only load the events, then exit: no model refresh, no warning run, no server
    /// (for benchmarks over a large `--scale`).
    #[arg(long)]
    pub load_only: bool,
    /// Delete the demo warehouse first (otherwise re-running adds nothing: event ids are
    /// derived from the seed, so the second load is all duplicates).
    #[arg(long)]
    pub reset: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub async fn demo_command(file: Option<&Path>, sets: &[Setting], args: DemoArgs) -> CommandResult {
    let warehouse_dir = args.data_dir.join("warehouse");
    if args.reset && warehouse_dir.exists() {
        std::fs::remove_dir_all(&warehouse_dir)?;
    }
    std::fs::create_dir_all(&args.data_dir)?;
    // The warehouse holds members' personal data and the folder the demo's tokens:
    // for this user only.
    restrict(&args.data_dir, 0o700)?;
    let mut defaults = vec![
        Setting::text(
            "storage.url",
            warehouse_dir.display().to_string(),
            "--data-dir",
        ),
        Setting::text("listen", &args.listen, "--listen"),
        Setting::text(
            "mail.outbox",
            args.data_dir.join("outbox").display().to_string(),
            "--data-dir",
        ),
    ];
    // A demo of a given day runs on that day: its server's clock (and the config it
    // writes for `dangjian serve`) starts there, whatever the machine's date.
    if let Some(today) = args.today {
        defaults.push(Setting::text("clock.today", today.to_string(), "--today"));
    }
    // Demo defaults first; the user's file, environment and --set still win.
    let mut config = load_config(file, &[defaults, sets.to_vec()].concat(), Vec::new())?;
    init_tracing(&config.log.filter);
    let clock = config.clock()?;
    let today = args
        .today
        .unwrap_or_else(|| warehouse::clock::china_today(clock.now()));
    let spec = DemoSpec {
        seed: args.seed,
        scale: args.scale,
        today,
    };
    let plan = generate::plan(&spec);

    let (warehouse, ingest) = open_for_ingest(&config).await?;
    let clock = ingest.clock().clone();
    load(&spec, &ingest).await?;
    compact(&ingest).await?;
    if args.load_only {
        ingest.shutdown().await;
        return Ok(());
    }
    // The study pushes of the earlier weeks and what members took up, then the week's
    // push, before the models refresh, so the cockpit's 学习推荐 panels count them.
    let members = dashboards::Members::new(
        warehouse.clone(),
        ingest.clone(),
        dashboards::warnings::mail::Mailer::new(config.mail_settings()?)?,
        config.link_base(),
    );
    load_study_history(&members, &ingest, &spec).await?;
    run_study_push(&members, week_start(today)).await;
    let runner = dashboards::ModelRunner::new(warehouse.clone());
    let failed = crate::commands::refresh_models(&runner, &[], clock.as_ref()).await?;
    if failed > 0 {
        eprintln!("{failed} model(s) failed to refresh; the cockpit shows them as stale");
    }

    let member = demo_member(&warehouse, &plan.branch).await?;
    let tokens = demo_tokens(&plan, &member);
    config.tokens = tokens.iter().map(|(t, _)| t.clone()).collect();
    write_demo_files(&args.data_dir, &config, &tokens)?;
    // Tokens revoked in the demo's config folder take effect while it serves.
    let config_file = args.data_dir.join("dangjian.toml");
    let app = App::from_parts(config, warehouse, ingest.clone())
        .await?
        .with_reload(Some(&config_file), Vec::new())?;
    run_warnings(&app, today).await;
    if args.no_serve {
        ingest.shutdown().await;
        print_tokens(None, &tokens, &args.data_dir);
        return Ok(());
    }
    let app = app.bind_listeners().await?;
    let listener = TcpListener::bind(&app.state.config.listen).await?;
    let url = app.public_url(&listener)?;
    app.print_banner(&listener, &[])?;
    print_tokens(Some(&url), &tokens, &args.data_dir);
    app.serve(listener, shutdown_signal()).await
}

/// Runs the early-warning rules twice, as a scheduler would have: two weeks ago
/// (raising the lapses of then, mailed to the outbox) and today (raising the new ones,
/// resolving what was fixed, escalating what nobody acknowledged in time).
async fn run_warnings(app: &App, today: chrono::NaiveDate) {
    let engine = &app.state.warnings;
    for day in [today - chrono::Days::new(14), today] {
        let as_of = crate::commands::parse_as_of(&day.to_string()).expect("a day parses");
        match engine.run(&[], as_of, false).await {
            Ok(r) => eprintln!(
                "预警 {day}: {} findings; raised {}, resolved {}, escalated {}; {} digest(s) → {}",
                r.findings.len(),
                r.raised + r.raised_again,
                r.resolved,
                r.escalated,
                r.mails_sent,
                engine.mailer().describe()
            ),
            Err(e) => eprintln!("预警 {day}: the warning run failed: {e}"),
        }
    }
    // The cockpit's warnings panel reads a model of the warnings: refresh it now that
    // there are some.
    if app
        .state
        .runner
        .materialised()
        .iter()
        .any(|m| m.name == "warnings_open")
    {
        let run = app
            .state
            .runner
            .refresh("warnings_open", app.state.clock.as_ref())
            .await;
        if let Some(e) = run.error {
            eprintln!("warnings_open: {e}");
        }
    }
}

/// Streams the generated events into the ingest writer, a few requests in flight so
/// that group commit packs them, with a progress bar.
async fn load(spec: &DemoSpec, ingest: &Arc<Ingestor>) -> CommandResult {
    let started = Instant::now();
    let bar = ProgressBar::new(generate::estimated_events(spec));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} 生成演示数据 {bar:40} {human_pos}/{human_len} events  {per_sec}  eta {eta}",
        )
        .expect("the template is valid"),
    );
    let requests =
        futures::stream::iter(generate::chunks(spec).flat_map(split_requests)).map(|values| {
            let ingest = ingest.clone();
            async move {
                let n = values.len() as u64;
                ingest.ingest(values).await.map(|receipt| (n, receipt))
            }
        });
    let mut in_flight = requests.buffered(4);
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    while let Some(result) = in_flight.next().await {
        let (n, receipt) = result?;
        accepted += receipt.accepted;
        duplicates += receipt.duplicates;
        bar.inc(n);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "loaded {} events ({accepted} new, {duplicates} already stored) in {secs:.1} s — {:.0} events/s",
        accepted + duplicates,
        (accepted + duplicates) as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Compacts the freshly loaded table: the load wrote a few small files per month
/// partition per commit; the cockpit models scan far fewer files afterwards.
async fn compact(ingest: &Ingestor) -> CommandResult {
    let started = Instant::now();
    let done = ingest.compact().await?;
    eprintln!(
        "compacted the events table: {} files into {} across {} month partitions in {:.1} s",
        done.files_removed,
        done.files_added,
        done.partitions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Ingest requests of at most 5,000 events.
fn split_requests(mut chunk: Vec<serde_json::Value>) -> Vec<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    while chunk.len() > 5_000 {
        let rest = chunk.split_off(5_000);
        out.push(std::mem::replace(&mut chunk, rest));
    }
    if !chunk.is_empty() {
        out.push(chunk);
    }
    out
}

/// The member of the demo's `member` token: the first Party member of the demo branch
/// (by id) whose quiz results were planted to lag in a topic, so their page (我的党建)
/// shows a recommendation with its reason; else the first Party member there.
async fn demo_member(
    warehouse: &warehouse::Warehouse,
    branch: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let orgs = warehouse::queries::sql_string_list(&warehouse.orgs().subtree(branch));
    let rows = warehouse
        .rows(&format!(
            "SELECT member_id FROM people WHERE org_id IN ({orgs}) AND status = 'active' \
             AND stage IN ('probationary', 'full_member') AND graduated_at IS NULL ORDER BY member_id"
        ))
        .await?;
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["member_id"].as_str())
        .collect();
    ids.iter()
        .find(|id| generate::planted_gap(id).is_some())
        .or(ids.first())
        .map(|id| id.to_string())
        .ok_or_else(|| format!("the demo branch {branch} has no Party member").into())
}

/// Monday 08:00 (China time) of the week of `today`: when the schedule of the study
/// push ran that week. The demo pushes as of then, so its figures do not depend on the
/// hour it is started at.
fn week_start(today: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let monday = warehouse::clock::monday_of(today);
    let local = monday.and_hms_opt(8, 0, 0).expect("08:00 exists");
    (local - chrono::TimeDelta::hours(8)).and_utc()
}

/// Weeks of study pushes before the current one that the demo records, with the study
/// that followed them.
const PUSH_HISTORY_WEEKS: u64 = 4;

/// The study pushes of the [`PUSH_HISTORY_WEEKS`] weeks before today's, each recorded as
/// its Monday's push would have computed it (over the events that had occurred by then;
/// no mail for the past), then the study members did after it
/// ([`generate::follow_through`]), week by week so that each week's recommendations
/// know what was studied after the last.
async fn load_study_history(
    members: &dashboards::Members,
    ingest: &Arc<Ingestor>,
    spec: &DemoSpec,
) -> CommandResult {
    let started = Instant::now();
    let (mut recorded, mut followed) = (0, 0);
    for back in (1..=PUSH_HISTORY_WEEKS).rev() {
        let day = spec.today - chrono::Days::new(7 * back);
        let (report, rows) = members.record_past(week_start(day)).await?;
        let week = warehouse::clock::monday_of(day);
        let study = generate::follow_through(spec.seed, spec.today, week, &rows);
        recorded += report.recorded;
        followed += study.len();
        if !study.is_empty() {
            ingest.ingest(study).await?;
        }
    }
    eprintln!(
        "学习推荐 history: {PUSH_HISTORY_WEEKS} earlier weeks, {recorded} recommendation(s) recorded, \
         {followed} followed by study, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The week's study push (智能党建), as the server's schedule would have run it on Monday:
/// `study.recommended` events and the digests in the outbox.
async fn run_study_push(members: &dashboards::Members, now: chrono::DateTime<chrono::Utc>) {
    match members.push(now, false).await {
        Ok(r) => eprintln!(
            "学习推荐 week of {}: {} member(s), {} recommendation(s) recorded, {} digest(s) mailed",
            r.week, r.members, r.recorded, r.mails_sent
        ),
        Err(e) => eprintln!("学习推荐: the push failed: {e}"),
    }
}

/// One token per role (a member's for `member`); the plain token is returned beside
/// its config entry.
fn demo_tokens(plan: &DemoPlan, member: &str) -> Vec<(TokenConfig, String)> {
    let entries = [
        ("校党委管理员", "admin", &plan.university),
        ("校党委书记", "leader", &plan.university),
        ("学院党委书记", "leader", &plan.college),
        ("组织部分析员", "analyst", &plan.university),
        ("支部书记", "secretary", &plan.branch),
        ("数据接入", "producer", &plan.university),
    ];
    let member_entry = {
        let token = new_token();
        (
            TokenConfig {
                name: format!("党员{member}"),
                role: "member".to_string(),
                org: String::new(),
                sha256: hash_token_hex(&token),
                expires_at: String::new(),
                member: member.to_string(),
            },
            token,
        )
    };
    entries
        .into_iter()
        .map(|(name, role, org)| {
            let token = new_token();
            (
                TokenConfig {
                    name: name.to_string(),
                    role: role.to_string(),
                    org: org.clone(),
                    sha256: hash_token_hex(&token),
                    expires_at: String::new(),
                    member: String::new(),
                },
                token,
            )
        })
        .chain(std::iter::once(member_entry))
        .collect()
}

/// `dangjian.toml` (hashes only, usable with `dangjian serve --config`) and
/// `demo-tokens.json` (the plain demo tokens, for scripts and browser tests).
fn write_demo_files(
    dir: &Path,
    config: &Config,
    tokens: &[(TokenConfig, String)],
) -> CommandResult {
    write_private(
        &dir.join("dangjian.toml"),
        toml::to_string_pretty(config)?.as_bytes(),
    )?;
    let plain: Vec<serde_json::Value> = tokens
        .iter()
        .map(|(t, token)| {
            let mut entry =
                serde_json::json!({"name": t.name, "role": t.role, "org": t.org, "token": token});
            if !t.member.is_empty() {
                entry["member"] = serde_json::json!(t.member);
            }
            entry
        })
        .collect();
    write_private(
        &dir.join("demo-tokens.json"),
        serde_json::to_string_pretty(&plain)?.as_bytes(),
    )?;
    Ok(())
}

/// Writes a file only its owner may read (0600): the demo's tokens and config.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    restrict(path, 0o600)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

fn print_tokens(url: Option<&str>, tokens: &[(TokenConfig, String)], dir: &Path) {
    println!(
        "\ntokens (also in {}):",
        dir.join("demo-tokens.json").display()
    );
    for (t, token) in tokens {
        let scope = if t.member.is_empty() {
            &t.org
        } else {
            &t.member
        };
        println!("  {:<9} {:<14} scope {:<10} {token}", t.role, t.name, scope);
    }
    if let Some(url) = url {
        let analyst = tokens
            .iter()
            .find(|(t, _)| t.role == "analyst")
            .map(|(_, tok)| tok.as_str())
            .unwrap_or("");
        println!(
            "\ntry:\n  curl -s {url}/api/v1/sql -H 'Authorization: Bearer {analyst}' \\\n    --data 'SELECT stage, count(*) AS people FROM people GROUP BY stage ORDER BY people DESC'"
        );
        println!("\nCtrl-C stops the server (everything acknowledged is already committed).");
    }
    use std::io::Write;
    std::io::stdout().flush().ok();
}
