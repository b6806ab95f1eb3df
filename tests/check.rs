//! `graphprof check` end to end on the real binary: pass, regression, budget, update, bad input,
//! and the sampled comparison through the scripted probe. Each test works in a copy of the
//! project's own fixtures, baseline and budget.

// Test helpers outside #[test] functions unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use graphprof::check::{Baseline, CheckReport};
use std::fs;
use std::path::{Path, PathBuf};

const INLINE: &str = "fixtures/check/graphs/map-blocks-inline.json";
const SCATTER: &str = "fixtures/check/graphs/map-blocks-scatter.json";
/// The digest of the payload the regressed fixture adds to every `f` task.
const NEW_DIGEST: &str = "sha256:aa69b96c83b5f2bde07c0b54b1ba97fce4019118e36c3d8a3d1a827388d87e9a";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project: the check fixtures, `graphprof.toml` and `reports/baseline.json`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "fixtures/check/graphs",
        "fixtures/check/regressed",
        "reports",
    ] {
        fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    for file in [
        INLINE,
        SCATTER,
        "fixtures/check/regressed/map-blocks-inline.json",
        "graphprof.toml",
        "reports/baseline.json",
    ] {
        fs::copy(repo().join(file), dir.path().join(file)).unwrap();
    }
    // The project's budget and baseline also cover the top-level fixtures.
    for entry in fs::read_dir(repo().join("fixtures")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            fs::copy(
                &path,
                dir.path().join("fixtures").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    dir
}

fn check(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("graphprof").unwrap();
    cmd.current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("GRAPHPROF_SCRIPTED_PROBE")
        .args([
            "check",
            "--baseline",
            "reports/baseline.json",
            "--budget",
            "graphprof.toml",
        ])
        .args(extra);
    cmd
}

fn regress(dir: &Path) {
    fs::copy(
        dir.join("fixtures/check/regressed/map-blocks-inline.json"),
        dir.join(INLINE),
    )
    .unwrap();
}

fn read_report(path: &Path) -> CheckReport {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn unchanged_graphs_pass() {
    let dir = project();
    check(dir.path(), &[INLINE, SCATTER, "--json", "out.json"])
        .assert()
        .code(0);
    let report = read_report(&dir.path().join("out.json"));
    assert!(report.passed);
    assert_eq!(report.graphs.len(), 2);
    assert!(report.graphs.iter().all(|g| g.in_baseline && g.passed));
    // Without graph arguments the baseline's graphs are checked.
    check(dir.path(), &[]).assert().code(0);
}

#[test]
fn a_new_duplicated_payload_fails_and_every_report_names_it() {
    let dir = project();
    regress(dir.path());
    let out = check(
        dir.path(),
        &[
            INLINE,
            SCATTER,
            "--markdown",
            "out.md",
            "--junit",
            "out.xml",
            "--html",
            "out.html",
            "--json",
            "out.json",
        ],
    )
    .assert()
    .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains(NEW_DIGEST), "{stdout}");
    let markdown = fs::read_to_string(dir.path().join("out.md")).unwrap();
    assert!(markdown.contains(&format!("`{NEW_DIGEST}`")), "{markdown}");
    assert!(
        markdown.contains("❌") && markdown.contains("+50.0%"),
        "{markdown}"
    );
    assert!(markdown.contains("| f |"), "the grown layer: {markdown}");
    let junit = fs::read_to_string(dir.path().join("out.xml")).unwrap();
    assert!(
        junit.contains("name=\"regression: new duplicated payloads\""),
        "{junit}"
    );
    let failure = junit
        .split("<failure")
        .skip(1)
        .find(|f| f.contains(NEW_DIGEST))
        .expect("a <failure> naming the digest");
    assert!(failure.contains("LookupTable"), "{failure}");
    let html = fs::read_to_string(dir.path().join("out.html")).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains(NEW_DIGEST),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("href=\"http"),
        "self-contained"
    );
    let report = read_report(&dir.path().join("out.json"));
    assert!(!report.passed);
    let inline = &report.graphs[0];
    assert!(!inline.passed && report.graphs[1].passed);
    assert_eq!(inline.changes.new_payloads[0].digest, NEW_DIGEST);
    assert_eq!(inline.changes.new_payloads[0].copies_now, 4);
    let checks: usize = report.graphs.iter().map(|g| g.checks.len()).sum();
    assert_eq!(
        junit.matches("<testcase ").count(),
        checks,
        "one test case per check"
    );
    assert_eq!(
        junit.matches("<failure ").count(),
        report.failures().count()
    );
}

#[test]
fn update_baseline_rewrites_it_and_the_next_check_passes() {
    let dir = project();
    regress(dir.path());
    // The regressed graph is over the dogfood budget; this test is about the baseline alone.
    fs::write(
        dir.path().join("graphprof.toml"),
        "[defaults]\nmax_tasks = 100\n",
    )
    .unwrap();
    let baseline_path = dir.path().join("reports/baseline.json");
    let before = fs::read(&baseline_path).unwrap();
    check(dir.path(), &[INLINE, SCATTER, "--update-baseline"])
        .assert()
        .code(0);
    let after = fs::read(&baseline_path).unwrap();
    assert_ne!(before, after);
    let baseline: Baseline = serde_json::from_slice(&after).unwrap();
    let inline = baseline.graph(INLINE).unwrap();
    assert!(inline.duplicates.iter().any(|p| p.digest == NEW_DIGEST));
    // No temporary file is left next to it.
    let leftovers: Vec<_> = fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    check(dir.path(), &[INLINE, SCATTER]).assert().code(0);
}

#[test]
fn a_missing_baseline_is_created_only_by_update() {
    let dir = project();
    fs::remove_file(dir.path().join("reports/baseline.json")).unwrap();
    let out = check(dir.path(), &[INLINE]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("reports/baseline.json"), "{stderr}");
    assert!(!dir.path().join("reports/baseline.json").exists());
    check(dir.path(), &[INLINE, "--update-baseline"])
        .assert()
        .code(0);
    assert!(dir.path().join("reports/baseline.json").exists());
}

/// Bad baselines and budgets: exit 2, one line naming the file, the baseline byte for byte as it was.
#[test]
fn bad_baselines_and_budgets_are_errors_that_leave_the_baseline_alone() {
    let baseline_cases: [(&str, &str); 3] = [
        (
            "malformed",
            "{\n  \"schema\": \"graphprof-baseline\",\n  \"version\": 1,\n  \"graphs\": [\n",
        ),
        (
            "other version",
            "{\"schema\": \"graphprof-baseline\", \"version\": 7, \"graphs\": []}",
        ),
        (
            "a graph that does not exist",
            "{\"schema\": \"graphprof-baseline\", \"version\": 1, \"graphprof_version\": \"0\", \
             \"graphs\": [{\"path\": \"gone.json\", \"name\": null, \"figures\": {\"wire_bytes\": 1, \
             \"materialised_bytes\": 1, \"duplicated_bytes\": 0, \"duplication_ratio\": 1.0, \
             \"tasks\": 1}, \"duplicates\": [], \"layers\": []}]}",
        ),
    ];
    for (what, content) in baseline_cases {
        let dir = project();
        let path = dir.path().join("reports/baseline.json");
        fs::write(&path, content).unwrap();
        for extra in [&[INLINE][..], &[INLINE, "--update-baseline"][..]] {
            if what == "a graph that does not exist" && extra.len() == 2 {
                continue; // updating is how a removed graph leaves the baseline
            }
            let out = check(dir.path(), extra).assert().code(2);
            let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(stderr.contains("reports/baseline.json"), "{what}: {stderr}");
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                content,
                "{what}: baseline touched"
            );
        }
    }
    let budget_cases = [
        ("missing", None, "graphprof.toml"),
        (
            "malformed",
            Some("[defaults]\nmax_wire_bytes = = 3\n"),
            "graphprof.toml: line 2",
        ),
        (
            "unknown field",
            Some("[defaults]\nmax_wire = 3\n"),
            "graphprof.toml: line 2",
        ),
        (
            "bad size",
            Some("[defaults]\nmax_wire_bytes = \"3 furlongs\"\n"),
            "line 2",
        ),
        (
            "glob matching nothing",
            Some("[[graph]]\nglob = \"graphs/*.json\"\nmax_tasks = 1\n"),
            "line 2",
        ),
        (
            "path that does not exist",
            Some("[[graph]]\npath = \"gone.json\"\n"),
            "gone.json",
        ),
    ];
    for (what, content, expected) in budget_cases {
        let dir = project();
        let budget = dir.path().join("graphprof.toml");
        match content {
            Some(text) => fs::write(&budget, text).unwrap(),
            None => fs::remove_file(&budget).unwrap(),
        }
        let baseline = dir.path().join("reports/baseline.json");
        let before = fs::read(&baseline).unwrap();
        let out = check(dir.path(), &[INLINE, "--update-baseline"])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert_eq!(
            fs::read(&baseline).unwrap(),
            before,
            "{what}: baseline touched"
        );
    }
}

