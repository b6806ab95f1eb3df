//! `graphprof calibrate` on a real 2-worker LocalCluster (never mocked): the per-task bookkeeping
//! it measures is in the range distributed's workers really hold, the file it writes is read back
//! into its struct, and `sample --task-overhead-file` holds that figure per chunk. Small chunk
//! counts and one strategy keep it near 30 s. The Python with dask comes from `GRAPHPROF_PYTHON`,
//! else `<repo>/.venv`; without it the test fails saying how to make it.

mod common;

use common::dask_python as python;
use std::process::Command;

use graphprof::dask::calibrate::read_calibration;
use graphprof::report::sample_report::SampleReport;
use graphprof::sample::Measure;

#[test]
fn calibrate_measures_the_bookkeeping_and_sample_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calibration.json");
    let output = Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args([
            "calibrate",
            "--strategy",
            "scatter",
            "--chunks",
            "64",
            "--chunks",
            "512",
            "-o",
        ])
        .arg(&file)
        .env("GRAPHPROF_PYTHON", python())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{stderr}");
    let calibration = read_calibration(&file).unwrap();
    assert_eq!(calibration.runs.len(), 2);
    assert_eq!(calibration.fits.len(), 1);
    assert!(stdout.contains(&format!(
        "{} B per held task",
        calibration.task_overhead_bytes
    )));
    // distributed 2026.8.0 holds 9-13 KB per task beyond the 8,000-byte results (docs/DASK.md);
    // a broken measurement (no results held, the wrong processes read) falls far outside.
    let overhead = calibration.task_overhead_bytes;
    assert!(
        (2_000..=40_000).contains(&overhead),
        "{overhead} B per task"
    );
    let fit = &calibration.fits[0];
    assert_eq!(fit.beyond_results_per_chunk, fit.bytes_per_chunk - 8000);
    // The built-in engine holds what was measured, per chunk.
    let held = |extra: &[&std::ffi::OsStr]| {
        let out = tempfile::tempdir().unwrap();
        let run = Command::new(env!("CARGO_BIN_EXE_graphprof"))
            .args([
                "sample",
                "--strategy",
                "scatter",
                "--chunks",
                "32",
                "--hold",
                "0.05s",
            ])
            .args(extra)
            .arg("-o")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
        let report: SampleReport = serde_json::from_str(&text).unwrap();
        let managed = report.runs[0].whole(Measure::Managed).unwrap();
        managed.held_bytes.unwrap() - managed.baseline_bytes.unwrap()
    };
    let none = held(&["--task-overhead".as_ref(), "0".as_ref()]);
    let calibrated = held(&["--task-overhead-file".as_ref(), file.as_os_str()]);
    assert_eq!(calibrated - none, 32 * overhead);
}
