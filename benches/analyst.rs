//! The analyst's everyday questions (issue 18): at least ten questions over the views and
//! the read models, asked as the university's analyst (every org, personal data masked)
//! at the server's default limits (`QueryLimits::default()`: 1 GiB per query, spilling to
//! the system's temporary directory, 30 s), each timed `BENCH_RUNS` times (default 5)
//! after one warm-up; the table shows p50 and the slowest run, the rows, and `refused`
//! with the error's key where the limits refuse it. The goal: p50 < 1 s each (release,
//! the 10M-event demo), none refused.
//!
//! Opens a warehouse (`BENCH_WAREHOUSE` or the first argument; default the demo the test
//! suite leaves in `target/web-demo/warehouse`) and its model tables, as the server does
//! at start (a model never refreshed is answered live). Run the binary that
//! `cargo test --workspace --all-targets --no-run` builds with `--bench` (without it, it
//! returns at once so `cargo test` stays quick): `target/debug/deps/analyst-<hash> --bench
//! [WAREHOUSE_DIR]`, or `cargo bench --bench analyst` for the release profile.

use std::time::{Duration, Instant};

use warehouse::access::{ReadAccess, WHOLE_TREE};
use warehouse::{Masking, QueryLimits};

mod reader;

/// The questions, by what the analyst wants to know. Ids are picked by the SQL itself
/// (the first branch, the first scored member), so the bench runs on any demo seed.
const QUESTIONS: &[(&str, &str)] = &[
    (
        "a branch's arrears list",
        "SELECT * FROM dues_arrears WHERE org_id = (SELECT min(org_id) FROM orgs WHERE kind = 'branch')",
    ),
    (
        "stage counts per college",
        "SELECT u.org_id AS college, p.stage, count(*) AS people FROM people p \
         JOIN org_units u ON u.unit_id = p.org_id WHERE u.tier = 2 GROUP BY 1, 2",
    ),
    (
        "a member's year",
        "SELECT * FROM member_score WHERE member_id = (SELECT min(member_id) FROM member_score)",
    ),
    (
        "member_score joined to people",
        "SELECT p.stage, p.gender, avg(s.total_score) AS mean, count(*) AS n FROM member_score s \
         JOIN people p USING (member_id) GROUP BY 1, 2",
    ),
    (
        "branch assemblies' attendance by month",
        "SELECT month, status, count(*) AS n FROM attendance \
         WHERE meeting_kind = 'branch_assembly' GROUP BY 1, 2",
    ),
    (
        "dues by period",
        "SELECT period, sum(amount_fen) AS fen, count(DISTINCT member_id) AS payers FROM dues GROUP BY period",
    ),
    (
        "study minutes by month",
        "SELECT month, sum(minutes) AS minutes, count(DISTINCT member_id) AS learners FROM study GROUP BY month",
    ),
    (
        "quiz results by quiz",
        "SELECT quiz_id, avg(score_pct) AS mean, count(*) AS taken FROM quizzes GROUP BY quiz_id",
    ),
    (
        "ratings by year",
        "SELECT year, rating, count(*) AS n FROM evaluations GROUP BY 1, 2",
    ),
    (
        "events by type and month",
        "SELECT event_type, month, count(*) AS n FROM events GROUP BY 1, 2",
    ),
    (
        "attendance rates of one college's branches",
        "SELECT * FROM attendance_rates WHERE parent_id = (SELECT min(org_id) FROM orgs WHERE kind = 'college')",
    ),
    (
        "members in probation and when it ends",
        "SELECT member_id, org_id, probationary_at FROM people WHERE stage = 'probationary' ORDER BY probationary_at",
    ),
];

fn main() {
    reader::main_with(run);
}

async fn run(args: Vec<String>) {
    let reader::Demo {
        dir,
        runs,
        warehouse,
    } = reader::open(&args).await;
    let tables = dashboards::ModelRunner::new(warehouse.clone())
        .load_tables()
        .await
        .unwrap();
    println!(
        "analyst questions: {dir}, events version {:?}, {tables} model tables; {} profile; {runs} runs",
        warehouse.events_version(),
        reader::profile()
    );
    let analyst = ReadAccess::new(WHOLE_TREE, Masking::analyst());
    let limits = QueryLimits::default();
    println!("| question | p50 ms | max ms | rows |");
    println!("|---|---:|---:|---:|");
    let (mut under, mut refused) = (0, 0);
    for (name, sql) in QUESTIONS {
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        let mut failed = None;
        for round in 0..=runs {
            let started = Instant::now();
            match warehouse.query(&analyst, sql, &limits).await {
                Ok(r) => rows = r.rows,
                Err(e) => {
                    failed = Some(e.key().to_string());
                    break;
                }
            }
            if round > 0 {
                times.push(started.elapsed());
            }
        }
        if let Some(key) = failed {
            refused += 1;
            println!("| {name} | refused: {key} | | |");
            continue;
        }
        times.sort();
        let p50: Duration = times[times.len() / 2];
        if p50 < Duration::from_secs(1) {
            under += 1;
        }
        println!(
            "| {name} | {:.1} | {:.1} | {rows} |",
            p50.as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    println!(
        "{under} of {} questions answered with p50 < 1 s, {refused} refused (goal: all, none)",
        QUESTIONS.len()
    );
}
