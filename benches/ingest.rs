//! Durable ingest throughput, in events per second, in one run:
//!
//! - over HTTP loopback against the real `dangjian serve` (release build): batches of 1
//!   and of 1,000 events, with 1, 16 and 64 concurrent clients;
//! - through the library ([`ingest::Ingestor::ingest_body`]), JSON bodies of 1,000 events
//!   from 16 and from 64 tasks;
//! - the baseline: the same events as Arrow batches written by the plain arrow-rs
//!   Parquet writer to local files (no validation, no log, no dedupe), with the table's
//!   compression (Snappy) and, for reference, uncompressed.
//!
//! Every figure counts only acknowledged (committed) events; the baseline and library
//! figures are medians of three runs. Ratios are paired: the library's is the median of
//! three baseline-then-library pairs, each HTTP case's is against a baseline run right
//! before it. Run with `cargo bench --bench ingest`; `BENCH_SECONDS` sets the length of
//! each HTTP case, `BENCH_CPU=1` prints the CPU time per event of each library run and
//! of validation and JSON decoding alone.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ingest::decode::Format;
use ingest::{IngestConfig, Ingestor, ValidEvent, Validator};
use serde_json::{Value, json};
use warehouse::deltalake::parquet::arrow::ArrowWriter;
use warehouse::deltalake::parquet::basic::Compression;
use warehouse::deltalake::parquet::file::properties::WriterProperties;
use warehouse::queries::QueryCatalog;
use warehouse::{StorageRoot, Warehouse};

/// The server under test: this build's, or `BENCH_SERVER_BIN` (to compare two builds side
/// by side, each bench binary with its own server).
fn server_bin() -> String {
    std::env::var("BENCH_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dangjian").into())
}

/// When an event of the benchmark happened.
#[derive(Clone, Copy, PartialEq)]
enum Occurred {
    /// Spread over ten months of 2026, as an import of past records is.
    TenMonths,
    /// Just now, as a secretary's live recording is: one month partition.
    Now,
}

fn event(i: u64, occurred: Occurred) -> Value {
    let occurred_at = match occurred {
        Occurred::TenMonths => format!("2026-{:02}-15T10:00:00+08:00", 1 + i % 10),
        Occurred::Now => chrono::Utc::now().to_rfc3339(),
    };
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "event_type": "meeting.attended",
        "occurred_at": occurred_at,
        "org_id": format!("B{}", i % 40),
        "member_id": format!("M{:06}", i % 3000),
        "payload": {"meeting_id": format!("MT{}", i / 30), "status": "present"}
    })
}

/// Every case's files stay until the run ends ([`remove_scratch`]): deleting hundreds of
/// files between cases made the next case's file creations slower (ext4 skips recently
/// freed inodes when it allocates one).
static SCRATCH: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A fresh directory for one run of a case.
fn scratch(name: &str) -> std::path::PathBuf {
    let mut dirs = SCRATCH.lock().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "dangjian-bench-{name}-{}-{}",
        std::process::id(),
        dirs.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dirs.push(dir.clone());
    dir
}

fn remove_scratch() {
    for dir in SCRATCH.lock().unwrap().drain(..) {
        std::fs::remove_dir_all(dir).ok();
    }
}

/// The median of three runs of a case: single runs of the sub-second cases vary by
/// ±30 % on a shared 2-core machine.
async fn median_of_3<F: std::future::Future<Output = f64>>(mut run: impl FnMut() -> F) -> f64 {
    median([run().await, run().await, run().await])
}

fn median<const N: usize>(mut figures: [f64; N]) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[N / 2]
}

/// CPU time (user + system) the process has used so far, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line (11 and 12 counted from 0 after the
    // name), in clock ticks of 1/100 s (USER_HZ on Linux).
    (ticks(11) + ticks(12)) / 100.0
}

