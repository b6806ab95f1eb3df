//! `graphprof sample --chunks 16,32,64`: the sweep on the built-in engine, read back from
//! report.json into typed structs. The engine counts what it holds exactly, so the fitted slope
//! of inline is the payload plus each chunk's result and bookkeeping, and scatter's is the result
//! and bookkeeping alone; the answer "how many chunks fit" is `floor((limit - a) / b)`. Also the
//! sweep plot, the table's ratios at the same chunk count, and the refusals.

mod common;

use common::graphprof;
use graphprof::graph::held::TASK_OVERHEAD_BYTES;
use graphprof::report::sample_report::SampleReport;
use graphprof::report::sweep::SweepFit;
use graphprof::sample::Measure;
use std::path::Path;

const PAYLOAD: u64 = 64 * 1024;
const CHUNK_BYTES: u64 = 8000;

fn sweep(dir: &Path, extra: &[&str]) -> (SampleReport, String) {
    let output = graphprof()
        .args(["sample", "--chunks", "16,32,64", "--payload-bytes", "64KiB"])
        .args(["--workers", "2", "--interval", "5ms", "--hold", "0.05s"])
        .arg("-o")
        .arg(dir)
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let report = serde_json::from_str(&text).expect("report.json reads back");
    (report, String::from_utf8_lossy(&output.stdout).into_owned())
}

fn fit<'a>(report: &'a SampleReport, label: &str) -> &'a SweepFit {
    let sweep = report.sweep.as_ref().expect("a sweep field");
    sweep
        .fits
        .iter()
        .find(|f| f.label == label)
        .unwrap_or_else(|| panic!("no fit for {label}"))
}

fn within(measured: f64, expected: f64, share: f64) -> bool {
    (measured - expected).abs() <= expected * share
}

#[test]
fn the_sweep_fits_the_engines_slopes_and_answers_how_many_chunks_fit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, stdout) = sweep(dir.path(), &["--memory-limit", "2GiB"]);
    // Nine runs: three strategies at three counts, labelled and counted.
    assert_eq!(
        report.runs.len(),
        9,
        "{:?}",
        report.runs.iter().map(|r| &r.label).collect::<Vec<_>>()
    );
    for run in &report.runs {
        let chunks = run.chunks.expect("a sweep run carries its chunk count");
        assert!(run.label.ends_with(&format!("@{chunks}")), "{}", run.label);
        assert!(run.complete, "{}", run.label);
        assert!(run.held_per_chunk_bytes.is_some(), "{}", run.label);
    }
    let sweep = report.sweep.as_ref().expect("sweep");
    assert_eq!(sweep.chunks, vec![16, 32, 64]);
    assert_eq!(sweep.worker_memory_source, "memory limit");
    assert_eq!(sweep.worker_memory_bytes, Some(2 << 30));

    let per_result = (CHUNK_BYTES + TASK_OVERHEAD_BYTES) as f64;
    let inline = fit(&report, "inline");
    assert_eq!(inline.measure, Measure::Managed);
    assert_eq!(inline.points.len(), 3);
    let slope = inline.slope_bytes_per_chunk.expect("inline slope");
    assert!(
        within(slope, PAYLOAD as f64 + per_result, 0.10),
        "inline slope {slope} B/chunk against {} B",
        PAYLOAD as f64 + per_result
    );
    for label in ["scatter", "delayed"] {
        let fixed = fit(&report, label);
        let slope = fixed.slope_bytes_per_chunk.expect("slope");
        assert!(
            within(slope, per_result, 0.10),
            "{label} slope {slope} B/chunk against {per_result} B"
        );
    }
    for fit in &sweep.fits {
        let (a, b) = (
            fit.intercept_bytes.expect("a"),
            fit.slope_bytes_per_chunk.expect("b"),
        );
        assert!(
            fit.r_squared.expect("R^2") > 0.99,
            "{}: {:?}",
            fit.label,
            fit.r_squared
        );
        assert_eq!(fit.budget_bytes, Some(2 << 30), "{}", fit.label);
        let expected = (((2u64 << 30) as f64 - a) / b).floor() as u64;
        assert_eq!(fit.fits_chunks, Some(expected), "{}", fit.label);
    }
    // Under the table: the fit and the answer, for each strategy.
    assert!(stdout.contains("Held memory against chunks"), "{stdout}");
    let inline_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("inline ") && l.contains("/chunk"))
        .unwrap_or_else(|| panic!("no inline fit line in {stdout}"));
    let fits = inline.fits_chunks.expect("fits");
    assert!(
        inline_line.contains(&graphprof::units::count(fits)),
        "{inline_line}"
    );
    // The table compares each run with scatter at the same chunk count.
    let row = stdout
        .lines()
        .find(|l| l.starts_with("inline@64"))
        .expect("inline@64 row");
    assert!(row.contains("(x"), "{row}");
    // The plot, beside the others.
    let png = std::fs::read(dir.path().join("sweep.png")).expect("sweep.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(dir.path().join("sweep.svg")).expect("sweep.svg");
    assert!(svg.contains("inline:") && svg.contains("/chunk"), "legend");
}

