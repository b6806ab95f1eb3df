//! What `check` does with the paths a budget or a baseline names, on the real binary: a glob that
//! would walk too far stops with one line naming it, a FIFO or a device is called what it is (not
//! "does not exist"), and `analyze` reads a process substitution (`<(...)`, a pipe: it was refused with "Illegal seek").

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, graphprof};
use std::fs;
use std::path::Path;

/// A folder holding one graph, `g.json`, measured into `baseline.json`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(fixture("hand-written.json"), dir.path().join("g.json")).unwrap();
    graphprof()
        .current_dir(dir.path())
        .args(["check", "g.json", "--baseline", "baseline.json"])
        .args(["--update-baseline", "-q"])
        .assert()
        .code(0);
    dir
}

/// Runs `check` in `dir` with these arguments; expects exit 2 and returns the one stderr line.
fn refused(dir: &Path, args: &[&str]) -> String {
    let output = graphprof()
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_glob_stops_after_100000_entries_with_one_line_naming_it() {
    let dir = project();
    let many = dir.path().join("many");
    fs::create_dir(&many).unwrap();
    for i in 0..100_001 {
        fs::File::create(many.join(i.to_string())).unwrap();
    }
    fs::write(
        dir.path().join("graphprof.toml"),
        "[[graph]]\npath = \"g.json\"\n\n[[graph]]\nglob = \"many/*.json\"\nmax_tasks = 5\n",
    )
    .unwrap();
    let line = refused(
        dir.path(),
        &["--baseline", "baseline.json", "--budget", "graphprof.toml"],
    );
    assert!(
        line.starts_with("graphprof: error: graphprof.toml: line 5, column 8: glob 'many/*.json' "),
        "{line}"
    );
    assert!(
        line.contains("stopped after reading 100,000 folder entries"),
        "{line}"
    );
}

#[test]
fn a_budget_naming_a_fifo_or_a_device_says_what_it_is() {
    let dir = project();
    mkfifo(&dir.path().join("fifo.json"));
    fs::create_dir(dir.path().join("sub")).unwrap();
    for (path, what) in [
        ("fifo.json", "is a FIFO, not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
        ("sub", "is a folder, not a regular file"),
        ("gone.json", "does not exist"),
    ] {
        fs::write(
            dir.path().join("graphprof.toml"),
            format!("[[graph]]\npath = \"{path}\"\nmax_tasks = 5\n"),
        )
        .unwrap();
        let line = refused(
            dir.path(),
            &["--baseline", "baseline.json", "--budget", "graphprof.toml"],
        );
        assert!(line.contains("graphprof.toml: line 2"), "{line}");
        assert!(line.trim_end().ends_with(what), "{path}: {line}");
    }
}

#[test]
fn a_baseline_naming_a_fifo_or_a_device_says_what_it_is() {
    let dir = project();
    mkfifo(&dir.path().join("fifo.json"));
    let text = fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    for (path, what) in [
        ("fifo.json", "is a FIFO, not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
    ] {
        let listed = text.replace("\"path\": \"g.json\"", &format!("\"path\": \"{path}\""));
        assert_ne!(listed, text);
        fs::write(dir.path().join("listed.json"), listed).unwrap();
        let line = refused(dir.path(), &["--baseline", "listed.json"]);
        assert!(
            line.contains(&format!("listed.json: names graph {path}, which {what};")),
            "{line}"
        );
        // Updating without graph arguments drops it, with a note saying what it is.
        let output = graphprof()
            .current_dir(dir.path())
            .args(["check", "--baseline", "listed.json", "--update-baseline"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("note: {path} {what}; it is dropped")),
            "{stderr}"
        );
    }
}

/// The files themselves, not the graphs they name: a device or a folder given as the baseline, the
/// budget, a diff side, `render`'s samples or a calibration file is refused at once (reading
/// `/dev/zero` never ended), one line, exit 2; a process substitution (a pipe) is still read.
#[test]
fn an_input_file_that_is_a_device_or_a_folder_is_refused_at_once() {
    let dir = project();
    // An absolute path: a budget's paths are anchored at its folder, /dev/fd for a pipe.
    let graph = dir.path().join("g.json");
    fs::write(
        dir.path().join("graphprof.toml"),
        format!(
            "[[graph]]\npath = \"{}\"\nmax_duplicated_bytes = 1000000000\n",
            graph.display()
        ),
    )
    .unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["check", "g.json", "--baseline", "/dev/zero"],
            "/dev/zero: is a character device",
        ),
        (
            &[
                "check",
                "--baseline",
                "baseline.json",
                "--budget",
                "/dev/zero",
            ],
            "/dev/zero: is a character device",
        ),
        (&["check", "g.json", "--baseline", "."], ".: is a folder"),
        (
            &["diff", "/dev/zero", "g.json"],
            "/dev/zero: is a character device",
        ),
        (
            &["render", "/dev/zero", "-o", "out"],
            "/dev/zero: is a character device",
        ),
        (
            &[
                "sample",
                "--task-overhead-file",
                "/dev/zero",
                "--chunks",
                "4",
            ],
            "/dev/zero: is a character device",
        ),
    ];
    for (args, want) in cases {
        let output = graphprof()
            .current_dir(dir.path())
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{want}, not a regular file")),
            "{args:?}: {stderr}"
        );
    }
    // A pipe is read: the baseline and the budget through process substitution.
    let output = std::process::Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(
            "\"$0\" check g.json --baseline <(cat baseline.json) --budget <(cat graphprof.toml) -q",
        )
        .arg(assert_cmd::cargo::cargo_bin("graphprof"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn analyze_reads_a_process_substitution() {
    let graph = fixture("hand-written.json");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "\"$0\" analyze <(cat '{}') --format json",
            graph.display()
        ))
        .arg(assert_cmd::cargo::cargo_bin("graphprof"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let analysis: graphprof::analyze::Analysis = serde_json::from_slice(&output.stdout).unwrap();
    assert!(analysis.graph.tasks > 0);
}

#[test]
fn a_long_path_in_a_budget_or_baseline_is_quoted_bounded() {
    let dir = project();
    let long = "p".repeat(1_000_000);
    fs::write(
        dir.path().join("graphprof.toml"),
        format!("[[graph]]\npath = \"{long}\"\n"),
    )
    .unwrap();
    let line = refused(
        dir.path(),
        &["--baseline", "baseline.json", "--budget", "graphprof.toml"],
    );
    assert!(line.len() < 1_000, "a line of {} bytes", line.len());
    assert!(line.contains("... (1,000,000 bytes)"), "{line}");
    let text = fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    let listed = text.replace("\"path\": \"g.json\"", &format!("\"path\": \"{long}\""));
    fs::write(dir.path().join("listed.json"), listed).unwrap();
    let line = refused(dir.path(), &["--baseline", "listed.json"]);
    assert!(line.len() < 1_000, "a line of {} bytes", line.len());
    assert!(line.contains("... (1,000,000 bytes), which"), "{line}");
}
