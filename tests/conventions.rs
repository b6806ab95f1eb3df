//! What users of hyperfine and ripgrep expect: whole one-line usage errors, shell completions and
//! a man page generated from the clap definitions, `--quiet`, the commit in `--version`, and
//! `diff --exit-code`.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, graphprof};

#[test]
fn a_missing_argument_is_named_on_one_line() {
    let output = graphprof()
        .args(["diff"])
        .arg(fixture("seed-inline-64.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("were not provided: <NEW>"), "{stderr}");
    let output = graphprof().args(["diff"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("<OLD> <NEW>"), "{stderr}");
    let output = graphprof().args(["check", "x.json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--baseline <BASELINE>"), "{stderr}");
}

#[test]
fn completions_know_every_subcommand_and_option() {
    for shell in ["bash", "zsh", "fish"] {
        let output = graphprof().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for word in [
            "analyze",
            "check",
            "diff",
            "sample",
            "rewrite",
            "generate",
            "exit-code",
            "quiet",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let output = graphprof().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_man_page_renders_with_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("graphprof.1");
    graphprof()
        .args(["man", "-o"])
        .arg(&page)
        .assert()
        .success();
    let roff = std::fs::read_to_string(&page).unwrap();
    assert!(roff.contains(".TH graphprof 1"), "{roff}");
    for section in [
        "GRAPHPROF ANALYZE",
        "GRAPHPROF CHECK",
        "GRAPHPROF DIFF",
        "GRAPHPROF SAMPLE",
        "GRAPHPROF DASK EXPORT",
        "GRAPHPROF WATCH",
    ] {
        assert!(roff.contains(section), "no {section}");
    }
    // A nested subcommand's own options are on the page, not only its name.
    let export = &roff[roff.find("GRAPHPROF DASK EXPORT").unwrap()..];
    assert!(export.contains("measure\\-wire"), "{export}");
    // groff renders it (the man page machinery CI and users have) into plain text.
    let rendered = std::process::Command::new("groff")
        .args(["-man", "-Tascii", "-P", "-cbou"])
        .arg(&page)
        .output();
    if let Ok(rendered) = rendered {
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        assert!(text.contains("--exit-code"), "{text}");
        assert!(text.contains("SYNOPSIS"), "{text}");
    }
}

#[test]
fn quiet_prints_nothing_on_success_and_still_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("analysis.txt");
    let output = graphprof()
        .args(["--quiet", "analyze"])
        .arg(fixture("seed-inline-64.json"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("Duplicated payloads")
    );
    let folder = dir.path().join("sampled");
    let output = graphprof()
        .args([
            "sample",
            "-q",
            "--chunks",
            "16",
            "--hold",
            "0s",
            "--strategy",
            "inline",
            "-o",
        ])
        .arg(&folder)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
    assert!(folder.join("report.json").is_file());
    // Without --quiet the same run prints its table.
    let output = graphprof()
        .args([
            "sample",
            "--chunks",
            "16",
            "--hold",
            "0s",
            "--strategy",
            "inline",
            "-o",
        ])
        .arg(&folder)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("inline"));
    // Errors still print.
    let output = graphprof()
        .args(["-q", "analyze", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent.json"));
}

#[test]
fn the_version_names_the_commit() {
    let output = graphprof().arg("--version").output().unwrap();
    let version = String::from_utf8(output.stdout).unwrap();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let expected = commit.unwrap_or_else(|| "unknown commit".to_string());
    assert_eq!(
        version.trim(),
        format!("graphprof {} ({expected})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn diff_exit_code_says_whether_the_graphs_differ() {
    let (inline, scatter) = (
        fixture("seed-inline-64.json"),
        fixture("seed-scatter-64.json"),
    );
    let status = |args: &[&std::path::Path], flag: bool| {
        let mut command = graphprof();
        command.arg("diff").args(args);
        if flag {
            command.arg("--exit-code");
        }
        command.output().unwrap().status.code()
    };
    assert_eq!(status(&[&inline, &inline], true), Some(0));
    assert_eq!(status(&[&inline, &scatter], true), Some(1));
    assert_eq!(status(&[&inline, &scatter], false), Some(0));
}

#[test]
fn seed_case_options_beside_a_graph_file_are_refused_and_strategy_rewrites_it() {
    let graph = common::fixture("seed-inline-64.json");
    // (`sample GRAPH --chunks N` runs the graph culled to its first N outputs: tests/sample_sweep.rs.)
    for (command, option, value) in [
        ("sample", "--payload-bytes", "1KiB"),
        ("analyze", "--chunks", "5"),
    ] {
        let output = common::graphprof()
            .arg(command)
            .arg(&graph)
            .args([option, value])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command} {option}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(option) && stderr.contains("graph file"),
            "{stderr}"
        );
    }
    // --strategy with a file means the rewritten file, as `graphprof rewrite` writes it.
    let dir = tempfile::tempdir().unwrap();
    let rewritten = dir.path().join("scatter.json");
    common::graphprof()
        .args(["rewrite", "--strategy", "scatter", "-o"])
        .arg(&rewritten)
        .arg(&graph)
        .assert()
        .code(0);
    let via_option = common::analyze_json(&graph, &["--strategy", "scatter"]);
    let via_file = common::analyze_json(&rewritten, &[]);
    assert_eq!(via_option.sizes, via_file.sizes);
    assert_eq!(via_option.sizes.data_bytes, via_file.sizes.data_bytes);
    assert!(via_option.graph.data_objects >= 1);
    assert!(via_option.graph.source.ends_with("rewritten: scatter"));
}
