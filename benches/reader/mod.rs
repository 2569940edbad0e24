//! What the benches of reads (`access`, `analyst`) share: they measure only when given
//! `--bench`, and open the demo's warehouse as the server does for readers — the
//! catalogue's personal fields for masking, the member directory for scopes.

use std::future::Future;
use std::sync::Arc;

use warehouse::access::PersonalFields;
use warehouse::queries::QueryCatalog;
use warehouse::{StorageRoot, Warehouse};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `bench` with the command line on a runtime like the server's (16 MiB stacks for
/// planning deep expressions), only when `--bench` is among the arguments: without it
/// the binary returns at once, so `cargo test --all-targets` stays quick.
pub(crate) fn main_with<F: Future<Output = ()>>(bench: impl FnOnce(Vec<String>) -> F) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench(args));
}

/// The demo opened for a bench of reads.
pub(crate) struct Demo {
    /// The warehouse directory: the first argument that is not a flag, else
    /// `BENCH_WAREHOUSE`, else the demo the test suite leaves in `target/web-demo`.
    pub(crate) dir: String,
    /// Timed runs per query: `BENCH_RUNS`, default 5.
    pub(crate) runs: usize,
    pub(crate) warehouse: Arc<Warehouse>,
}

pub(crate) async fn open(args: &[String]) -> Demo {
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .or_else(|| std::env::var("BENCH_WAREHOUSE").ok())
        .unwrap_or_else(|| format!("{ROOT}/target/web-demo/warehouse"));
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let root = StorageRoot::parse(&dir).unwrap();
    let (warehouse, table) = Warehouse::open(root, QueryCatalog::embedded().unwrap())
        .await
        .unwrap();
    projections_caught_up(&warehouse, table.version()).await;
    let warehouse = Arc::new(
        warehouse.with_personal_fields(PersonalFields::new(ingest::catalogue::PERSONAL_FIELDS, "")),
    );
    warehouse.load_members().await.unwrap();
    Demo {
        dir,
        runs,
        warehouse,
    }
}

/// The build profile the figures are of.
pub(crate) fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    }
}

/// Waits for the projections' first computation (in the background after opening), as
/// the readers of a server that has run a while find them, and says how long it took.
pub(crate) async fn projections_caught_up(warehouse: &Warehouse, version: Option<u64>) {
    let started = std::time::Instant::now();
    let wait = warehouse.projections().caught_up(version);
    if tokio::time::timeout(std::time::Duration::from_secs(1800), wait)
        .await
        .is_err()
    {
        panic!("the projections did not catch up in 30 minutes");
    }
    println!(
        "projections computed from every event in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
