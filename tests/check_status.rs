//! `check`'s tables give the baseline and the budget a status column each, in words as well as
//! emoji (text, Markdown, HTML, JSON); the HTML chart has a title, a y-axis label and legend
//! names a reader uses.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, graphprof};
use graphprof::check::CheckReport;
use std::path::Path;

/// A folder where `g.json` was the scatter graph when the baseline was written and is now the
/// inline one: wire_bytes grew past the baseline (FAIL) but stays within a 1 MiB budget (ok).
fn regressed_within_budget() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("seed-scatter-64.json"), dir.path().join("g.json")).unwrap();
    std::fs::write(
        dir.path().join("budget.toml"),
        "[[graph]]\npath = \"g.json\"\nmax_wire_bytes = \"1MiB\"\n",
    )
    .unwrap();
    run(dir.path(), &["--update-baseline"]).assert().code(0);
    std::fs::copy(fixture("seed-inline-64.json"), dir.path().join("g.json")).unwrap();
    dir
}

fn run(dir: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut command = graphprof();
    command
        .current_dir(dir)
        .args([
            "check",
            "g.json",
            "--baseline",
            "baseline.json",
            "--budget",
            "budget.toml",
        ])
        .args(extra);
    command
}

#[test]
fn baseline_and_budget_have_a_status_each_in_every_table() {
    let dir = regressed_within_budget();
    let output = run(
        dir.path(),
        &["--json", "c.json", "--markdown", "c.md", "--html", "c.html"],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: CheckReport =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("c.json")).unwrap()).unwrap();
    let wire = report.graphs[0]
        .rows
        .iter()
        .find(|r| r.figure == "wire_bytes")
        .unwrap();
    assert_eq!(
        (wire.baseline_passed, wire.budget_passed),
        (Some(false), Some(true))
    );
    let tasks = report.graphs[0]
        .rows
        .iter()
        .find(|r| r.figure == "tasks")
        .unwrap();
    assert_eq!(tasks.budget_passed, None);

    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("vs baseline") && text.contains("vs budget"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("wire_bytes"))
        .unwrap();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(words.last(), Some(&"ok"), "{row}");
    assert!(words.contains(&"FAIL"), "{row}");

    let markdown = std::fs::read_to_string(dir.path().join("c.md")).unwrap();
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| wire_bytes"))
        .unwrap();
    let fail = row.find("❌ FAIL").unwrap();
    let ok = row.find("✅ ok").unwrap();
    assert!(fail < ok, "baseline status before the budget's: {row}");
    assert!(markdown.contains("### ❌ FAIL `g.json`"), "{markdown}");

    let html = std::fs::read_to_string(dir.path().join("c.html")).unwrap();
    assert!(html.contains("<th>vs baseline</th>") && html.contains("<th>vs budget</th>"));
    assert!(html.contains("<td class=\"fail\">❌ FAIL</td>"), "{html}");
    assert!(html.contains("<td class=\"pass\">✅ ok</td>"), "{html}");
    assert!(
        html.contains("td.fail{background:"),
        "the status has a colour"
    );
    assert!(html.contains("❌ FAIL <code>g.json</code>"), "{html}");
}

#[test]
fn the_html_chart_has_a_title_an_axis_label_and_readable_legend_names() {
    let dir = regressed_within_budget();
    run(
        dir.path(),
        &[
            "--sample",
            "--repeat",
            "1",
            "--strategy",
            "inline",
            "--hold",
            "0s",
            "--html",
            "c.html",
        ],
    )
    .output()
    .unwrap();
    let html = std::fs::read_to_string(dir.path().join("c.html")).unwrap();
    let svg = &html[html.find("<svg").expect("a chart")..];
    assert!(
        svg.contains(">Sampled memory per strategy: median of the runs"),
        "{svg}"
    );
    assert!(
        svg.contains("rotate(-90)\" text-anchor=\"middle\">memory above the run's baseline</text>")
    );
    for legend in [
        ">peak memory</text>",
        ">held while results kept</text>",
        ">after release</text>",
    ] {
        assert!(svg.contains(legend), "no {legend}: {svg}");
    }
    assert!(!svg.contains(">peak_bytes<"), "{svg}");
}
