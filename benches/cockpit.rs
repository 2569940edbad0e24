//! Cockpit query benchmark, DataFusion vs DuckDB (work in progress).

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("the cockpit benchmark runs with --bench");
    }
}