#[test]
fn a_budget_exceeded_without_a_baseline_change_fails_naming_the_budget() {
    let dir = project();
    fs::write(
        dir.path().join("graphprof.toml"),
        "[[graph]]\npath = \"fixtures/check/graphs/map-blocks-inline.json\"\nmax_wire_bytes = \"4KiB\"\n",
    )
    .unwrap();
    let out = check(
        dir.path(),
        &[INLINE, "--junit", "out.xml", "--json", "out.json"],
    )
    .assert()
    .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("exceeds max_wire_bytes 4.00 KiB (graphprof.toml:1)"),
        "{stdout}"
    );
    let report = read_report(&dir.path().join("out.json"));
    let failed: Vec<_> = report.failures().map(|(_, c)| c.name.clone()).collect();
    assert_eq!(failed, ["budget: max_wire_bytes"]);
    let junit = fs::read_to_string(dir.path().join("out.xml")).unwrap();
    assert!(junit.contains("<failure type=\"budget\""), "{junit}");
}

#[test]
fn sample_runs_the_built_in_engine_and_shows_the_spread() {
    let dir = project();
    Command::cargo_bin("graphprof")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "generate",
            "map-blocks",
            "--chunks",
            "128",
            "--payload-bytes",
            "64KiB",
            "--strategy",
            "scatter",
            "-o",
            "seed.json",
        ])
        .assert()
        .success();
    check(
        dir.path(),
        &[
            "seed.json",
            "--sample",
            "--repeat",
            "2",
            "--strategy",
            "inline",
            "--strategy",
            "scatter",
            "--workers",
            "2",
            "--interval",
            "2ms",
            "--hold",
            "50ms",
            "--json",
            "out.json",
        ],
    )
    .assert()
    .code(0);
    let report = read_report(&dir.path().join("out.json"));
    assert!(report.sampled);
    let held = |strategy: &str| {
        report.graphs[0]
            .rows
            .iter()
            .find(|r| r.figure == "held_bytes" && r.strategy.map(|s| s.name()) == Some(strategy))
            .and_then(|r| r.now_spread)
            .unwrap_or_else(|| panic!("no sampled held_bytes for {strategy}"))
    };
    let (inline, scatter) = (held("inline"), held("scatter"));
    assert!(inline.min <= inline.median && inline.median <= inline.max);
    // The scattered graph, rewritten inline, holds 128 copies of 64 KiB (8 MiB) while the
    // results are held; scatter holds two.
    assert!(
        inline.median > scatter.median + 4 * 1024 * 1024,
        "inline {inline:?} scatter {scatter:?}"
    );
}

