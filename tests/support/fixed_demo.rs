//! The fixed-seed demo that the snapshot test (`tests/e2e/snapshots.rs`) and the
//! dashboard benchmark (`benches/dashboards.rs`) read: one definition for both, so both
//! see the same university. It runs the demo of the `dangjian` library in this process
//! (`dangjian::demo::demo_command`, what `dangjian demo` runs). `scripts/test` runs the
//! same demo with the binary when the snapshot test did not leave its data behind.

use std::path::Path;

/// Runs `dangjian demo --seed 42 --today 2026-11-25 --no-serve` (scheduler off) into
/// `dir`, emptied first. Panics if the demo fails.
pub(crate) async fn run(dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    let args = dangjian::demo::DemoArgs {
        seed: 42,
        scale: 1,
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()),
        data_dir: dir.to_path_buf(),
        no_serve: true,
        load_only: false,
        reset: false,
        listen: "127.0.0.1:0".into(),
    };
    let sets = ["scheduler.enabled=false", "log.filter=\"warn\""]
        .map(|s| dangjian::config::Setting::parse(s).unwrap());
    if let Err(e) = dangjian::demo::demo_command(None, &sets, args).await {
        panic!("the demo failed: {e}");
    }
}
