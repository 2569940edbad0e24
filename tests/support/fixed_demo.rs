//! The fixed-seed demo that the snapshot test (`tests/e2e/snapshots.rs`) and the
//! dashboard benchmark (`benches/dashboards.rs`) read: one invocation for both, so
//! both see the same university. `scripts/test` runs the same demo (then serving it)
//! when the snapshot test did not leave its data behind.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `dangjian demo --seed 42 --today 2026-11-25 --no-serve` (scheduler off) with
/// the binary `bin` into `dir`, emptied first; its output goes to
/// `dir/demo-stdout.log` and `dir/demo-stderr.log`. Panics if the demo fails.
pub(crate) fn run(bin: &str, dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let status = Command::new(bin)
        .args([
            "demo",
            "--seed",
            "42",
            "--today",
            "2026-11-25",
            "--no-serve",
        ])
        .args(["--set", "scheduler.enabled=false", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(log("demo-stdout.log")))
        .stderr(Stdio::from(log("demo-stderr.log")))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the demo failed; see {}",
        dir.join("demo-stderr.log").display()
    );
}
