//! The cockpit models in DataFusion and in DuckDB, in one run over the same Parquet files.
//!
//! Opens the warehouse (`BENCH_WAREHOUSE` or the first argument, default
//! `target/demo-10m/warehouse`), takes the active Parquet files of `events` from the Delta
//! log (the table's snapshot, not a directory listing), and times every model of
//! `queries/metrics/` and `queries/stats/` as `SELECT * FROM <model>` in DataFusion: one
//! warm-up run, then `BENCH_RUNS` (default 3) timed runs to a collected result; the table
//! shows the median, the best is kept too. Then `benches/duckdb/cockpit.py` runs the same
//! SQL in DuckDB over the same file list, the same way (see that script for the small
//! dialect translation), and one table compares them: ratio = DataFusion / DuckDB median.
//!
//! Both engines' answers are checked against each other by a fingerprint — the row count,
//! and per column the non-NULL count and the sum of numbers (count of `true` for
//! booleans) — equal to 1e-6 relative.
//!
//! Run the binary that `cargo test --workspace --all-targets --no-run` builds with
//! `--bench` (without it, it returns at once so `cargo test` stays quick):
//! `target/debug/deps/cockpit-<hash> --bench [WAREHOUSE_DIR]`. `BENCH_MODELS=a,b` picks
//! models, `BENCH_PYTHON` the interpreter with the pinned `duckdb`
//! (`benches/duckdb/requirements.txt`), `BENCH_OUT` the folder of the job file and the
//! results (default `target/bench-cockpit`), `BENCH_WARMUP` the warm-up runs (default 1),
//! `BENCH_TIMEOUT_S` stops a DataFusion run after that many seconds (default 900) and
//! `BENCH_EXPLAIN=1` prints DataFusion's `EXPLAIN ANALYZE` of each model after its runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warehouse::arrow::array::{Array, AsArray, RecordBatch};
use warehouse::arrow::compute::{cast, sum};
use warehouse::arrow::datatypes::{DataType, Float64Type, Schema};
use warehouse::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use warehouse::queries::{QueryCatalog, QueryKind};
use warehouse::{StorageRoot, Warehouse};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// A column's part of the fingerprint, by its DataFusion type.
fn kind(data_type: &DataType) -> &'static str {
    if data_type.is_numeric() {
        "number"
    } else if *data_type == DataType::Boolean {
        "bool"
    } else {
        "other"
    }
}

/// count(*), then per column count(col) and sum(col) for numbers / count of true for
/// booleans — the same list `cockpit.py` computes in SQL.
fn fingerprint(schema: &Schema, batches: &[RecordBatch]) -> Vec<f64> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut out = vec![rows as f64];
    for (i, field) in schema.fields().iter().enumerate() {
        let non_null: usize = batches
            .iter()
            .map(|b| b.column(i).len() - b.column(i).null_count())
            .sum();
        out.push(non_null as f64);
        match kind(field.data_type()) {
            "number" => out.push(
                batches
                    .iter()
                    .map(|b| {
                        let floats = cast(b.column(i), &DataType::Float64).unwrap();
                        sum(floats.as_primitive::<Float64Type>()).unwrap_or(0.0)
                    })
                    .sum(),
            ),
            "bool" => out.push(
                batches
                    .iter()
                    .map(|b| b.column(i).as_boolean().true_count() as f64)
                    .sum(),
            ),
            _ => {}
        }
    }
    out
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0))
}

struct Timing {
    rows: usize,
    median_ms: f64,
    best_ms: f64,
    fingerprint: Vec<f64>,
    columns: Vec<Value>,
}

struct Settings {
    warmup: usize,
    runs: usize,
    timeout: Duration,
}