#[test]
fn worker_memory_sets_the_budget_of_the_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, _) = sweep(
        dir.path(),
        &["--strategy", "inline", "--worker-memory", "10MiB"],
    );
    let sweep = report.sweep.as_ref().expect("sweep");
    assert_eq!(sweep.worker_memory_source, "--worker-memory");
    let inline = fit(&report, "inline");
    let (a, b) = (
        inline.intercept_bytes.expect("a"),
        inline.slope_bytes_per_chunk.expect("b"),
    );
    let expected = ((f64::from(10u32 << 20) - a) / b).floor() as u64;
    assert_eq!(inline.fits_chunks, Some(expected));
    // 10 MiB at ~81 KiB per chunk: about 126 chunks, well inside the range a user can act on.
    assert!((100..160).contains(&expected), "{expected}");
}

#[test]
fn lists_of_chunks_are_refused_where_they_mean_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let cases: [&[&str]; 5] = [
        &["generate", "map-blocks", "--chunks", "16,32"],
        &["analyze", "--chunks", "16,32"],
        &["sample", "--chunks", "16,x"],
        &["sample", "--chunks", "16,16"],
        &["sample", "--chunks", "16", "--worker-memory", "1GiB"],
    ];
    for args in cases {
        let output = graphprof()
            .args(args)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("chunk"), "{args:?}: {stderr}");
    }
    let graph = common::fixture("hand-written.json");
    let output = graphprof()
        .arg("sample")
        .arg(&graph)
        .args(["--chunks", "16,32", "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--chunks 16: ") && stderr.contains("has 1 output "),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written for a refused count");
}

