//! Text from a graph file never reaches the terminal raw: a fixture with escape sequences, BEL,
//! DEL, the 8-bit CSI, a bidi override, tabs and newlines in its keys, function and layer names,
//! type label and graph name gives output with no control character but the newlines between
//! lines, in analyze (text, Markdown), check (text, Markdown), diff (text, Markdown) and the
//! one-line errors of bad input.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, graphprof};
use std::path::Path;

/// Fails on any byte < 0x20 but `\n`, on DEL, and on the C1 CSI or a bidi override.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.chars().enumerate() {
        let bad = (c < ' ' && c != '\n') || c == '\u{7f}' || c == '\u{9b}' || c == '\u{202e}';
        assert!(!bad, "{what}: raw {c:?} at char {i}:\n{text}");
    }
}

/// Runs graphprof, checks the exit code, and checks stdout and stderr are inert.
fn run_inert(args: &[&std::ffi::OsStr], code: i32) -> (String, String) {
    let output = graphprof().args(args).output().unwrap();
    let what = format!("{args:?}");
    assert_inert(&what, &output.stdout);
    assert_inert(&what, &output.stderr);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{what}: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

#[test]
fn analyze_text_and_markdown_escape_every_name() {
    let graph = fixture("hostile/control-bytes.json");
    for format in ["text", "markdown"] {
        let (stdout, _) = run_inert(
            &[os("analyze"), graph.as_os_str(), os("--format"), os(format)],
            0,
        );
        assert!(
            stdout.contains("f\\x1b[2J") || stdout.contains("f&#92;x1b[2J"),
            "{format}: {stdout}"
        );
        assert!(
            format != "text" || stdout.contains("x0aFAKE LOG LINE"),
            "{stdout}"
        );
        assert!(!stdout.lines().any(|l| l.starts_with("FAKE")), "{stdout}");
    }
}

fn without_second_copy(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture("hostile/control-bytes.json")).unwrap();
    let mut graph: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tasks = graph["tasks"].as_array_mut().unwrap();
    tasks.remove(2);
    let path = dir.join("changed.json");
    std::fs::write(&path, serde_json::to_string(&graph).unwrap()).unwrap();
    path
}

#[test]
fn check_and_diff_tables_escape_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let graph = fixture("hostile/control-bytes.json");
    let changed = without_second_copy(dir.path());
    let baseline = dir.path().join("baseline.json");
    let markdown = dir.path().join("check.md");
    run_inert(
        &[
            os("check"),
            changed.as_os_str(),
            os("--baseline"),
            baseline.as_os_str(),
            os("--update-baseline"),
        ],
        0,
    );
    // The graph grew against the baseline: new duplicated payload, grown layer; exit 1.
    std::fs::copy(&graph, &changed).unwrap();
    let (stdout, _) = run_inert(
        &[
            os("check"),
            changed.as_os_str(),
            os("--baseline"),
            baseline.as_os_str(),
            os("--markdown"),
            markdown.as_os_str(),
        ],
        1,
    );
    assert!(stdout.contains("np\\x1b[31m\\x9b1m"), "{stdout}");
    let written = std::fs::read(&markdown).unwrap();
    assert_inert("check --markdown", &written);
    assert!(String::from_utf8_lossy(&written).contains("np&#92;x1b[31m"));
    let changed = without_second_copy(dir.path());
    for format in ["text", "markdown"] {
        let (stdout, _) = run_inert(
            &[
                os("diff"),
                graph.as_os_str(),
                changed.as_os_str(),
                os("--format"),
                os(format),
            ],
            0,
        );
        assert!(stdout.contains("x1b[Ker"), "{format}: {stdout}");
    }
}

#[test]
fn bad_input_errors_stay_one_escaped_line() {
    for name in [
        "hostile/control-bytes-field.json",
        "hostile/control-bytes-missing-dep.json",
    ] {
        let path = fixture(name);
        let (_, stderr) = run_inert(&[os("analyze"), path.as_os_str()], 2);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("\\x1b[2J\\x0a"), "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    }
}