async fn time_datafusion(
    context: impl Fn() -> SessionContext,
    sql: &str,
    settings: &Settings,
) -> Result<Timing, String> {
    let run = || async {
        let started = Instant::now();
        let query = async { context().sql(sql).await?.collect().await };
        let batches = tokio::time::timeout(settings.timeout, query)
            .await
            .map_err(|_| format!("over {} s, stopped", settings.timeout.as_secs()))?
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((started.elapsed().as_secs_f64() * 1000.0, batches))
    };
    for _ in 0..settings.warmup {
        run().await?;
    }
    let mut times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..settings.runs.max(1) {
        let (ms, batches) = run().await?;
        times.push(ms);
        last = batches;
    }
    times.sort_by(f64::total_cmp);
    let schema = context()
        .sql(sql)
        .await
        .map_err(|e| e.to_string())?
        .schema()
        .as_arrow()
        .clone();
    Ok(Timing {
        rows: last.iter().map(|b| b.num_rows()).sum(),
        median_ms: times[times.len() / 2],
        best_ms: times[0],
        fingerprint: fingerprint(&schema, &last),
        columns: schema
            .fields()
            .iter()
            .map(|f| json!({"name": f.name(), "kind": kind(f.data_type())}))
            .collect(),
    })
}

async fn explain(warehouse: &Warehouse, name: &str) {
    let Ok(frame) = warehouse
        .context()
        .sql(&format!("EXPLAIN ANALYZE SELECT * FROM {name}"))
        .await
    else {
        return;
    };
    if let Ok(batches) = frame.collect().await {
        for batch in batches {
            let plans = cast(batch.column(1), &DataType::Utf8).unwrap();
            for i in 0..plans.len() {
                println!("{}", plans.as_string::<i32>().value(i));
            }
        }
    }
}

