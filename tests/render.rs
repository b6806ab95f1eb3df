//! `graphprof render SAMPLES.json -o DIR`: the files of `sample -o DIR` from samples taken
//! elsewhere (what `graphprof.MemorySampler.save` sends). The report validates against
//! docs/sample-report.schema.json and reads back into `SampleReport`, samples.csv reads back
//! row for row, the plots are PNG and SVG of the CLI's size, and bad input is one error line.

#![allow(clippy::unwrap_used)]

mod common;

use common::{graphprof, json_schema};
use graphprof::report::sample_report::SampleReport;
use graphprof::report::samples_csv::read_samples_csv;
use graphprof::sample::{Measure, Phase};
use serde_json::{Value, json};
use std::path::Path;

/// Two runs: managed bytes of two workers held then released, and the cluster's RSS.
fn document() -> Value {
    let mut managed = Vec::new();
    let mut rss = Vec::new();
    for tick in 0..20u64 {
        let time_s = tick as f64 * 0.05;
        let held = if (5..15).contains(&tick) { 1000 } else { 0 };
        for worker in [0u32, 1] {
            managed.push(json!({"time_s": time_s, "measure": "dask_managed", "worker": worker, "bytes": held}));
        }
        managed.push(
            json!({"time_s": time_s, "measure": "dask_managed", "worker": null, "bytes": 2 * held}),
        );
        rss.push(json!({"time_s": time_s, "measure": "rss", "worker": null, "bytes": 100_000_000 + tick * 1000}));
    }
    json!({
        "schema": "graphprof-samples", "version": 1, "engine": "dask",
        "source": "graphprof.MemorySampler; workers 0=tcp://a:1, 1=tcp://b:2",
        "title": "graphprof.MemorySampler", "workers": 2,
        "runs": [
            {"label": "managed", "interval_ms": 50.0, "samples": managed,
             "phases": [{"phase": "compute", "time_s": 0.2}, {"phase": "held", "time_s": 0.25},
                        {"phase": "released", "time_s": 0.75}]},
            {"label": "rss", "interval_ms": 50.0, "samples": rss},
        ],
    })
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn render_writes_the_files_of_sample_from_given_samples() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    graphprof()
        .args(["render", "-", "-o"])
        .arg(&out)
        .write_stdin(document().to_string())
        .assert()
        .success();
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let problems = json_schema::problems(&json_schema::schema("sample-report"), &value);
    assert!(problems.is_empty(), "{problems:#?}");
    let report: SampleReport = serde_json::from_str(&text).unwrap();
    assert_eq!(report.parameters.workers, Some(2));
    assert_eq!(report.parameters.interval_ms, 50.0);
    let managed = &report.runs[0];
    assert_eq!(managed.engine, "dask");
    let phases: Vec<Phase> = managed.phases.iter().map(|p| p.phase).collect();
    assert_eq!(phases, [Phase::Compute, Phase::Held, Phase::Released]);
    let whole = managed.whole(Measure::DaskManaged).unwrap();
    assert_eq!(whole.peak_bytes, Some(2000));
    assert_eq!(whole.held_bytes, Some(2000));
    assert_eq!(whole.after_release_bytes, Some(0));
    assert_eq!(managed.sampler_overhead.samples_taken, 20);
    assert!((managed.sampler_overhead.gap_p50_ms - 50.0).abs() < 1e-6);
    assert_eq!(report.runs[1].main_measure(), Measure::Rss);

    let rows = read_samples_csv(&out.join("samples.csv")).unwrap();
    assert_eq!(rows.len(), 20 * 3 + 20);
    assert_eq!(
        rows.iter().filter(|r| r.sample.worker == Some(1)).count(),
        20
    );

    // memory.png is the first run's main measure: here none (only Dask's managed), so as with
    // `sample` the plots are the measures present: rss and dask-managed.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".graphprof-files",
            "dask-managed.png",
            "dask-managed.svg",
            "report.json",
            "rss.png",
            "rss.svg",
            "samples.csv"
        ]
    );
    assert_eq!(png_size(&out.join("rss.png")), (1000, 600));
    let svg = std::fs::read_to_string(out.join("dask-managed.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("graphprof.MemorySampler"));
}

#[test]
fn bad_input_and_a_foreign_folder_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = document();
    wrong["schema"] = json!("graphprof-sample");
    let input = dir.path().join("wrong.json");
    std::fs::write(&input, wrong.to_string()).unwrap();
    let out = graphprof()
        .arg("render")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("a"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected \"graphprof-samples\""),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let refused = graphprof()
        .args(["render", "-", "-o"])
        .arg(&foreign)
        .write_stdin(document().to_string())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    graphprof()
        .args(["render", "-", "--force", "-o"])
        .arg(&foreign)
        .write_stdin(document().to_string())
        .assert()
        .success();
    assert!(foreign.join("report.json").is_file() && foreign.join("notes.txt").is_file());
}
