//! Benchmark of `graphprof check` against a budget and a baseline with many `[[graph]]` entries
//! (issue 23: it was quadratic in them). For each size N, a temporary folder gets N one-task graph
//! files, a budget with one `path` entry per graph and a baseline listing every graph; then
//! `graphprof check --baseline baseline.json --budget graphprof.toml -q` (the graphs come from the
//! baseline) runs once and its wall time is printed with the time per entry. A benchmark, not a
//! timed test: it prints figures and asserts only that the check ran.
//!
//! `cargo bench --bench check -- [--entries 2000,8000,32000,100000] [--binary PATH]` (`--binary`
//! measures another build, e.g. the one before a change).

#![allow(clippy::unwrap_used)] // a benchmark: a failure is a failed run

use graphprof::check::{Baseline, measure};
use graphprof::graph::load_graph;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const GRAPH: &str =
    r#"{"format": "graphprof-graph", "version": 1, "tasks": [{"key": "a", "function": "f"}]}"#;

/// Writes N graphs, the budget and the baseline into `dir`.
fn project(dir: &Path, entries: usize) {
    std::fs::create_dir_all(dir.join("g")).unwrap();
    let mut budget = String::new();
    for i in 0..entries {
        std::fs::write(dir.join(format!("g/{i}.json")), GRAPH).unwrap();
        writeln!(budget, "[[graph]]\npath = \"g/{i}.json\"\nmax_tasks = 5\n").unwrap();
    }
    std::fs::write(dir.join("graphprof.toml"), budget).unwrap();
    let one = measure(&load_graph(&dir.join("g/0.json")).unwrap(), "g/0.json");
    let graphs = (0..entries)
        .map(|i| {
            let mut figures = one.clone();
            figures.path = format!("g/{i}.json");
            figures
        })
        .collect();
    std::fs::write(dir.join("baseline.json"), Baseline::new(graphs).to_json()).unwrap();
}

fn main() {
    let mut sizes = vec![2_000, 8_000, 32_000, 100_000];
    let mut binary = PathBuf::from(env!("CARGO_BIN_EXE_graphprof"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => {
                sizes = args
                    .next()
                    .expect("--entries N,N,...")
                    .split(',')
                    .map(|n| n.parse().expect("--entries takes numbers"))
                    .collect();
            }
            "--binary" => {
                binary = std::fs::canonicalize(args.next().expect("--binary PATH")).unwrap();
            }
            _ => {} // cargo bench passes --bench
        }
    }
    println!("graphprof check, one [[graph]] entry and one baseline entry per graph");
    println!("binary: {}", binary.display());
    println!("{:>9}  {:>9}  {:>12}", "entries", "wall s", "us/entry");
    for entries in sizes {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), entries);
        let start = Instant::now();
        let status = Command::new(&binary)
            .current_dir(dir.path())
            .args([
                "check",
                "--baseline",
                "baseline.json",
                "--budget",
                "graphprof.toml",
                "-q",
            ])
            .stdin(Stdio::null())
            .status()
            .unwrap();
        let wall = start.elapsed();
        assert!(status.success(), "check failed: {status}");
        println!(
            "{entries:>9}  {:>9.2}  {:>12.1}",
            wall.as_secs_f64(),
            wall.as_secs_f64() * 1e6 / entries as f64
        );
    }
}