/// A count of `--chunks` beside a graph file is a number of its outputs: 0 or more than it has
/// is one line naming the option and the outputs there are, exit 2, and nothing written; for
/// `analyze` it still shapes the seed case only and is refused beside a file.
#[test]
fn counts_a_graph_does_not_have_are_refused_with_the_count_it_has() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let graph = common::fixture("seed-inline-64.json");
    for (chunks, named) in [
        ("0", "--chunks 0: "),
        ("65", "--chunks 65: "),
        ("16,65,32", "--chunks 65: "),
        ("16,0", "--chunks 0: "),
    ] {
        let output = graphprof()
            .arg("sample")
            .arg(&graph)
            .args(["--chunks", chunks, "-o"])
            .arg(&out)
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{chunks}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{chunks}: {stderr}");
        assert!(stderr.contains(named), "{chunks}: {stderr}");
        assert!(
            stderr.contains("has 64 outputs") && stderr.contains("from 1 to 64"),
            "{chunks}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.exists(), "{chunks}: nothing written");
    }
    let output = graphprof()
        .arg("sample")
        .arg(&graph)
        .args(["--chunks", "16,16", "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--chunks") && stderr.contains("16 is given twice"),
        "{stderr}"
    );
    let output = graphprof()
        .arg("analyze")
        .arg(&graph)
        .args(["--chunks", "16"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--chunks") && stderr.contains("graph file"),
        "{stderr}"
    );
}

/// `sample GRAPH --chunks 16,32,64`: each count runs the file culled to its first that many
/// outputs and their inputs, the runs labelled `as-given@16` as the seed sweep labels them, and
/// the same least-squares line per strategy; the report says what was swept.
#[test]
fn a_graph_file_sweeps_its_first_outputs_with_a_least_squares_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, stdout) = sample_file(
        dir.path(),
        &[
            "--chunks",
            "16,32,64",
            "--strategy",
            "as-given",
            "--strategy",
            "scatter",
        ],
    );
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "as-given@16",
            "scatter@16",
            "as-given@32",
            "scatter@32",
            "as-given@64",
            "scatter@64"
        ]
    );
    for run in &report.runs {
        let chunks = run.chunks.expect("chunks");
        assert!(run.complete, "{}", run.label);
        // The culled seed graph: one arange and one map task per chunk kept.
        assert_eq!(run.tasks, 2 * chunks, "{}", run.label);
    }
    let source = format!(
        "{}, first 16/32/64 of 64 outputs",
        common::fixture("seed-inline-64.json").display()
    );
    assert_eq!(report.parameters.source, source);
    let sweep = report.sweep.as_ref().expect("a sweep field");
    assert_eq!(sweep.chunks, vec![16, 32, 64]);
    assert_eq!(sweep.swept.as_deref(), Some(source.as_str()));
    assert_eq!(sweep.outputs_of, Some(64));
    for label in ["as-given", "scatter"] {
        let fit = fit(&report, label);
        assert_eq!(fit.method, "least squares", "{label}");
        assert_eq!(fit.points.len(), 3, "{label}");
        assert!(
            fit.points
                .windows(2)
                .all(|p| p[0].held_bytes < p[1].held_bytes),
            "{label}: held rises with the outputs kept: {:?}",
            fit.points
        );
        assert!(fit.slope_bytes_per_chunk.expect("slope") > 0.0, "{label}");
        assert!(fit.r_squared.expect("r2") > 0.999, "{label}");
    }
    // The engine counts exactly: as-given holds the 240 KiB Mapper, its result and bookkeeping
    // per chunk, and no fixed cost; scatter's chunks hold their result and bookkeeping.
    let given = fit(&report, "as-given");
    let per_chunk = (240 * 1024 + CHUNK_BYTES + TASK_OVERHEAD_BYTES) as f64;
    let slope = given.slope_bytes_per_chunk.expect("b");
    assert!(within(slope, per_chunk, 0.02), "{slope} vs {per_chunk}");
    let scattered = fit(&report, "scatter");
    assert!(slope > 5.0 * scattered.slope_bytes_per_chunk.expect("b"));
    assert!(stdout.contains(&format!("Swept: {source}.")), "{stdout}");
    assert!(
        stdout.contains("least squares over 16, 32, 64 chunks"),
        "{stdout}"
    );
    let png = std::fs::metadata(dir.path().join("sweep.png")).expect("sweep.png");
    assert!(png.len() > 1000);
    let svg = std::fs::read_to_string(dir.path().join("sweep.svg")).expect("sweep.svg");
    assert!(
        svg.contains("first 16/32/64 of 64 outputs"),
        "the plot says what was swept"
    );
}

/// One count beside a graph file runs it culled to that many outputs, its slope from that one run.
#[test]
fn one_count_beside_a_graph_file_runs_its_first_outputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, _) = sample_file(dir.path(), &["--chunks", "16"]);
    let [run] = &report.runs[..] else {
        panic!("one run: {:?}", report.runs)
    };
    assert_eq!(run.label, "as-given");
    assert_eq!(run.chunks, Some(16));
    assert_eq!(run.tasks, 32);
    assert!(
        report
            .parameters
            .source
            .ends_with(", first 16 of 64 outputs")
    );
    let sweep = report.sweep.as_ref().expect("a sweep field");
    assert_eq!(sweep.chunks, vec![16]);
    assert_eq!(sweep.outputs_of, Some(64));
    assert_eq!(fit(&report, "as-given").method, "one point");
}

/// A graph file whose one run the built-in engine refuses (a task with more arguments than its
/// framing takes) has no line, marked `one point` all the same (a single count is never fitted by
/// least squares), and the note says the run did not complete.
#[test]
fn a_graph_files_refused_run_gives_no_line_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gathered = 70_000;
    let mut tasks: Vec<String> = (0..gathered)
        .map(|i| format!(r#"{{"key": ["x", {i}], "function": "f", "output_bytes": 8}}"#))
        .collect();
    let refs: Vec<String> = (0..gathered)
        .map(|i| format!(r#"{{"ref": ["x", {i}]}}"#))
        .collect();
    tasks.push(format!(
        r#"{{"key": ["gather", 0], "function": "sum", "output_bytes": 8, "args": [{}]}}"#,
        refs.join(",")
    ));
    let graph = dir.path().join("fan-in.json");
    std::fs::write(
        &graph,
        format!(
            r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{}]}}"#,
            tasks.join(",\n")
        ),
    )
    .expect("graph written");
    let out = dir.path().join("out");
    let output = graphprof()
        .arg("sample")
        .arg(&graph)
        .args(["--strategy", "as-given", "--interval", "5ms", "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "an incomplete run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "task ('gather', 0): too many arguments (70,000; the built-in engine takes at most \
             65,535)"
        ),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("as-given         the run did not complete: no fit"),
        "{stdout}"
    );
    assert!(stdout.contains("this run's 1 chunk,"), "{stdout}");
    let report = common::sample_report(&out);
    assert!(!report.runs[0].complete);
    let fit = fit(&report, "as-given");
    assert_eq!(fit.method, "one point");
    assert!(fit.points.is_empty());
    assert_eq!(fit.slope_bytes_per_chunk, None);
}