async fn library(events: u64, producers: usize) -> f64 {
    let dir = scratch("library");
    let root = StorageRoot::parse(dir.to_str().unwrap()).unwrap();
    let (warehouse, table) = Warehouse::open(root, QueryCatalog::embedded().unwrap())
        .await
        .unwrap();
    let ingest = Arc::new(
        Ingestor::start(Arc::new(warehouse), table, IngestConfig::default())
            .await
            .unwrap(),
    );
    // Request bodies, as a server or an importer has them.
    let batches = bodies(events);
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut tasks = Vec::new();
    let queue = Arc::new(std::sync::Mutex::new(batches));
    for _ in 0..producers {
        let (ingest, queue) = (ingest.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(batch) = queue.lock().unwrap().pop() else {
                    break;
                };
                ingest.ingest_body(&batch, Format::Json).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    if std::env::var_os("BENCH_CPU").is_some() {
        let micros = (cpu_seconds() - cpu) * 1e6 / events as f64;
        println!(
            "  library run, {producers} tasks: {rate:.0} events/s, {micros:.2} µs of CPU per event"
        );
    }
    ingest.shutdown().await;
    rate
}

/// The same events, validated up front, written as Parquet files of 1,000 rows by the
/// plain arrow-rs writer: with the table's compression (Snappy, what delta-rs writes),
/// or with arrow-rs' defaults (uncompressed).
fn baseline(rows: &[ValidEvent], compression: Compression) -> f64 {
    let dir = scratch(if compression == Compression::UNCOMPRESSED {
        "baseline-plain"
    } else {
        "baseline-snappy"
    });
    let now = chrono::Utc::now();
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .build();
    let started = Instant::now();
    for (n, chunk) in rows.chunks(1000).enumerate() {
        let batch = ingest::batch::to_record_batch(chunk.iter(), now);
        let file = std::fs::File::create(dir.join(format!("part-{n:05}.parquet"))).unwrap();
        let mut writer =
            ArrowWriter::try_new(file, batch.schema(), Some(properties.clone())).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

/// The baseline's events, validated beforehand (not part of the baseline's time), and
/// how long their validation took on one core.
fn validated(events: u64) -> (Vec<ValidEvent>, Duration) {
    let now = chrono::Utc::now();
    let validator = Validator::default();
    let values: Vec<Value> = (0..events).map(|i| event(i, Occurred::TenMonths)).collect();
    let started = Instant::now();
    let rows = values
        .into_iter()
        .map(|value| validator.validate(0, value, now).unwrap())
        .collect();
    (rows, started.elapsed())
}

/// `events` spread over ten months, as JSON request bodies of 1,000 events.
fn bodies(events: u64) -> Vec<Vec<u8>> {
    (0..events / 1000)
        .map(|b| {
            let batch: Vec<Value> = (0..1000)
                .map(|i| event(b * 1000 + i, Occurred::TenMonths))
                .collect();
            serde_json::to_vec(&batch).unwrap()
        })
        .collect()
}

/// Per event on one core, for JSON bodies of 1,000 events: the full path's first step,
/// the body to JSON values ([`ingest::decode::decode`], before [`Validator::validate`]),
/// and the direct path, the body straight to valid events ([`Validator::validate_body`]).
fn decoding(events: u64) -> (Duration, Duration) {
    let bodies = bodies(events);
    let started = Instant::now();
    for body in &bodies {
        let values = ingest::decode::decode(body, Format::Json).unwrap();
        assert_eq!(values.len(), 1000);
    }
    let decode = started.elapsed() / events as u32;
    let (validator, now) = (Validator::default(), chrono::Utc::now());
    let started = Instant::now();
    for body in &bodies {
        let valid = validator.validate_body(body, Format::Json, now).unwrap();
        assert_eq!(valid.len(), 1000);
    }
    (decode, started.elapsed() / events as u32)
}

struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn start_server(dir: &std::path::Path) -> Server {
    use std::io::BufRead;
    let token = "bench-token";
    let hash = String::from_utf8(
        Command::new(server_bin())
            .args(["token", "hash", token])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            // The scheduler would refresh the models and run the warning rules at start-up
            // (missed schedules) on the same cores: off, so only ingest is measured.
            "[scheduler]\nenabled = false\n\n[[tokens]]\nname = \"bench\"\nrole = \"producer\"\norg = \"U\"\nsha256 = \"{}\"\n",
            hash.trim()
        ),
    )
    .unwrap();
    let mut child = Command::new(server_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--storage-url")
        .arg(dir.join("warehouse"))
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("dangjian listening on ")
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

/// One client's request body, serialised once: every request sends a copy with fresh
/// event ids written in. A load generator that built and serialised JSON values for
/// every request spent ~26 % of this 2-core machine (measured with `perf`), CPU the
/// server under test then did not have.
struct Body {
    text: Vec<u8>,
    /// Where each event's id starts in `text`.
    ids: Vec<usize>,
}

impl Body {
    const PLACEHOLDER: &str = "00000000-0000-0000-0000-000000000000";

    fn new(first: u64, batch: usize, occurred: Occurred) -> Self {
        let events: Vec<Value> = (0..batch as u64)
            .map(|j| {
                let mut e = event(first + j, occurred);
                e["event_id"] = json!(Self::PLACEHOLDER);
                e
            })
            .collect();
        let text = serde_json::to_vec(&events).unwrap();
        let needle = Self::PLACEHOLDER.as_bytes();
        let ids: Vec<usize> = text
            .windows(needle.len())
            .enumerate()
            .filter_map(|(at, w)| (w == needle).then_some(at))
            .collect();
        assert_eq!(ids.len(), batch, "one id per event");
        Self { text, ids }
    }

    /// A copy of the body with a new UUIDv7 for every event.
    fn fresh(&self) -> Vec<u8> {
        let mut text = self.text.clone();
        let mut buffer = uuid::Uuid::encode_buffer();
        for &at in &self.ids {
            let id = uuid::Uuid::now_v7().hyphenated();
            text[at..at + Self::PLACEHOLDER.len()]
                .copy_from_slice(id.encode_lower(&mut buffer).as_bytes());
        }
        text
    }
}

async fn http(url: &str, batch: usize, clients: usize, occurred: Occurred, seconds: f64) -> f64 {
    let acknowledged = Arc::new(AtomicU64::new(0));
    // Small bodies come in ten variants per client, sent in turn, so that single events
    // "over ten months" do fall into ten months (a body of 1,000 spans them itself).
    let variants = if batch < 10 { 10 } else { 1 };
    let bodies: Vec<Vec<Body>> = (0..clients as u64)
        .map(|c| {
            (0..variants)
                .map(|k| Body::new(c * 1_000_000 + k * batch as u64, batch, occurred))
                .collect()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for bodies in bodies {
        let (url, acknowledged) = (format!("{url}/api/v1/events"), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for body in bodies.iter().cycle() {
                if Instant::now() >= deadline {
                    break;
                }
                let response = http
                    .post(&url)
                    .bearer_auth("bench-token")
                    .header("content-type", "application/json")
                    .body(body.fresh())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                // Read to the end, so the connection goes back to the pool.
                response.bytes().await.unwrap();
                acknowledged.fetch_add(batch as u64, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    acknowledged.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without
    // it, and a test run should not spend minutes measuring.
    if !std::env::args().any(|a| a == "--bench") {
        println!("the ingest benchmark runs under `cargo bench --bench ingest`");
        return;
    }
    // `BENCH_LOG=ingest=debug` shows the library writer's commit phases and compactions.
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .init();
    }
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    // `cargo bench --bench ingest -- http` runs only the cases whose label contains one of
    // the words after `--`.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |label: &str| filters.is_empty() || filters.iter().any(|f| label.contains(f));
    let events = 200_000;
    println!(
        "dangjian ingest benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    // Decoding first, while the heap is as fresh as a server's between requests.
    let cpu = std::env::var_os("BENCH_CPU").is_some();
    let decoded = cpu.then(|| decoding(events));
    let (rows, validating) = validated(events);
    if let Some((decode, direct)) = decoded {
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  one core, full path: JSON body to values {:.2} + validating values {:.2} µs per event",
            micros(decode),
            micros(validating) / events as f64
        );
        println!(
            "  one core, direct path: JSON body to valid events {:.2} µs per event",
            micros(direct)
        );
    }
    // The baseline always runs: every figure is a ratio against it. It writes the
    // Parquet the table holds (Snappy); the uncompressed writer is printed for reference.
    // The baseline and the library alternate, and the library's ratio is the median of
    // the three pairs' ratios: how fast this machine creates files drifts by up to 2×
    // within minutes (README, "Benchmarks"), which would otherwise count as a
    // difference between the two.
    // The library with 16 producers, and with 64 as the HTTP cases' most clients.
    let producers = [16, 64];
    let labels = producers
        .map(|tasks| format!("library: Ingestor::ingest_body, bodies of 1,000, {tasks} tasks"));
    let mut bases = [0.0; 3];
    let mut libs = [[0.0; 3]; 2];
    let mut ratios = [[0.0; 3]; 2];
    for i in 0..3 {
        bases[i] = baseline(&rows, Compression::SNAPPY);
        for (k, tasks) in producers.into_iter().enumerate() {
            if wanted(&labels[k]) {
                libs[k][i] = library(events, tasks).await;
                ratios[k][i] = libs[k][i] / bases[i];
            }
        }
    }
    let base = median(bases);
    println!(
        "{:<52} {:>12.0} events/s  (1.00 × baseline)",
        "baseline: arrow-rs ArrowWriter, Snappy", base
    );
    let plain = median_of_3(|| async { baseline(&rows, Compression::UNCOMPRESSED) }).await;
    println!(
        "{:<52} {:>12.0} events/s  ({:.2} × baseline)",
        "reference: arrow-rs ArrowWriter, uncompressed",
        plain,
        plain / base
    );
    for (k, label) in labels.iter().enumerate() {
        if wanted(label) {
            println!(
                "{label:<52} {:>12.0} events/s  ({:.2} × baseline, paired)",
                median(libs[k]),
                median(ratios[k])
            );
        }
    }
    let dir = scratch("http");
    let server = start_server(&dir);
    // The token's scope is the university: the org must exist for the events under it.
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth("bench-token")
        .header("content-type", "application/json")
        .body(
            json!({"event_type": "org.created", "occurred_at": "2026-01-01", "org_id": "U",
                   "payload": {"name": "基准大学党委", "kind": "university"}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "the university is created");
    // Single events are live recordings (this month); batches of 1,000 are imports
    // spread over ten months. The last case is the worst one for group commit: single
    // events spread over ten months, so every commit writes ten small files.
    let cases = [
        (1, 1, Occurred::Now),
        (1, 16, Occurred::Now),
        (1, 64, Occurred::Now),
        (1000, 1, Occurred::TenMonths),
        (1000, 16, Occurred::TenMonths),
        (1000, 64, Occurred::TenMonths),
        (1, 64, Occurred::TenMonths),
    ];
    for (batch, clients, occurred) in cases {
        let months = match occurred {
            Occurred::Now => "this month",
            Occurred::TenMonths => "10 months",
        };
        let label = format!("HTTP: batch {batch}, {clients} client(s), {months}");
        if !wanted(&label) {
            continue;
        }
        // Paired as well: a baseline run right before each case.
        let base = baseline(&rows, Compression::SNAPPY);
        let rate = http(&server.url, batch, clients, occurred, seconds).await;
        println!(
            "{label:<52} {rate:>12.0} events/s  ({:.2} × baseline, paired)",
            rate / base
        );
    }
    drop(server);
    remove_scratch();
}