/// Local paths of the files the Delta log lists for the current version of `events`.
fn active_files(table: &warehouse::deltalake::DeltaTable) -> Vec<String> {
    let mut files: Vec<String> = table
        .get_file_uris()
        .expect("the events table has a version")
        .map(|uri| uri.strip_prefix("file://").unwrap_or(&uri).to_string())
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "the cockpit benchmark runs with --bench (target/debug/deps/cockpit-<hash> --bench)"
        );
        return;
    }
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| env_or("BENCH_WAREHOUSE", "target/demo-10m/warehouse"));
    let number = |name: &str, default: &str| -> usize {
        env_or(name, default)
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a number"))
    };
    let settings = Settings {
        warmup: number("BENCH_WARMUP", "1"),
        runs: number("BENCH_RUNS", "3").max(1),
        timeout: Duration::from_secs(number("BENCH_TIMEOUT_S", "900") as u64),
    };
    let runs = settings.runs;
    let only: Vec<String> = std::env::var("BENCH_MODELS")
        .map(|s| s.split(',').map(|m| m.trim().to_string()).collect())
        .unwrap_or_default();
    let out = PathBuf::from(env_or("BENCH_OUT", &format!("{ROOT}/target/bench-cockpit")));
    std::fs::create_dir_all(&out).unwrap();

    let path = std::fs::canonicalize(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let root = StorageRoot::parse(path.to_str().unwrap()).unwrap();
    let catalog = QueryCatalog::embedded().unwrap();
    let (warehouse, table) = Warehouse::open(root, catalog.clone()).await.unwrap();
    // The models read the projections as a running server's do: computed at start.
    let started = Instant::now();
    warehouse.projections().caught_up(table.version()).await;
    println!(
        "projections computed from every event in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let files = active_files(&table);
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let events = warehouse
        .rows("SELECT count(*) AS n FROM events")
        .await
        .unwrap()[0]["n"]
        .clone();
    println!(
        "dangjian cockpit benchmark: {} events, version {}, {} Parquet files ({:.0} MiB), {} cores, {runs} timed run(s) after {} warm-up(s)",
        events,
        table.version().unwrap_or_default(),
        files.len(),
        bytes as f64 / (1 << 20) as f64,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        settings.warmup,
    );

    // The scan alone: one read of `events` through the warehouse (deltalake's DeltaScan),
    // the same files as a plain DataFusion Parquet table, and (below) in DuckDB.
    let plain = SessionContext::new();
    let frame = plain
        .read_parquet(files.clone(), ParquetReadOptions::default())
        .await
        .unwrap();
    plain.register_table("events", frame.into_view()).unwrap();
    // deltalake turns Parquet filter pushdown (late materialisation) on for its scans.
    let config =
        SessionConfig::new().set_bool("datafusion.execution.parquet.pushdown_filters", true);
    let pushdown = SessionContext::new_with_config(config);
    let frame = pushdown
        .read_parquet(files.clone(), ParquetReadOptions::default())
        .await
        .unwrap();
    pushdown
        .register_table("events", frame.into_view())
        .unwrap();
    let probe_sql = "SELECT count(*) AS n, sum(length(payload)) AS payload_bytes FROM events WHERE event_type = 'quiz.taken'";
    let mut probes = Vec::new();
    for (label, ctx) in [
        ("scan: events via DeltaScan", warehouse.context()),
        ("scan: same files, DataFusion Parquet", plain.clone()),
        ("scan: same, with pushdown_filters", pushdown.clone()),
    ] {
        let timing = time_datafusion(|| ctx.clone(), probe_sql, &settings).await;
        if let Ok(t) = &timing {
            println!(
                "datafusion: {label:<38} median {:>10.1} ms  best {:>10.1} ms",
                t.median_ms, t.best_ms
            );
        }
        probes.push((label, timing));
    }

    let params = catalog.params();
    let models: Vec<_> = catalog
        .models()
        .filter(|m| only.is_empty() || only.contains(&m.name))
        .collect();
    let explain_each = std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1");
    let mut datafusion = Vec::new();
    for model in &models {
        let sql = format!("SELECT * FROM {}", model.name);
        let timing = time_datafusion(|| warehouse.context(), &sql, &settings).await;
        match &timing {
            Ok(t) => println!(
                "datafusion: {:<30} {:>9} rows  median {:>10.1} ms  best {:>10.1} ms",
                model.name, t.rows, t.median_ms, t.best_ms
            ),
            Err(e) => println!("datafusion: {:<30} error: {e}", model.name),
        }
        if explain_each {
            explain(&warehouse, &model.name).await;
        }
        datafusion.push(timing);
    }

    let job = json!({
        "files": files,
        "runs": runs,
        "warmup": settings.warmup,
        "views": catalog.of_kind(QueryKind::View)
            .map(|v| json!({"name": v.name, "sql": v.render(params).unwrap()}))
            .collect::<Vec<_>>(),
        // Every model is created (rate_spread reads two others); `run` picks the timed ones.
        "models": catalog.models().map(|m| json!({
            "name": m.name,
            "sql": m.render(params).unwrap(),
            "run": models.iter().any(|x| x.name == m.name),
            "fingerprint": models.iter().zip(&datafusion)
                .find(|(x, _)| x.name == m.name)
                .and_then(|(_, t)| t.as_ref().ok())
                .map(|t| t.columns.clone())
                .unwrap_or_default(),
        })).collect::<Vec<_>>(),
        "probe": probe_sql,
    });
    let job_path = out.join("job.json");
    std::fs::write(&job_path, serde_json::to_vec_pretty(&job).unwrap()).unwrap();
    let script = Path::new(ROOT).join("benches/duckdb/cockpit.py");
    let python = env_or("BENCH_PYTHON", "python3");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&job_path)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{python} {}: {e}", script.display()));
    assert!(output.status.success(), "the DuckDB side failed");
    std::fs::write(out.join("duckdb.json"), &output.stdout).unwrap();
    let duck: Value = serde_json::from_slice(&output.stdout).unwrap();

    println!();
    println!(
        "DataFusion 55 ({} profile) vs DuckDB {}, median of {runs} runs, ms",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
        duck["duckdb"].as_str().unwrap_or("?")
    );
    println!(
        "| {:<28} | {:>9} | {:>13} | {:>10} | {:>6} | {:<10} |",
        "model", "rows", "DataFusion ms", "DuckDB ms", "ratio", "answers"
    );
    println!(
        "|{:-<30}|{:->11}|{:->15}|{:->12}|{:->8}|{:-<12}|",
        ":", ":", ":", ":", ":", ":"
    );
    let duck_probe = duck["probe"]["median_ms"].as_f64();
    for (label, timing) in &probes {
        if let Ok(t) = timing {
            println!(
                "| {:<28} | {:>9} | {:>13.0} | {:>10} | {:>6} | {:<10} |",
                label,
                1,
                t.median_ms,
                duck_probe.map_or("–".into(), |v| format!("{v:.0}")),
                duck_probe.map_or("–".into(), |v| format!("{:.2}", t.median_ms / v)),
                "",
            );
        }
    }
    let mut results = Vec::new();
    for (model, timing) in models.iter().zip(&datafusion) {
        let d = &duck["models"][&model.name];
        let (df_ms, rows, df_print) = match timing {
            Ok(t) => (
                Some(t.median_ms),
                t.rows.to_string(),
                format!("{:.0}", t.median_ms),
            ),
            // "over N s, stopped" for a time-out, else the start of the error.
            Err(e) => (None, "–".into(), e.chars().take(18).collect()),
        };
        let duck_ms = d["median_ms"].as_f64();
        let answers = match (timing, d["fingerprint"].as_array()) {
            (Ok(t), Some(f)) => {
                let theirs: Vec<f64> = f.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect();
                if d["rows"].as_u64() != Some(t.rows as u64) {
                    format!("rows differ: {}", d["rows"])
                } else if same(&t.fingerprint, &theirs) {
                    "same".into()
                } else {
                    "values differ".into()
                }
            }
            _ => d["error"]
                .as_str()
                .map_or("–".into(), |e| format!("DuckDB: {e}")),
        };
        let ratio = match (df_ms, duck_ms) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        println!(
            "| {:<28} | {:>9} | {:>13} | {:>10} | {:>6} | {:<10} |",
            model.name,
            rows,
            df_print,
            duck_ms.map_or("–".into(), |v| format!("{v:.0}")),
            ratio,
            answers
        );
        results.push(json!({
            "model": model.name,
            "rows": timing.as_ref().ok().map(|t| t.rows),
            "datafusion_median_ms": df_ms,
            "datafusion_best_ms": timing.as_ref().ok().map(|t| t.best_ms),
            "datafusion_fingerprint": timing.as_ref().ok().map(|t| t.fingerprint.clone()),
            "datafusion_error": timing.as_ref().err(),
            "duckdb": d,
            "answers": answers,
        }));
    }
    std::fs::write(
        out.join("results.json"),
        serde_json::to_vec_pretty(&results).unwrap(),
    )
    .unwrap();
    println!("\n(details: {})", out.join("results.json").display());

    if std::env::var("BENCH_BATCH").is_ok_and(|v| v == "1") {
        batch_session(&warehouse, &models, &duck, &settings).await;
    }
}