#[test]
fn sampled_medians_are_compared_within_the_tolerance() {
    let dir = project();
    let script = |peaks: [u64; 3]| {
        let runs: Vec<String> = peaks
            .iter()
            .map(|p| {
                format!(
                    "{{\"peak_bytes\": {p}, \"held_bytes\": {}, \"after_release_bytes\": 1000}}",
                    p / 2
                )
            })
            .collect();
        format!(
            "{{\"inline\": [{}], \"scatter\": [{{\"peak_bytes\": 50000, \"held_bytes\": 20000, \"after_release_bytes\": 1000}}]}}",
            runs.join(",")
        )
    };
    let probe = dir.path().join("probe.json");
    let sampled = |cmd: &mut Command| {
        cmd.env("GRAPHPROF_SCRIPTED_PROBE", &probe).args([
            "--sample",
            "--repeat",
            "3",
            "--strategy",
            "inline",
            "--strategy",
            "scatter",
        ]);
    };
    fs::write(&probe, script([10_000_000, 50_000_000, 10_100_000])).unwrap();
    let mut update = check(dir.path(), &[INLINE, SCATTER, "--update-baseline"]);
    sampled(&mut update);
    update.assert().code(0);
    let baseline: Baseline =
        serde_json::from_slice(&fs::read(dir.path().join("reports/baseline.json")).unwrap())
            .unwrap();
    let inline = &baseline.graph(INLINE).unwrap().sampled[&graphprof::graph::Strategy::Inline];
    assert_eq!(
        (inline.peak_bytes.median, inline.peak_bytes.max),
        (10_100_000, 50_000_000)
    );
    // 8% (0.77 MiB) above the median: within the default 10%.
    fs::write(&probe, script([11_000_000, 10_900_000, 9_000_000])).unwrap();
    let mut within = check(dir.path(), &[INLINE, SCATTER, "--html", "out.html"]);
    sampled(&mut within);
    within.assert().code(0);
    let html = fs::read_to_string(dir.path().join("out.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("</svg>") && html.contains(">scatter</text>"),
        "{html}"
    );
    // 29% (2.8 MiB; held 1.4 MiB) above: beyond the tolerance and the 1 MiB noise floor, a
    // regression that names the strategy and shows the spread.
    fs::write(&probe, script([13_000_000, 13_000_000, 14_000_000])).unwrap();
    let mut beyond = check(dir.path(), &[INLINE, SCATTER, "--json", "out.json"]);
    sampled(&mut beyond);
    beyond.assert().code(1);
    let report = read_report(&dir.path().join("out.json"));
    let failed: Vec<_> = report.failures().map(|(_, c)| c.name.clone()).collect();
    assert!(
        failed.contains(&"regression: inline peak_bytes".to_string()),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"regression: inline held_bytes".to_string()),
        "{failed:?}"
    );
    assert!(!failed.iter().any(|f| f.contains("scatter")), "{failed:?}");
    let row = report.graphs[0]
        .rows
        .iter()
        .find(|r| {
            r.figure == "peak_bytes" && r.strategy == Some(graphprof::graph::Strategy::Inline)
        })
        .unwrap();
    assert_eq!(
        row.now_spread.map(|s| (s.min, s.max)),
        Some((13_000_000, 14_000_000))
    );
    assert_eq!(row.baseline_spread.map(|s| s.median), Some(10_100_000));
}

