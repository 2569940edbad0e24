//! Materialised dashboards under load: 200 concurrent clients on loopback against the
//! real `dangjian serve` over the fixed-seed demo data, with the response cache on
//! (`[dashboards] cache_entries`, default 1,024) and, as the baseline, off (every
//! request renders every panel from the materialised tables).
//!
//! Each client is one keep-alive connection requesting, in turn, a mix of dashboards
//! and orgs: the university and statistics boards of the university, the college board
//! of every college, the branch board of branches of each college, the statistics board
//! of each college. Before the load each URL is requested once (the first read of a
//! model table opens it from storage; with the cache on it also fills the cache), and
//! both servers must give the same JSON. Clients connect first (`/healthz`), then the
//! clock starts. Requests carry `Accept-Encoding: gzip`, as a browser's do
//! (`BENCH_ENCODING=identity` asks for plain JSON). Latency is from sending the request
//! to the last byte of the body.
//!
//! Run with `cargo bench --bench dashboards` (or the built binary with `--bench`).
//! The demo data: `BENCH_DEMO_DIR` names a directory `dangjian demo` wrote (e.g.
//! `target/web-demo` after the snapshot test); otherwise `<target>/bench-demo`, made
//! by `dangjian demo --seed 42 --today 2026-11-25 --no-serve` on the first run (a few
//! minutes) and reused after. `BENCH_SECONDS` (default 10) is the length of each case,
//! `BENCH_CLIENTS` (default 200) the number of clients, `BENCH_RATE` (default 2,000) the
//! aggregate requests/s of the paced case.
//!
//! Last, **`as_of` boards**: the same URLs with `as_of` an instant after the last refresh
//! (`BENCH_AS_OF`, default a minute after the newest `refreshed_at` of the `models`
//! table), which the server answers from the model tables' history (Delta time travel
//! to the version current then), by one client, every URL in turn: a warm-up round, then
//! `BENCH_AS_OF_ROUNDS` (default 3) timed rounds. The goal is p50 < 1.5 s.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../tests/support/fixed_demo.rs"]
mod fixed_demo;

const BIN: &str = env!("CARGO_BIN_EXE_dangjian");
const PERIOD: &str = "from=2025-12&to=2026-11";
/// Branch boards per college in the mix.
const BRANCHES_PER_COLLEGE: usize = 3;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The demo's data directory, made on the first run.
async fn demo_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BENCH_DEMO_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("demo-tokens.json").exists(),
            "BENCH_DEMO_DIR={} holds no demo (no demo-tokens.json)",
            dir.display()
        );
        return dir;
    }
    let dir = Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .join("bench-demo");
    let done = dir.join("bench-demo.ok");
    if done.exists() {
        println!("reusing the demo data in {}", dir.display());
        return dir;
    }
    println!(
        "running `dangjian demo --seed 42 --today 2026-11-25 --no-serve` into {} (a few minutes)…",
        dir.display()
    );
    fixed_demo::run(&dir).await;
    std::fs::write(&done, "").unwrap();
    dir
}

