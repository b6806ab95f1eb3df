//! What `graphprof sample` writes, and where: the exports (JSON into structs, CSV into rows,
//! Markdown a row per run, `-` for stdout), the output folder's rules (`-` refused, a user's
//! folder refused unless --force, only graphprof's own stale files removed), an interval longer
//! than the run still measuring the held level exactly, and the plots telling the runs apart.

mod common;

use common::{graphprof, sample_report as report};
use graphprof::report::export::{EXPORT_SCHEMA, Export};
use graphprof::sample::Measure;

const SMALL: [&str; 8] = [
    "--chunks",
    "32",
    "--payload-bytes",
    "16KiB",
    "--interval",
    "2ms",
    "--hold",
    "50ms",
];

/// Splits a CSV line without quotes (the labels here have no commas).
fn cells(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

#[test]
fn the_table_exports_as_json_csv_and_markdown_to_files_and_stdout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (json, csv, md) = (
        dir.path().join("t.json"),
        dir.path().join("t.csv"),
        dir.path().join("t.md"),
    );
    let output = graphprof()
        .arg("sample")
        .args(SMALL)
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--export-json")
        .arg(&json)
        .arg("--export-csv")
        .arg(&csv)
        .arg("--export-markdown")
        .arg(&md)
        .output()
        .expect("runs");
    assert!(output.status.success());
    let full = report(&dir.path().join("out"));
    assert!(!full.interrupted, "the flag is always present, false here");
    let export: Export =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    assert_eq!(export.schema, EXPORT_SCHEMA);
    let labels: Vec<&str> = export.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["inline", "delayed", "scatter"]);
    for (figures, run) in export.runs.iter().zip(&full.runs) {
        let managed = run.whole(Measure::Managed).expect("managed");
        let held = managed.held_bytes.expect("held") - managed.baseline_bytes.expect("base");
        assert_eq!(figures.held_managed_bytes, Some(held), "{}", run.label);
    }
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    let header = cells(lines.next().expect("header"));
    let rows: Vec<Vec<&str>> = lines.map(cells).collect();
    assert_eq!(rows.len(), 3);
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    for (row, figures) in rows.iter().zip(&export.runs) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[column("label")], figures.label);
        let held: u64 = row[column("held_managed_bytes")].parse().expect("a number");
        assert_eq!(Some(held), figures.held_managed_bytes);
    }
    let markdown = std::fs::read_to_string(&md).expect("markdown");
    for label in labels {
        let rows = markdown
            .lines()
            .filter(|l| l.starts_with(&format!("| {label} |")))
            .count();
        assert_eq!(rows, 1, "{markdown}");
    }
    // `-`: the export alone on stdout, parseable; the human table goes to stderr.
    let output = graphprof()
        .arg("sample")
        .args(SMALL)
        .args(["--strategy", "scatter", "-o"])
        .arg(dir.path().join("out2"))
        .args(["--export-json", "-"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let export: Export = serde_json::from_slice(&output.stdout).expect("stdout is the JSON");
    assert_eq!(export.runs.len(), 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("scatter"));
}

#[test]
fn dash_as_the_output_folder_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .current_dir(dir.path())
        .args(["sample", "-o", "-"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--export-json"), "{stderr}");
    assert!(
        !dir.path().join("-").exists(),
        "a folder named - was created"
    );
}

#[test]
fn a_users_folder_is_refused_unless_forced_and_only_graphprofs_stale_files_go() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("creates");
    let mine = out.join("notes.txt");
    std::fs::write(&mine, "mine").expect("writes");
    let sample = |extra: &[&str], args: &[&str]| {
        graphprof()
            .arg("sample")
            .arg("-o")
            .arg(&out)
            .args(extra)
            .args(args)
            .output()
            .expect("runs")
    };
    let refused = sample(&[], &SMALL);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert!(!out.join("report.json").exists());
    let forced = sample(&["--force"], &SMALL);
    assert!(forced.status.success());
    assert_eq!(std::fs::read_to_string(&mine).expect("kept"), "mine");
    assert!(out.join("managed.svg").exists());
    // graphprof's own folder now: a command run has no managed plot, so that one goes.
    let again = sample(&[], &["--", "sleep", "0.1"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(!out.join("managed.svg").exists(), "the stale plot stayed");
    assert!(out.join("memory.svg").exists());
    assert_eq!(std::fs::read_to_string(&mine).expect("kept"), "mine");
}

#[test]
fn an_interval_longer_than_the_run_still_measures_the_held_level() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .args(["sample", "--strategy", "inline", "--chunks", "64"])
        .args([
            "--payload-bytes",
            "64KiB",
            "--workers",
            "2",
            "--hold",
            "0.2s",
        ])
        .args(["--interval", "10s", "-o"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(output.status.success());
    let report = report(dir.path());
    let run = &report.runs[0];
    let managed = run.whole(Measure::Managed).expect("managed");
    let held = managed.held_bytes.expect("held") - managed.baseline_bytes.expect("base");
    // The engine's own exact count of what it held.
    let exact = run
        .held_vs_model
        .as_ref()
        .expect("engine figure")
        .measured_bytes;
    assert_eq!(held, exact, "the sampled held level misses the engine's");
    assert_eq!(managed.after_release_bytes, managed.baseline_bytes);
    assert!(!run.peak_measured, "a 10 s interval cannot measure a peak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("not measured"), "{stdout}");
}

#[test]
fn plots_tell_the_runs_apart_and_counts_have_separators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .args(["sample", "--chunks", "1024", "--payload-bytes", "1KiB"])
        .args(["--chunk-bytes", "100", "--hold", "50ms", "-o"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(output.status.success());
    let svg = std::fs::read_to_string(dir.path().join("memory.svg")).expect("svg");
    assert!(
        svg.contains("1,024 chunks"),
        "the title's count has no separator"
    );
    // Inline: solid with circles; delayed: dashed with triangles; scatter: dotted with crosses.
    assert!(svg.contains("<circle") && svg.contains("<polygon"));
    let polylines_of = |colour: &str| {
        svg.lines()
            .filter(|l| l.contains("<polyline") && l.contains(colour))
            .count()
    };
    // A dashed line is many short segments; a solid line one polyline (and its legend).
    assert!(polylines_of("#FF7F0E") > 2 * polylines_of("#1F77B4").max(1));
    for label in ["inline", "delayed", "scatter"] {
        // The SVG writes a text's content on a line of its own.
        let entries = svg.lines().filter(|l| l.trim() == label).count();
        assert!(entries >= 1, "no legend entry for {label}");
    }
}

#[test]
fn title_names_the_seed_case_and_a_command_in_the_plots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .args(["sample", "--chunks", "64", "--payload-bytes", "1KiB"])
        .args(["--chunk-bytes", "100", "--hold", "50ms"])
        .args(["--title", "nightly seed", "-o"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let svg = std::fs::read_to_string(dir.path().join("memory.svg")).expect("svg");
    assert!(svg.contains("memory: nightly seed, "), "--title left out");
    assert!(!svg.contains("64 chunks"), "the default title stayed");

    let dir = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .args(["sample", "--interval", "5ms", "--title", "a sleeper", "-o"])
        .arg(dir.path())
        .args(["--", "sleep", "0.2"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let svg = std::fs::read_to_string(dir.path().join("memory.svg")).expect("svg");
    assert!(
        svg.contains("a sleeper"),
        "--title left out of a command's plot"
    );
    assert!(
        !svg.contains("sleep 0.2"),
        "the command line stayed the title"
    );
}