/// Every run of `check` on this graph with the same options: the seed case, scattered, 64 chunks.
fn generate_seed(dir: &Path) {
    Command::cargo_bin("graphprof")
        .unwrap()
        .current_dir(dir)
        .args([
            "generate",
            "map-blocks",
            "--chunks",
            "64",
            "--payload-bytes",
            "64KiB",
            "--strategy",
            "scatter",
            "-o",
            "seed.json",
        ])
        .assert()
        .success();
}

/// `--sample` measures the engine's managed bytes, not process RSS: an unchanged graph checked
/// against the baseline it has just written passes every time, and the held and after-release
/// figures are the same on every run.
#[test]
fn sampling_an_unchanged_graph_measures_exact_managed_bytes_and_passes() {
    let dir = project();
    generate_seed(dir.path());
    let sample = [
        "seed.json",
        "--sample",
        "--repeat",
        "3",
        "--strategy",
        "inline",
        "--strategy",
        "scatter",
        "--workers",
        "2",
        "--interval",
        "2ms",
        "--hold",
        "5ms",
    ];
    check(dir.path(), &[&sample[..], &["--update-baseline"]].concat())
        .assert()
        .code(0);
    for _ in 0..3 {
        check(dir.path(), &[&sample[..], &["--json", "out.json"]].concat())
            .assert()
            .code(0);
        let report = read_report(&dir.path().join("out.json"));
        let rows: Vec<_> = report.graphs[0]
            .rows
            .iter()
            .filter(|r| r.strategy.is_some() && r.figure != "peak_bytes")
            .collect();
        assert_eq!(rows.len(), 4);
        for row in rows {
            let (now, base) = (row.now_spread.unwrap(), row.baseline_spread.unwrap());
            assert_eq!(now.min, now.max, "{row:?}");
            assert_eq!(now, base, "{row:?}");
            if row.figure == "after_release_bytes" {
                assert_eq!(now.median, 0, "everything is released: {row:?}");
            } else {
                assert!(now.median > 64 * 1024, "{row:?}");
            }
        }
    }
}

/// A scripted probe whose inline runs all measure `peak` bytes (held and after release alike).
fn flat_script(dir: &Path, peak: u64) -> PathBuf {
    let probe = dir.join("probe.json");
    let run = format!(
        "{{\"peak_bytes\": {peak}, \"held_bytes\": {peak}, \"after_release_bytes\": {peak}}}"
    );
    fs::write(&probe, format!("{{\"inline\": [{run}]}}")).unwrap();
    probe
}

