//! The budget TOML loader (`check --budget`): any input gives a budget or an error, never a panic.
//! The budget sits in a folder holding two graph files, so `path` and `glob` entries can resolve;
//! what loads is asked for the limits of each graph.

#![no_main]

use graphprof::check::budget::parse_budget;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A folder with `a.json` and `graphs/b.json`, made once per process.
fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::fs::create_dir_all(dir.join("graphs")).expect("graphs folder");
        std::fs::write(dir.join("a.json"), "{}").expect("a.json");
        std::fs::write(dir.join("graphs/b.json"), "{}").expect("b.json");
        dir
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return; // read_budget reads with read_to_string, which refuses non-UTF-8 first
    };
    // A glob may walk the whole file system (`/**`, `../**`): that is slow, not a bug.
    if text.contains("**") || text.contains("..") {
        return;
    }
    let folder = folder();
    let Ok(budget) = parse_budget(&folder.join("graphprof.toml"), text, folder) else {
        return;
    };
    for graph in ["a.json", "graphs/b.json", "elsewhere.json"] {
        let limits = budget.limits_for(graph);
        let _ = (limits.tolerance(), limits.noise_floor());
    }
});
