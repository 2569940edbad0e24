//! Test servers on a free port, with a config of one token per role: the `dangjian`
//! service started in this process (`dangjian::App`, as `dangjian serve` starts it, on a
//! runtime of its own), or — for what only a process can show: SIGKILL, SIGTERM, its
//! memory, its command line — the real binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_dangjian");

/// The day every test server runs on (`clock.today`), the day of the fixtures: no
/// test depends on the machine's date.
pub const TODAY: &str = "2026-11-25";

/// Tokens of the test config: (token, role, scope).
pub const TOKENS: &[(&str, &str, &str)] = &[
    ("t-admin", "admin", "U"),
    ("t-leader", "leader", "U"),
    ("t-leader-c1", "leader", "C1"),
    ("t-analyst", "analyst", "U"),
    ("t-secretary-b1", "secretary", "B1"),
    ("t-secretary-b2", "secretary", "B2"),
    ("t-producer", "producer", "U"),
    ("t-producer-c2", "producer", "C2"),
    ("t-leader-c2", "leader", "C2"),
    ("t-analyst-c1", "analyst", "C1"),
    ("t-expired", "analyst", "U"),
];

/// Member tokens of the test config (`role = "member"`): (token, member_id) — people of
/// `tests/data/recommendations_fixture.ndjson`.
pub const MEMBER_TOKENS: &[(&str, &str)] = &[("t-member-r", "M_R"), ("t-member-n", "M_N")];

/// The token of the test config that expired the day before [`TODAY`].
pub const EXPIRED: &str = "t-expired";

/// The Python of the tests' helpers (the aiosmtpd SMTP sink): the virtual environment
/// that `./scripts/test` makes under the target directory, else `python3` on the PATH.
pub fn python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join("py").join("bin").join("python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "dangjian-e2e-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Writes the test config into `dir` and returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let mut text = String::new();
    for (token, role, org) in TOKENS {
        // What `dangjian token hash` prints (checked once in the access tests).
        let hash = sha256_hex(token);
        let expires = if *token == EXPIRED {
            "expires_at = \"2026-11-24\"\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "[[tokens]]\nname = \"{token}\"\nrole = \"{role}\"\norg = \"{org}\"\nsha256 = \"{hash}\"\n{expires}\n"
        ));
    }
    for (token, member) in MEMBER_TOKENS {
        let hash = sha256_hex(token);
        text.push_str(&format!(
            "[[tokens]]\nname = \"{token}\"\nrole = \"member\"\nmember = \"{member}\"\nsha256 = \"{hash}\"\n\n"
        ));
    }
    // The tests refresh models by hand (`dangjian refresh`): a scheduler catching up
    // every model at each start would only compete for the CPU.
    let scheduler = if extra.contains("[scheduler]") {
        ""
    } else {
        "[scheduler]\nenabled = false\n"
    };
    let clock = if extra.contains("[clock]") {
        String::new()
    } else {
        format!("[clock]\ntoday = \"{TODAY}\"\n")
    };
    // Each server's Postgres wire on a free port of its own.
    let pg = if extra.contains("[pg]") {
        ""
    } else {
        "[pg]\nlisten = \"127.0.0.1:0\"\n"
    };
    let path = dir.join("dangjian.toml");
    std::fs::write(
        &path,
        format!("{extra}\n{scheduler}\n{clock}\n{pg}\n{text}"),
    )
    .unwrap();
    path
}

