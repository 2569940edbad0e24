//! Embeds the SQL files of `queries/` so the single binary carries its views, models
//! and rules. Adding a file adds a view / model / rule without touching Rust; a
//! `queries.dir` setting reads them from disk instead, without a rebuild.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not compiled in: a build script shared by two checkouts through
    // one target directory (same crate, same hash) must embed the queries of the
    // checkout being built.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("../queries");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for kind in [
        "views",
        "metrics",
        "stats",
        "warnings",
        "recommendations",
        "templates",
    ] {
        let dir = root.join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "sql") {
                println!("cargo:rerun-if-changed={}", path.display());
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                files.push((format!("{kind}/{name}"), path.canonicalize().unwrap()));
            }
        }
    }
    // A binary without its views cannot open a warehouse; fail the build, not the start-up.
    assert!(
        files.iter().any(|(name, _)| name.starts_with("views/")),
        "no SQL views under {}: the queries/ directory must sit next to warehouse/",
        root.display()
    );
    files.sort();
    let mut out = String::from("pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n");
    for (name, path) in files {
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("queries_embedded.rs");
    std::fs::write(dest, out).unwrap();
}
