//! `graphprof sample SCRIPT.py:VAR --engine dask` with a `dask.delayed` object as the user's
//! collection (not an array or dataframe): a function of the script that reads a module-level
//! array, called by 64 tasks, then summed. Real LocalClusters, nothing mocked.

mod common;

use common::{dask_graphprof, labelled_run as run, sample_report as report};

use graphprof::report::sample_report::RunReport;

/// Growth of the main measure from its baseline to its peak.
fn peak_growth(run: &RunReport) -> u64 {
    let main = run.whole(run.main_measure()).expect("main measure");
    let (peak, baseline) = main
        .peak_bytes
        .zip(main.baseline_bytes)
        .expect("peak and baseline");
    peak.saturating_sub(baseline)
}

#[test]
fn a_delayed_object_runs_as_given_and_rewritten_with_equal_results() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = dask_graphprof(
        &[
            "sample",
            "fixtures/dask/delayed_pipeline.py:result",
            "--engine",
            "dask",
            "--workers",
            "2",
            "--interval",
            "100ms",
            "--hold",
            "0.6s",
        ],
        out.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    println!("{stdout}");
    let report = report(out.path());
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["as-given", "scatter", "delayed"]);
    for label in ["as-given", "scatter", "delayed"] {
        let r = run(&report, label);
        assert!(r.complete, "{label}: {:?}", r.error);
    }
    for label in ["scatter", "delayed"] {
        let dask = run(&report, label).real_dask.as_ref().expect("facts");
        assert_eq!(dask.results_equal, Some(true), "{label}");
        // The function itself is the culprit: its copy of `table` is what moved out.
        assert_eq!(dask.moved.len(), 1, "{label}: {:?}", dask.moved);
        assert!(dask.moved[0].starts_with("function "), "{:?}", dask.moved);
    }
    // As given, each call deserialises its own copy of the table (391 KiB; several alive at once
    // on each worker); rewritten, one copy per worker.
    let as_given = peak_growth(run(&report, "as-given"));
    assert!(as_given > 8 * 400_000, "as-given peak growth {as_given}");
    for label in ["scatter", "delayed"] {
        let fixed = peak_growth(run(&report, label));
        assert!(
            as_given >= 3 * fixed,
            "as-given {as_given} vs {label} {fixed}"
        );
    }
}
