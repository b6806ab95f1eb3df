//! Helpers shared by the integration tests: running the real `graphprof` binary, finding
//! fixtures, generating graphs into a temporary folder and reading JSON reports back into the
//! library's typed structs.
#![allow(dead_code)] // each test binary uses a different subset

pub mod json_schema;

use assert_cmd::Command;
use graphprof::analyze::Analysis;
use graphprof::report::sample_report::{RunReport, SampleReport};
use std::path::{Path, PathBuf};

/// The size of the seed case's shared object: 240 KiB.
pub const SEED_PAYLOAD_BYTES: u64 = 240 * 1024;

/// The `graphprof` binary, with a clean environment for the things that change its output.
pub fn graphprof() -> Command {
    let mut command = Command::cargo_bin("graphprof").expect("the graphprof binary is built");
    command.env("RUST_BACKTRACE", "1").env_remove("RUST_LOG");
    command
}

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture by its path under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// Runs `graphprof generate KIND ARGS... -o DIR/NAME` and returns the written path.
pub fn generate(dir: &Path, name: &str, kind: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    graphprof()
        .arg("generate")
        .arg(kind)
        .args(args)
        .arg("-o")
        .arg(&path)
        .assert()
        .success();
    path
}

/// Runs `graphprof analyze PATH --format json EXTRA...`, checks it succeeded, and reads the report
/// back into an [`Analysis`].
pub fn analyze_json(path: &Path, extra: &[&str]) -> Analysis {
    let output = graphprof()
        .arg("analyze")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("graphprof runs");
    assert!(
        output.status.success(),
        "analyze {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the JSON report reads back into Analysis")
}

/// Runs `graphprof analyze PATH ARGS...` and returns stdout as text.
pub fn analyze_text(path: &Path, args: &[&str]) -> String {
    let output = graphprof()
        .arg("analyze")
        .arg(path)
        .args(args)
        .output()
        .expect("graphprof runs");
    assert!(
        output.status.success(),
        "analyze {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the report is UTF-8")
}

/// The valid graph fixtures: every `*.json` directly under `fixtures/`.
pub fn valid_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
}

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with the pinned dask: `GRAPHPROF_PYTHON`, else the repository's `.venv`.
pub fn dask_python() -> PathBuf {
    let python = match std::env::var_os("GRAPHPROF_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "no Python with dask at {}: run `python3 -m venv .venv && .venv/bin/pip install -r \
         python/requirements.txt` (or set GRAPHPROF_PYTHON)",
        python.display()
    );
    python
}

/// `graphprof ARGS... -o OUT` with the Python that has dask, run from the repository (so that
/// `fixtures/...` paths resolve), its output collected.
pub fn dask_graphprof(args: &[&str], out: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(args)
        .arg("-o")
        .arg(out)
        .current_dir(repo())
        .env("GRAPHPROF_PYTHON", dask_python())
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("graphprof runs")
}

/// `DIR/report.json` of a `graphprof sample -o DIR`, read back into the library's typed struct.
pub fn sample_report(dir: &Path) -> SampleReport {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json parses into SampleReport")
}

/// The run labelled `label` in a sample report.
pub fn labelled_run<'a>(report: &'a SampleReport, label: &str) -> &'a RunReport {
    report
        .runs
        .iter()
        .find(|r| r.label == label)
        .unwrap_or_else(|| panic!("no run {label}"))
}