fn sample_file(dir: &Path, extra: &[&str]) -> (SampleReport, String) {
    let output = graphprof()
        .arg("sample")
        .arg(common::fixture("seed-inline-64.json"))
        .args([
            "--workers",
            "2",
            "--interval",
            "5ms",
            "--hold",
            "0.05s",
            "-o",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let report = serde_json::from_str(&text).expect("report.json reads back");
    (report, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A graph file runs at its own size: the slope per strategy comes from that one run (held /
/// its 64 chunks, through zero), marked as resting on one point, with the answer under the
/// worker memory given.
#[test]
fn a_graph_files_own_run_gives_its_slope_from_one_point_and_the_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, stdout) = sample_file(
        dir.path(),
        &[
            "--strategy",
            "as-given",
            "--strategy",
            "scatter",
            "--worker-memory",
            "64MiB",
        ],
    );
    let sweep = report
        .sweep
        .as_ref()
        .expect("a sweep field for a graph file");
    assert_eq!(sweep.chunks, vec![64]);
    assert_eq!(sweep.worker_memory_source, "--worker-memory");
    for label in ["as-given", "scatter"] {
        let fit = fit(&report, label);
        let run = report.runs.iter().find(|r| r.label == label).expect("run");
        assert_eq!(run.chunks, Some(64), "{label}");
        assert_eq!(fit.method, "one point", "{label}");
        assert_eq!(fit.r_squared, None, "{label}");
        assert_eq!(fit.intercept_bytes, Some(0.0), "{label}");
        assert_eq!(fit.points.len(), 1, "{label}");
        let held = fit.points[0].held_bytes as f64;
        let slope = fit.slope_bytes_per_chunk.expect("slope");
        assert!(
            (slope - held / 64.0).abs() < 1e-6,
            "{label}: {slope} vs {held}"
        );
        assert_eq!(
            fit.fits_chunks,
            Some((f64::from(64u32 << 20) / slope).floor() as u64),
            "{label}"
        );
    }
    // The Mapper in every task makes as-given's chunks far dearer than scatter's.
    let (given, scattered) = (fit(&report, "as-given"), fit(&report, "scatter"));
    assert!(
        given.slope_bytes_per_chunk.expect("b") > 5.0 * scattered.slope_bytes_per_chunk.expect("b"),
        "{stdout}"
    );
    assert!(
        given.fits_chunks.expect("n") * 5 < scattered.fits_chunks.expect("n"),
        "{stdout}"
    );
    assert!(stdout.contains("fit from one point"), "{stdout}");
    assert!(stdout.contains("fits "), "{stdout}");
}

/// `--strategy` takes any subset of as-given, scatter and delayed (inline too, for a file), in
/// order, a repeat labelled `#2`; for the seed case as-given is its graph as generated, inline.
#[test]
fn any_subset_of_strategies_runs_with_repeats_numbered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, _) = sample_file(
        dir.path(),
        &[
            "--strategy",
            "as-given",
            "--strategy",
            "delayed",
            "--strategy",
            "as-given",
        ],
    );
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["as-given", "delayed", "as-given#2"]);
    let seed = tempfile::tempdir().expect("temp dir");
    let output = graphprof()
        .args([
            "sample",
            "--chunks",
            "8",
            "--strategy",
            "as-given",
            "--hold",
            "0.05s",
        ])
        .arg("-o")
        .arg(seed.path())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(seed.path().join("report.json")).expect("report.json");
    let report: SampleReport = serde_json::from_str(&text).expect("reads back");
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["inline"]);
    assert!(
        report.sweep.is_none(),
        "the seed case at one count has no sweep"
    );
}