/// The hex SHA-256 of a token, as the config holds it.
pub fn sha256_hex(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How many commits of the `events` table under `dir/warehouse` were compactions
/// (Delta OPTIMIZE), read from the table's log.
pub fn compactions(dir: &Path) -> usize {
    let log = dir.join("warehouse").join("events").join("_delta_log");
    std::fs::read_dir(&log)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter(|e| {
            std::fs::read_to_string(e.path())
                .map(|text| text.contains("\"operation\":\"OPTIMIZE\""))
                .unwrap_or(false)
        })
        .count()
}

/// Runs the binary to completion and returns its stdout (panics on failure).
pub fn output(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dangjian {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary to completion with the config of a (stopped) server in `dir` and
/// its storage, and returns its stdout (panics on failure): an operator's command.
pub fn output_on(dir: &Path, config: &Path, args: &[&str]) -> String {
    let storage = format!("storage.url={}", dir.join("warehouse").display());
    let config = config.to_str().unwrap();
    output(&[&["--config", config, "--set", &storage], args].concat())
}

/// A running server: in this process, or a `dangjian serve` process.
pub struct Server {
    run: Running,
    pub url: String,
    /// Where Postgres clients connect (`pg.listen`), unless it is off.
    pub pg: Option<std::net::SocketAddr>,
    pub config: PathBuf,
    pub client: reqwest::Client,
}

enum Running {
    Process(Child),
    /// `App::serve` on a thread and runtime of its own; sending on `stop` shuts it down
    /// as SIGTERM would, and the thread answers whether it stopped cleanly.
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<bool>>,
    },
}

impl Server {
    /// Starts a server in this process on `dir/warehouse` with the test config plus
    /// `extra` TOML.
    pub fn start(dir: &Path, extra: &str) -> Server {
        let config = write_config(dir, extra);
        Self::start_with(dir, config)
    }

    /// [`Server::start`] with a config file of the caller's.
    pub fn start_with(dir: &Path, config: PathBuf) -> Server {
        let sets = vec![dangjian::config::Setting::text(
            "storage.url",
            dir.join("warehouse").display().to_string(),
            "the test's warehouse",
        )];
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let file = config.clone();
        let thread = std::thread::spawn(move || {
            // As `main` builds it: planning deep expressions needs the larger stacks.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = dangjian::server::load_config(Some(&file), &sets, Vec::new())
                    .unwrap_or_else(|e| panic!("the test config does not load: {e}"));
                let app = dangjian::App::build(config)
                    .await
                    .unwrap_or_else(|e| panic!("the server does not start: {e}"))
                    .with_reload(Some(&file), sets)
                    .unwrap()
                    .bind_listeners()
                    .await
                    .unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                url_tx
                    .send((
                        format!("http://{}", listener.local_addr().unwrap()),
                        app.pg_addr(),
                    ))
                    .unwrap();
                let stopped = async move {
                    stopped.await.ok();
                };
                app.serve(listener, stopped).await.is_ok()
            })
        });
        let (url, pg) = url_rx.recv().expect("the in-process server starts");
        Server {
            run: Running::InProcess {
                stop: Some(stop),
                thread: Some(thread),
            },
            url,
            pg,
            config,
            client: reqwest::Client::new(),
        }
    }

    /// Starts the real binary, `dangjian serve`, on `dir/warehouse` with the test
    /// config plus `extra` TOML: for SIGKILL, SIGTERM and the process's memory.
    pub fn spawn(dir: &Path, extra: &str) -> Server {
        let config = write_config(dir, extra);
        Self::spawn_with(dir, config)
    }

    pub fn spawn_with(dir: &Path, config: PathBuf) -> Server {
        let warehouse = dir.join("warehouse");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--storage-url")
            .arg(&warehouse)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        let url = first
            .strip_prefix("dangjian listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_string();
        // The second line names the Postgres wire's address, when it is on.
        let pg_on = !dangjian::server::load_config(Some(&config), &[], Vec::new())
            .unwrap()
            .pg
            .listen
            .is_empty();
        let pg = pg_on.then(|| {
            let line = lines
                .next()
                .expect("the server prints the pg address")
                .unwrap();
            line.strip_prefix("postgres wire on ")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("unexpected second line: {line}"))
                .parse()
                .unwrap()
        });
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            run: Running::Process(child),
            url,
            pg,
            config,
            client: reqwest::Client::new(),
        }
    }

    /// The server's process (a spawned server only).
    pub fn child(&self) -> &Child {
        match &self.run {
            Running::Process(child) => child,
            Running::InProcess { .. } => panic!("an in-process server has no process: spawn it"),
        }
    }

    /// Stops with SIGKILL: no chance to flush anything (a spawned server only).
    pub fn kill(mut self) {
        match &mut self.run {
            Running::Process(child) => {
                child.kill().unwrap();
                child.wait().unwrap();
            }
            Running::InProcess { .. } => panic!("SIGKILL needs a process: spawn the server"),
        }
    }

    /// Stops as on SIGTERM (a spawned server gets the signal) and returns the exit
    /// code: 0 when it finished its requests and committed what it held.
    pub fn terminate(mut self) -> Option<i32> {
        match &mut self.run {
            Running::Process(child) => {
                signal(child, "TERM");
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    if let Some(status) = child.try_wait().unwrap() {
                        return status.code();
                    }
                    assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Running::InProcess { stop, thread } => {
                stop.take().map(|s| s.send(()));
                let clean = thread.take().map(|t| t.join().unwrap_or(false));
                Some(if clean == Some(true) { 0 } else { 1 })
            }
        }
    }

    /// Restarts on the same storage (after a terminate), in this process.
    pub fn restart(dir: &Path, config: PathBuf) -> Server {
        Self::start_with(dir, config)
    }

    pub async fn post_events(
        &self,
        token: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/events", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, token: &str, events: &Value) -> (u16, Value) {
        self.post_events(
            token,
            serde_json::to_vec(events).unwrap(),
            "application/json",
        )
        .await
    }

    pub async fn sql(&self, token: &str, query: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/sql", self.url))
            .bearer_auth(token)
            .body(query.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` (e.g. `/api/v1/dashboards`) with a token: the status and JSON body.
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` without a token (health, readiness, the page): the status and JSON body.
    pub async fn get_public(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Rows of a query as the admin (who sees what is stored, unmasked), asserting
    /// success; a query refused for the token's share of places (429) is sent again, as a
    /// client honouring `Retry-After` would.
    pub async fn rows(&self, query: &str) -> Vec<Value> {
        loop {
            let (status, body) = self.sql("t-admin", query).await;
            if status == 429 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            assert_eq!(status, 200, "{query}: {body}");
            return body["rows"].as_array().unwrap().clone();
        }
    }

    pub async fn count_events(&self) -> i64 {
        self.rows("SELECT count(*) AS n FROM events").await[0]["n"]
            .as_i64()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.run {
            Running::Process(child) => {
                child.kill().ok();
                child.wait().ok();
            }
            Running::InProcess { stop, thread } => {
                stop.take().map(|s| s.send(()));
                if let Some(thread) = thread.take() {
                    thread.join().ok();
                }
            }
        }
    }
}

/// Sends a signal; a process that already exited is not an error.
pub fn signal(child: &Child, name: &str) {
    Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status()
        .unwrap();
}

/// A server holding the fixture (U → C1 → B1 → G1, U → C2 → B2; M1 in B1).
pub async fn fixture_server(name: &str, extra: &str) -> (Scratch, Server) {
    let scratch = Scratch::new(name);
    let server = Server::start(&scratch.0, extra);
    with_fixture(scratch, server).await
}

/// [`fixture_server`] as a `dangjian serve` process.
pub async fn spawned_fixture_server(name: &str, extra: &str) -> (Scratch, Server) {
    let scratch = Scratch::new(name);
    let server = Server::spawn(&scratch.0, extra);
    with_fixture(scratch, server).await
}

async fn with_fixture(scratch: Scratch, server: Server) -> (Scratch, Server) {
    let (status, body) = server
        .post_json("t-admin", &Value::Array(every_event_type()))
        .await;
    assert_eq!(status, 200, "{body}");
    (scratch, server)
}

/// The fixture with one event of every type (orgs U, C1, C2, B1, B2, G1) that a client
/// may write, as a client sends them: without `actor_id` (the server takes it from the
/// token) and without the server-owned `warning.*` events.
pub fn every_event_type() -> Vec<Value> {
    fixture_events()
        .into_iter()
        .filter(|e| !is_server_owned(e))
        .map(|mut e| {
            e.as_object_mut().unwrap().remove("actor_id");
            e
        })
        .collect()
}

/// The fixture's `warning.*` and weekly-push events: written only by the server.
pub fn server_owned_events() -> Vec<Value> {
    fixture_events()
        .into_iter()
        .filter(is_server_owned)
        .collect()
}

fn is_server_owned(e: &Value) -> bool {
    let t = e["event_type"].as_str().unwrap();
    t.starts_with("warning.") || t == "study.recommended" || t == "study.digest_sent"
}

fn fixture_events() -> Vec<Value> {
    include_str!("../data/every_event_type.ndjson")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The org events of the fixture: enough to give scopes their meaning.
pub fn org_tree() -> Vec<Value> {
    every_event_type()
        .into_iter()
        .filter(|e| e["event_type"] == "org.created")
        .collect()
}

/// A valid dues payment with a fresh id, for load tests.
pub fn dues(org: &str, member: &str) -> Value {
    serde_json::json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "event_type": "dues.paid",
        "occurred_at": "2026-09-05T10:00:00+08:00",
        "org_id": org,
        "member_id": member,
        "payload": {"period": "2026-09", "amount_fen": 20}
    })
}
