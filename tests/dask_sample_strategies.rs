//! `graphprof sample SCRIPT.py:VAR --engine dask` with a chosen subset of strategies, on a real
//! LocalCluster of 2 worker processes: `as-given` alone or with others (a repeat labelled `#2`),
//! the per-chunk slope from the collection's own run with the "how many chunks fit" answer under
//! the cluster's own `memory_limit`, the default interval printing no warning of its own, and the
//! sampler's cost recorded for every run.
//!
//! Nothing is mocked: the Python with dask comes from `GRAPHPROF_PYTHON`, else `<repo>/.venv`.

mod common;

use common::{dask_python as python, repo};
use graphprof::report::sample_report::SampleReport;
use std::process::Command;

/// A user program that is not the seed: map_partitions with a dict of 20,000 items, which every
/// task embeds.
const SCRIPT: &str = r#"
import dask.dataframe as dd
import numpy as np
import pandas as pd

TABLE = {i: i * 3 for i in range(20_000)}


def translate(part, table):
    return part.assign(y=part.x.map(table))


frame = pd.DataFrame({"x": np.arange(48 * 200) % 20_000})
result = dd.from_pandas(frame, npartitions=48).map_partitions(translate, TABLE)
"#;

#[test]
fn a_collection_runs_any_subset_of_strategies_with_its_slope_under_the_clusters_memory_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("pipeline.py");
    std::fs::write(&script, SCRIPT).expect("script written");
    let out = dir.path().join("out");
    let target = format!("{}:result", script.display());
    let output = Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(["sample", &target, "--engine", "dask", "--workers", "2"])
        .args([
            "--hold",
            "0.3s",
            "--strategy",
            "as-given",
            "--strategy",
            "scatter",
        ])
        .args(["--strategy", "as-given", "-o"])
        .arg(&out)
        .current_dir(repo())
        .env("GRAPHPROF_PYTHON", python())
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("graphprof runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The default interval (10 ms) draws no warning of its own.
    assert!(
        !stderr.contains("heartbeat") && !stderr.contains("graphprof: warning"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    let report: SampleReport = serde_json::from_str(&text).expect("typed report");
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["as-given", "scatter", "as-given#2"], "{stdout}");
    for run in &report.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        assert_eq!(run.chunks, Some(48), "{}", run.label);
        let overhead = &run.sampler_overhead;
        assert!(overhead.samples_taken > 10, "{}: {overhead:?}", run.label);
        assert!(overhead.cpu_time_s > 0.0, "{}: {overhead:?}", run.label);
    }
    let sweep = report
        .sweep
        .as_ref()
        .expect("a sweep field for a collection");
    assert_eq!(sweep.chunks, vec![48]);
    // No --worker-memory: the budget is the LocalCluster's own memory_limit.
    assert_eq!(
        sweep.worker_memory_source, "cluster memory_limit",
        "{stdout}"
    );
    let limit = sweep
        .worker_memory_bytes
        .expect("the workers' memory_limit");
    assert!(limit > 100 << 20, "{limit}");
    assert_eq!(sweep.fits.len(), 3);
    for fit in &sweep.fits {
        assert_eq!(fit.method, "one point", "{}", fit.label);
        let slope = fit.slope_bytes_per_chunk.expect("slope");
        let held = fit.points[0].held_bytes as f64;
        assert!((slope - held / 48.0).abs() < 1e-6, "{}", fit.label);
        let budget = fit.budget_bytes.expect("budget");
        assert!(
            budget <= 2 * limit && budget > limit,
            "{}: {budget}",
            fit.label
        );
        if slope > 0.0 {
            assert_eq!(
                fit.fits_chunks,
                Some((budget as f64 / slope).floor() as u64),
                "{}",
                fit.label
            );
        }
    }
    // The dict in every task: as given holds several times what scatter holds, per chunk (scatter
    // also carries the workers' first dataframe work, ~25 MiB, which is no per-chunk cost).
    let slope = |label: &str| {
        sweep
            .fits
            .iter()
            .find(|f| f.label == label)
            .and_then(|f| f.slope_bytes_per_chunk)
            .expect("slope")
    };
    assert!(slope("as-given") > 2.0 * slope("scatter"), "{stdout}");
    assert!(stdout.contains("fit from one point"), "{stdout}");
}