fn start_server(dir: &Path, cache_entries: usize) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir.join("dangjian.toml"))
        .args(["--set", "scheduler.enabled=false", "--set"])
        .arg(format!("dashboards.cache_entries={cache_entries}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("dangjian listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

async fn get(client: &reqwest::Client, token: &str, url: &str) -> Value {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

/// The mix of dashboard paths, from the org tree the university board shows.
async fn paths(url: &str, token: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let board = |id: &str, org: &str| format!("/api/v1/dashboards/{id}?org={org}&{PERIOD}");
    let children = |body: &Value| -> Vec<String> {
        body["org"]["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["org_id"].as_str().unwrap().to_string())
            .collect()
    };
    let university = get(
        &client,
        token,
        &format!("{url}/api/v1/dashboards/university"),
    )
    .await;
    let root = university["org"]["org_id"].as_str().unwrap().to_string();
    let mut paths = vec![board("university", &root), board("statistics", &root)];
    for college in children(&university) {
        let path = board("college", &college);
        let body = get(&client, token, &format!("{url}{path}")).await;
        paths.push(path);
        paths.push(board("statistics", &college));
        for branch in children(&body).iter().take(BRANCHES_PER_COLLEGE) {
            paths.push(board("branch", branch));
        }
    }
    paths
}

struct Figures {
    requests: usize,
    seconds: f64,
    /// Sorted latencies.
    latencies: Vec<Duration>,
}

impl Figures {
    fn quantile(&self, q: f64) -> f64 {
        let i = ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1].as_secs_f64() * 1000.0
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// `clients` connections, each requesting the paths in turn (from its own offset)
/// until `seconds` have passed. The clock starts once every client has connected
/// (a request to `/healthz`), as browsers on a cockpit page are connected already.
///
/// Without `interval` each client sends its next request as soon as the last one is
/// answered (closed loop: the load is whatever the machine can take). With it, each
/// client sends one request per `interval`, staggered (open loop: a fixed aggregate
/// rate), and latency counts from the instant the request was due, so a slow answer
/// also delays the figures of the requests queued behind it.
async fn load(
    url: &str,
    token: &str,
    paths: &[String],
    clients: usize,
    seconds: f64,
    interval: Option<Duration>,
) -> Figures {
    let connected = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let urls: Vec<String> = paths.iter().map(|p| format!("{url}{p}")).collect();
        let health = format!("{url}/healthz");
        let (token, connected) = (token.to_string(), connected.clone());
        let encoding = std::env::var("BENCH_ENCODING").unwrap_or_else(|_| "gzip".into());
        tasks.push(tokio::spawn(async move {
            // One connection per client, as 200 browsers would hold.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let response = client.get(&health).send().await.unwrap();
            response.bytes().await.unwrap();
            connected.wait().await;
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(seconds);
            let mut latencies = Vec::new();
            let mut i = c;
            let mut due = interval.map(|every| start + every.mul_f64(c as f64 / clients as f64));
            while Instant::now() < deadline {
                let sent = match due {
                    Some(at) => {
                        tokio::time::sleep_until(at.into()).await;
                        due = interval.map(|every| at + every);
                        at
                    }
                    None => Instant::now(),
                };
                let response = client
                    .get(&urls[i % urls.len()])
                    .bearer_auth(&token)
                    .header("accept-encoding", encoding.as_str())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    connected.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Figures {
        requests: latencies.len(),
        seconds,
        latencies,
    }
}

fn print_row(case: &str, f: &Figures) {
    println!(
        "{case:<34} {:>10.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9}",
        f.rate(),
        f.quantile(0.50),
        f.quantile(0.90),
        f.quantile(0.99),
        f.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        f.requests
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without
    // it, and a test run should not spend minutes measuring.
    if !std::env::args().any(|a| a == "--bench") {
        println!("the dashboard benchmark runs under `cargo bench --bench dashboards`");
        return;
    }
    let env = |name: &str, default: f64| -> f64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let seconds = env("BENCH_SECONDS", 10.0);
    let clients = env("BENCH_CLIENTS", 200.0) as usize;
    let rate = env("BENCH_RATE", 2000.0);
    let dir = demo_dir().await;
    let tokens: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("demo-tokens.json")).unwrap()).unwrap();
    let token = tokens
        .iter()
        .find(|t| t["role"] == "leader" && t["name"] == "校党委书记")
        .and_then(|t| t["token"].as_str())
        .expect("the demo has a university leader's token")
        .to_string();

    let mut results = Vec::new();
    let mut answers: Option<Vec<Value>> = None;
    for (case, entries) in [
        ("cache on (1,024 entries)", 1024),
        ("cache off (baseline)", 0),
    ] {
        let server = start_server(&dir, entries);
        let paths = paths(&server.url, &token).await;
        // Warm up: every path once; both servers must answer the same.
        let client = reqwest::Client::new();
        let mut bodies = Vec::new();
        for p in &paths {
            bodies.push(get(&client, &token, &format!("{}{p}", server.url)).await);
        }
        match &answers {
            None => answers = Some(bodies),
            Some(first) => assert!(*first == bodies, "the cache changed an answer"),
        }
        let figures = load(&server.url, &token, &paths, clients, seconds, None).await;
        results.push((case.to_string(), paths.len(), figures));
        if entries > 0 {
            // The same clients at a fixed aggregate rate, as cockpit screens refreshing
            // on a timer would send (`BENCH_RATE` requests/s in all).
            let interval = Duration::from_secs_f64(clients as f64 / rate);
            let paced = load(
                &server.url,
                &token,
                &paths,
                clients,
                seconds,
                Some(interval),
            )
            .await;
            results.push((
                format!("cache on, paced at {rate:.0} req/s"),
                paths.len(),
                paced,
            ));
        }
        drop(server);
    }

    println!(
        "\ndangjian dashboard benchmark: {clients} clients, {seconds} s per case, {} cores, {} dashboard URLs",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        results[0].1
    );
    println!(
        "{:<34} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "case", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests"
    );
    for (case, _, f) in &results {
        print_row(case, f);
    }
    let (on, off) = (&results[0].2, &results[2].2);
    println!(
        "ratio on/off: {:.1}× requests/s, p99 {:.1}× lower",
        on.rate() / off.rate(),
        off.quantile(0.99) / on.quantile(0.99)
    );

    let admin = tokens
        .iter()
        .find(|t| t["role"] == "admin")
        .and_then(|t| t["token"].as_str())
        .expect("the demo has an admin token");
    let rounds = env("BENCH_AS_OF_ROUNDS", 3.0) as usize;
    let (as_of, figures) = as_of_boards(&dir, &token, admin, rounds).await;
    println!(
        "\nas_of boards ({as_of}, from the models' history): one client, {} URLs, {rounds} round(s)",
        results[0].1
    );
    print_row("as_of, one client", &figures);
}

/// Every board URL with `as_of` (see the module's doc), one client, `rounds` timed rounds
/// after a warm-up round: the instant used and the figures.
async fn as_of_boards(dir: &Path, token: &str, admin: &str, rounds: usize) -> (String, Figures) {
    let server = start_server(dir, 1024);
    let client = reqwest::Client::new();
    let as_of = match std::env::var("BENCH_AS_OF") {
        Ok(instant) => instant,
        Err(_) => {
            let response = client
                .post(format!("{}/api/v1/sql", server.url))
                .bearer_auth(admin)
                .body("SELECT to_char(max(refreshed_at) + INTERVAL '1 minute', '%Y-%m-%dT%H:%M:%SZ') AS t FROM models")
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body["rows"][0]["t"]
                .as_str()
                .unwrap_or_else(|| panic!("no model has been refreshed: {body}"))
                .to_string()
        }
    };
    let paths: Vec<String> = paths(&server.url, token)
        .await
        .into_iter()
        .map(|p| format!("{}{p}&as_of={}", server.url, as_of.replace('+', "%2B")))
        .collect();
    let mut latencies = Vec::new();
    let mut started = Instant::now();
    for round in 0..=rounds {
        if round == 1 {
            started = Instant::now();
        }
        for url in &paths {
            let sent = Instant::now();
            let body = get(&client, token, url).await;
            assert_eq!(body["source"], "history", "{url}: {}", body["source"]);
            if round > 0 {
                latencies.push(sent.elapsed());
            }
        }
    }
    latencies.sort();
    let figures = Figures {
        requests: latencies.len(),
        seconds: started.elapsed().as_secs_f64(),
        latencies,
    };
    (as_of, figures)
}