/// Growth below the noise floor (1 MiB by default) never fails, even from a baseline of 0 B;
/// a budget can lower the floor. A row the baseline has is never labelled "new".
#[test]
fn sampled_growth_within_the_noise_floor_passes_and_is_not_called_new() {
    let dir = project();
    let sampled = |cmd: &mut Command, probe: &Path| {
        cmd.env("GRAPHPROF_SCRIPTED_PROBE", probe).args([
            "--sample",
            "--repeat",
            "1",
            "--strategy",
            "inline",
        ]);
    };
    let probe = flat_script(dir.path(), 0);
    let mut update = check(dir.path(), &[INLINE, "--update-baseline"]);
    sampled(&mut update, &probe);
    update.assert().code(0);
    let probe = flat_script(dir.path(), 4096);
    let mut within = check(dir.path(), &[INLINE, "--markdown", "out.md"]);
    sampled(&mut within, &probe);
    let out = within.assert().code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let markdown = fs::read_to_string(dir.path().join("out.md")).unwrap();
    for text in [&stdout, &markdown] {
        let line = text
            .lines()
            .find(|l| l.contains("inline held_bytes"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("+4.00 KiB (from 0)"), "{line}");
        assert!(!line.contains("new"), "{line}");
    }
    // With the floor lowered to 1 KiB, the same growth is a regression.
    fs::write(
        dir.path().join("graphprof.toml"),
        "[defaults]\nnoise_floor_bytes = \"1KiB\"\n",
    )
    .unwrap();
    let mut beyond = check(dir.path(), &[INLINE]);
    sampled(&mut beyond, &probe);
    let out = beyond.assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("by more than 10% and 1.00 KiB"), "{stdout}");
}

#[test]
fn the_same_graph_given_twice_is_checked_once() {
    let dir = project();
    let twice = format!("./{INLINE}");
    check(
        dir.path(),
        &[INLINE, &twice, "--update-baseline", "--json", "out.json"],
    )
    .assert()
    .code(0);
    let report = read_report(&dir.path().join("out.json"));
    assert_eq!(report.graphs.len(), 1);
    let baseline: Baseline =
        serde_json::from_slice(&fs::read(dir.path().join("reports/baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline.graphs.len(), 1);
    check(dir.path(), &[]).assert().code(0);
}

/// The baseline with `edit` applied to its JSON.
fn edited_baseline(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let path = dir.join("reports/baseline.json");
    let mut value: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    let text = serde_json::to_string_pretty(&value).unwrap();
    fs::write(&path, &text).unwrap();
    text
}

/// A graph listed twice, a duplication ratio below 1 or a negative figure: exit 2, one line
/// naming the baseline and the entry, the baseline untouched.
#[test]
fn a_baseline_with_a_graph_twice_or_a_negative_figure_is_refused() {
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 4] = [
        (
            "twice",
            |v| {
                let first = v["graphs"][0].clone();
                v["graphs"].as_array_mut().unwrap().push(first);
            },
            "twice",
        ),
        (
            "negative ratio",
            |v| v["graphs"][0]["figures"]["duplication_ratio"] = (-2.5).into(),
            "duplication_ratio",
        ),
        (
            "ratio below 1",
            |v| v["graphs"][0]["figures"]["duplication_ratio"] = 0.5.into(),
            "duplication_ratio",
        ),
        (
            "negative figure",
            |v| v["graphs"][0]["figures"]["wire_bytes"] = (-1).into(),
            "line ",
        ),
    ];
    for (what, edit, expected) in cases {
        let dir = project();
        let content = edited_baseline(dir.path(), edit);
        for extra in [&[][..], &[INLINE][..], &[INLINE, "--update-baseline"][..]] {
            let out = check(dir.path(), extra).assert().code(2);
            let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(
                stderr.contains("reports/baseline.json") && stderr.contains(expected),
                "{what}: {stderr}"
            );
            let now = fs::read_to_string(dir.path().join("reports/baseline.json")).unwrap();
            assert_eq!(now, content, "{what}: baseline touched");
        }
    }
}

/// A graph the baseline lists that is gone: the error suggests a command, and that command
/// drops it from the baseline with a note.
#[test]
fn a_graph_gone_from_the_baseline_is_dropped_by_the_suggested_update() {
    let dir = project();
    fs::write(
        dir.path().join("graphprof.toml"),
        "[defaults]\nmax_tasks = 1000\n",
    )
    .unwrap();
    fs::remove_file(dir.path().join(SCATTER)).unwrap();
    let out = check(dir.path(), &[]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(SCATTER), "{stderr}");
    let suggested = "graphprof check --baseline reports/baseline.json --update-baseline";
    assert!(stderr.contains(suggested), "{stderr}");
    let out = Command::cargo_bin("graphprof")
        .unwrap()
        .current_dir(dir.path())
        .args(suggested.split(' ').skip(1))
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("note: {SCATTER} does not exist; it is dropped")),
        "{stderr}"
    );
    let baseline: Baseline =
        serde_json::from_slice(&fs::read(dir.path().join("reports/baseline.json")).unwrap())
            .unwrap();
    assert!(baseline.graph(SCATTER).is_none());
    assert!(baseline.graph(INLINE).is_some());
    check(dir.path(), &[]).assert().code(0);
}

