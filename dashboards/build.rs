//! Embeds the dashboard specs (`dashboards/specs/*.toml`) and the web
//! cockpit's assets (`dashboards/web/**`) into the crate, so the single executable
//! serves them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", dir.display());

    let spec_dir = dir.join("specs");
    println!("cargo:rerun-if-changed={}", spec_dir.display());
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&spec_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    let mut code = String::from(
        "/// `(file name, text)` of every dashboard spec.\npub(crate) const SPECS: &[(&str, &str)] = &[\n",
    );
    for path in &specs {
        let name = path.file_name().unwrap().to_string_lossy();
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("specs_embedded.rs"), code).unwrap();

    let web = dir.join("web");
    let mut assets = Vec::new();
    if web.is_dir() {
        println!("cargo:rerun-if-changed={}", web.display());
        collect(&web, &web, &mut assets);
    }
    assets.sort();
    let mut code = String::from(
        "/// `(path under web/, bytes)` of every cockpit asset.\npub(crate) const ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in &assets {
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("web_embedded.rs"), code).unwrap();
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}
