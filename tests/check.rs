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
fn sample_without_a_wired_sampler_is_an_error_not_a_pass() {
    let dir = project();
    let out = check(dir.path(), &[INLINE, "--sample"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("--sample") && stderr.contains("no memory sampler"),
        "{stderr}"
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
    fs::write(&probe, script([100_000, 500_000, 101_000])).unwrap();
    let mut update = check(dir.path(), &[INLINE, SCATTER, "--update-baseline"]);
    sampled(&mut update);
    update.assert().code(0);
    let baseline: Baseline =
        serde_json::from_slice(&fs::read(dir.path().join("reports/baseline.json")).unwrap())
            .unwrap();
    let inline = &baseline.graph(INLINE).unwrap().sampled[&graphprof::graph::Strategy::Inline];
    assert_eq!(
        (inline.peak_bytes.median, inline.peak_bytes.max),
        (101_000, 500_000)
    );
    // 9% above the median: within the default 10%.
    fs::write(&probe, script([110_000, 109_000, 90_000])).unwrap();
    let mut within = check(dir.path(), &[INLINE, SCATTER, "--html", "out.html"]);
    sampled(&mut within);
    within.assert().code(0);
    let html = fs::read_to_string(dir.path().join("out.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("</svg>") && html.contains(">scatter</text>"),
        "{html}"
    );
    // 20% above: a regression that names the strategy and shows the spread.
    fs::write(&probe, script([121_200, 121_200, 130_000])).unwrap();
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
        Some((121_200, 130_000))
    );
    assert_eq!(row.baseline_spread.map(|s| s.median), Some(101_000));
}