/// One bad report path (`--junit` into a folder that does not exist): exit 2 naming it, no
/// report written, the baseline untouched.
#[test]
fn a_bad_report_path_writes_no_report_and_leaves_the_baseline() {
    let dir = project();
    regress(dir.path());
    let baseline = dir.path().join("reports/baseline.json");
    let before = fs::read(&baseline).unwrap();
    let out = check(
        dir.path(),
        &[
            INLINE,
            "--markdown",
            "out.md",
            "--junit",
            "missing/out.xml",
            "--html",
            "out.html",
            "--json",
            "out.json",
            "--update-baseline",
        ],
    )
    .assert()
    .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("missing/out.xml") && stderr.contains("--junit"),
        "{stderr}"
    );
    for file in ["out.md", "out.html", "out.json"] {
        assert!(!dir.path().join(file).exists(), "{file} was written");
    }
    assert_eq!(fs::read(&baseline).unwrap(), before);
}

/// Lines of the Markdown pipe tables, grouped by table, each line's count of cell separators
/// (`|` not escaped with a backslash).
fn table_separators(markdown: &str) -> Vec<Vec<usize>> {
    let mut tables: Vec<Vec<usize>> = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        if line.starts_with('|') {
            let count = line
                .char_indices()
                .filter(|&(i, c)| c == '|' && (i == 0 || &line[i - 1..i] != "\\"))
                .count();
            if !in_table {
                tables.push(Vec::new());
            }
            tables.last_mut().unwrap().push(count);
            in_table = true;
        } else {
            in_table = false;
        }
    }
    tables
}

/// A graph name, type label and layer carrying HTML and `|`: the Markdown shows them as text, and
/// every table row keeps its columns.
#[test]
fn markdown_escapes_names_labels_and_keys_from_the_graph() {
    let dir = project();
    let hostile = fs::read_to_string(
        dir.path()
            .join("fixtures/check/regressed/map-blocks-inline.json"),
    )
    .unwrap()
    .replace(
        "map-blocks inline 4 x 4 KiB",
        "<script>alert(1)</script> | `x",
    )
    .replace("LookupTable", "<img src=x onerror=alert(1)>|T")
    .replace("f-77ab", "<i>f|g-77ab");
    fs::write(dir.path().join(INLINE), hostile).unwrap();
    check(dir.path(), &[INLINE, "--markdown", "out.md"])
        .assert()
        .code(1);
    let markdown = fs::read_to_string(dir.path().join("out.md")).unwrap();
    for raw in ["<script", "<img", "<i>"] {
        assert!(!markdown.contains(raw), "{raw}: {markdown}");
    }
    assert!(
        markdown.contains("&lt;script&gt;alert(1)&lt;/script&gt; &#124; &#96;x"),
        "{markdown}"
    );
    assert!(
        markdown.contains("&lt;img src=x onerror=alert(1)&gt;&#124;T"),
        "{markdown}"
    );
    assert!(markdown.contains("&lt;i&gt;f&#124;g"), "{markdown}");
    let tables = table_separators(&markdown);
    assert!(tables.len() >= 3, "{markdown}");
    for table in tables {
        assert!(
            table.iter().all(|&n| n == table[0]),
            "{table:?}: {markdown}"
        );
    }
}
