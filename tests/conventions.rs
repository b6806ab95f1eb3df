//! What users of hyperfine and ripgrep expect: whole one-line usage errors, shell completions and
//! a man page generated from the clap definitions, `--quiet`, the commit in `--version`, and
//! `diff --exit-code`; clap's suggestions on the one error line, and the Python side's errors
//! named `graphprof`.

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
    // NAME is "graphprof - what it does", not "graphprof - graphprof: ...".
    let name = roff
        .lines()
        .skip_while(|l| *l != ".SH NAME")
        .nth(1)
        .unwrap();
    assert!(name.starts_with("graphprof \\- Find"), "{name}");
    assert!(!name.contains("graphprof:"), "{name}");
    for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT"] {
        assert!(roff.contains(section), "no {section}");
    }
    let environment = &roff[roff.find(".SH ENVIRONMENT").unwrap()..];
    assert!(environment.contains("GRAPHPROF_PYTHON"), "{environment}");
    let status = &roff[roff.find("EXIT STATUS").unwrap()..];
    assert!(status.contains("130"), "{status}");
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

/// stderr of `graphprof ARGS`: exit code 2, one line.
fn usage_error(args: &[&str]) -> String {
    let output = graphprof().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_typo_gets_clap_suggestion_and_the_subcommand_help_on_its_one_line() {
    assert_eq!(
        usage_error(&["analyz"]).trim(),
        "graphprof: error: unrecognized subcommand 'analyz' (did you mean 'analyze'?; see graphprof analyze --help)"
    );
    let stderr = usage_error(&["analyze", "--formt", "json"]);
    assert!(
        stderr.contains("a similar argument exists: '--format'")
            && stderr.contains("see graphprof analyze --help)"),
        "{stderr}"
    );
    let stderr = usage_error(&["dask", "exprt"]);
    assert!(
        stderr.contains("did you mean 'export'?; see graphprof dask export --help"),
        "{stderr}"
    );
    let stderr = usage_error(&["diff"]);
    assert!(stderr.contains("see graphprof diff --help"), "{stderr}");
}

#[test]
fn sample_help_names_a_script_and_variable() {
    let output = graphprof().args(["sample", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("SCRIPT.py:VAR"), "{help}");
    let output = graphprof().args(["sample", "-h"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("SCRIPT.py:VAR"));
}

/// Every `.py` file under `python/graphprof/`, recursively.
fn python_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            python_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

#[test]
fn the_python_side_names_itself_graphprof_in_its_messages() {
    let mut files = Vec::new();
    python_files(&common::repo().join("python/graphprof"), &mut files);
    assert!(files.len() > 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("graphprof_dask"),
            "{} says graphprof_dask",
            file.display()
        );
    }
    // What the exporter says reaches the user as one line naming `graphprof dask export`.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pipeline.py");
    std::fs::write(&script, "x = 1\n").unwrap();
    let output = graphprof()
        .args(["dask", "export"])
        .arg(format!("{}:result", script.display()))
        .arg("-o")
        .arg(dir.path().join("graph.json"))
        .env("GRAPHPROF_PYTHON", common::dask_python())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("graphprof dask export: pipeline.py has no variable 'result'"),
        "{stderr}"
    );
    assert!(!stderr.contains("graphprof_dask"), "{stderr}");
}