/// The models as `dangjian refresh` runs them: one batch session in which every view
/// is computed once into memory, then each model over those results. Printed beside
/// DuckDB's time for the model alone, and the whole refresh against DuckDB's sum.
async fn batch_session(
    warehouse: &Warehouse,
    models: &[&warehouse::queries::QueryFile],
    duck: &Value,
    settings: &Settings,
) {
    let started = Instant::now();
    let ctx = match warehouse.batch_context().await {
        Ok(ctx) => ctx,
        Err(e) => {
            println!("\nbatch session: the views could not be computed: {e}");
            return;
        }
    };
    let views_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "\nBatch session (how `dangjian refresh` runs them): every view computed once in {views_ms:.0} ms, then each model"
    );
    println!(
        "| {:<28} | {:>9} | {:>18} | {:>10} | {:>6} |",
        "model", "rows", "DataFusion batch ms", "DuckDB ms", "ratio"
    );
    println!(
        "|{:-<30}|{:->11}|{:->20}|{:->12}|{:->8}|",
        ":", ":", ":", ":", ":"
    );
    let (mut ours, mut theirs) = (views_ms, 0.0);
    for model in models {
        let sql = format!("SELECT * FROM {}", model.name);
        let timing = time_datafusion(|| ctx.clone(), &sql, settings).await;
        let duck_ms = duck["models"][&model.name]["median_ms"].as_f64();
        match timing {
            Ok(t) => {
                ours += t.median_ms;
                theirs += duck_ms.unwrap_or(0.0);
                println!(
                    "| {:<28} | {:>9} | {:>18.0} | {:>10} | {:>6} |",
                    model.name,
                    t.rows,
                    t.median_ms,
                    duck_ms.map_or("–".into(), |v| format!("{v:.0}")),
                    duck_ms.map_or("–".into(), |v| format!("{:.2}", t.median_ms / v)),
                );
            }
            Err(e) => println!("| {:<28} | error: {e} |", model.name),
        }
    }
    println!(
        "whole refresh: DataFusion {ours:.0} ms (views once + every model) vs DuckDB {theirs:.0} ms (every model alone) — ratio {:.2}",
        ours / theirs.max(1e-9)
    );
}
