//! Every bad-input fixture under `fixtures/bad/` (and a few paths that cannot be fixtures): exit
//! code 2, exactly one line on stderr naming the file, the place (line and column, or the key) and
//! the specific reason, and never a panic or a backtrace, even with `RUST_BACKTRACE=1`.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, fixtures, graphprof};
use std::collections::BTreeSet;
use std::path::Path;

/// Where the message must point.
#[derive(Debug, Clone, Copy)]
enum At {
    /// `line L, column C`, with this line.
    Line(usize),
    /// `key K`.
    Key(&'static str),
}

/// Each bad fixture, where its problem is, and words the reason must contain.
const CASES: &[(&str, At, &[&str])] = &[
    ("malformed-json.json", At::Line(2), &["trailing comma"]),
    (
        "duplicate-top-level-field.json",
        At::Line(2),
        &["duplicate field `tasks`"],
    ),
    ("truncated.json", At::Line(2), &["truncated file", "EOF"]),
    ("empty-file.json", At::Line(1), &["truncated file"]),
    (
        "size-is-string.json",
        At::Line(2),
        &["invalid type", "\"240KiB\"", "u64"],
    ),
    (
        "key-is-number.json",
        At::Line(2),
        &["invalid type", "integer `12`", "a key"],
    ),
    (
        "unknown-top-field.json",
        At::Line(1),
        &["unknown field `taskz`"],
    ),
    (
        "unknown-task-field.json",
        At::Line(2),
        &["unknown field `retries`"],
    ),
    (
        "wrong-format.json",
        At::Line(1),
        &["\"dask-graph\"", "graphprof-graph"],
    ),
    ("version-2.json", At::Line(1), &["unknown format version 2"]),
    (
        "missing-tasks.json",
        At::Line(1),
        &["missing field `tasks`"],
    ),
    (
        "missing-function.json",
        At::Line(2),
        &["missing field `function`"],
    ),
    ("duplicate-key.json", At::Key("a"), &["duplicate key"]),
    ("data-dup-task-key.json", At::Key("a"), &["duplicate key"]),
    (
        "missing-dependency.json",
        At::Key("('x-1', 0)"),
        &["depends on missing key ('nowhere-1', 3)"],
    ),
    ("cycle-2.json", At::Key("y"), &["cycle through", "x", "y"]),
    (
        "cycle-3.json",
        At::Key("r"),
        &["cycle through", "p", "q", "r"],
    ),
    ("self-loop.json", At::Key("loop"), &["cycle through loop"]),
    ("negative-size.json", At::Line(2), &["-8000", "u64"]),
    (
        "size-over-1tib.json",
        At::Key("a"),
        &["1099511627777", "1 TiB"],
    ),
    (
        "u64-overflow.json",
        At::Line(2),
        &[
            "1.8446744073709552e+19",
            "u64",
            "a whole number from 0 to 18446744073709551615",
        ],
    ),
    ("float-size.json", At::Line(2), &["1e+30", "u64"]),
    ("bad-base64.json", At::Key("a"), &["bad base64"]),
    (
        "digest-mismatch.json",
        At::Key("a"),
        &["digest mismatch", "blake3:ea8f163db386"],
    ),
    (
        "digest-short.json",
        At::Key("a"),
        &["must have 64 hex digits, not 6"],
    ),
    (
        "digest-unknown-algo.json",
        At::Key("a"),
        &["'md5:", "'blake3:HEX' or 'sha256:HEX'"],
    ),
    ("digest-not-hex.json", At::Key("a"), &["not hexadecimal"]),
    (
        "size-contradicts-bytes.json",
        At::Key("a"),
        &["size_bytes is 6", "holds 5 bytes"],
    ),
    (
        "digest-two-sizes.json",
        At::Key("b"),
        &["size 10 before and 11 here"],
    ),
    ("empty-graph.json", At::Line(1), &["no tasks"]),
    ("only-data.json", At::Line(1), &["no tasks"]),
    (
        "payload-without-identity.json",
        At::Key("a"),
        &["needs a digest or bytes_b64"],
    ),
    (
        "payload-digest-without-size.json",
        At::Key("a"),
        &["needs size_bytes"],
    ),
    (
        "empty-tuple-key.json",
        At::Line(2),
        &["tuple key needs a name"],
    ),
    (
        "tuple-key-nested.json",
        At::Line(2),
        &["integer or a string"],
    ),
    (
        "top-level-array.json",
        At::Line(1),
        &["invalid type: sequence", "graphprof graph"],
    ),
    (
        "trailing-garbage.json",
        At::Line(4),
        &["trailing characters"],
    ),
    ("measured-not-number.json", At::Line(1), &["\"big\"", "u64"]),
    (
        "object-id-on-data.json",
        At::Line(1),
        &["unknown field `object_id`"],
    ),
    ("not-utf8.json", At::Line(1), &["unicode"]),
    (
        "arg-both-ref-and-payload.json",
        At::Line(3),
        &["exactly one of", "ref", "payload"],
    ),
];

/// Runs `analyze` on a path that must be refused; returns the single stderr line.
fn refused(path: &Path) -> String {
    let output = graphprof()
        .arg("analyze")
        .arg(path)
        .output()
        .expect("graphprof runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}: expected exit code 2, stderr: {stderr}",
        path.display()
    );
    assert!(
        output.stdout.is_empty(),
        "{}: wrote a report",
        path.display()
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{}: stderr must be exactly one line:\n{stderr}",
        path.display()
    );
    assert!(stderr.ends_with('\n'), "{stderr}");
    for forbidden in ["panicked", "backtrace", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(forbidden), "{stderr}");
    }
    assert!(
        stderr.starts_with(&format!("graphprof: error: {}: ", path.display())),
        "the message must name the file first: {stderr}"
    );
    stderr.trim_end().to_string()
}

#[test]
fn every_bad_fixture_is_refused_with_one_line_naming_file_place_and_reason() {
    let mut failures = Vec::new();
    for &(name, at, reasons) in CASES {
        let path = fixture(&format!("bad/{name}"));
        let line = refused(&path);
        let rest = &line[format!("graphprof: error: {}: ", path.display()).len()..];
        let place_ok = match at {
            At::Line(n) => {
                rest.starts_with(&format!("line {n}, column "))
                    // a key problem found while streaming also names the key after the position
                    && rest.split_once(": ").is_some()
            }
            At::Key(key) => {
                rest.starts_with(&format!("key {key}: "))
                    || rest.contains(&format!(": key {key}: "))
            }
        };
        if !place_ok {
            failures.push(format!("{name}: expected place {at:?} in: {line}"));
        }
        for reason in reasons {
            if !rest.contains(reason) {
                failures.push(format!("{name}: expected reason {reason:?} in: {line}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_file_in_fixtures_bad_has_a_case_and_there_are_at_least_20() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let cased: BTreeSet<String> = CASES.iter().map(|(name, ..)| name.to_string()).collect();
    assert_eq!(
        on_disk, cased,
        "fixtures/bad and CASES must list the same files"
    );
    assert!(cased.len() >= 20, "only {} bad fixtures", cased.len());
}

#[test]
fn a_missing_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-graph.json");
    let line = refused(&path);
    assert!(line.contains("cannot read"), "{line}");
    assert!(line.contains("No such file"), "{line}");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let line = refused(dir.path());
    assert!(line.contains("cannot read"), "{line}");
    assert!(line.contains("directory"), "{line}");
}

#[test]
fn an_unreadable_file_is_refused_unless_we_are_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.json");
    std::fs::copy(fixture("hand-written.json"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        // Root (CAP_DAC_OVERRIDE) ignores file permissions, so there is no unreadable regular
        // file to test with; the missing-file and directory cases cover the same error path.
        eprintln!("skipped: this process can open a mode-000 file (running as root)");
        return;
    }
    let line = refused(&path);
    assert!(line.contains("cannot read"), "{line}");
    assert!(line.contains("Permission denied"), "{line}");
}

#[test]
fn an_unreadable_stream_is_refused() {
    // A path that opens but cannot be read as a file, testable even as root: /proc/self/mem
    // fails with EIO on the first read at offset 0.
    let path = Path::new("/proc/self/mem");
    if !path.exists() {
        return;
    }
    let line = refused(path);
    assert!(line.contains("cannot read"), "{line}");
}

/// A string of 2,000,000 bytes from the file (a key, a field name, a value) is quoted in the error
/// line by its first 200 characters and its length, wherever the error names it: the key of the
/// problem, the missing dependency, the value serde_json refuses, the unknown field.
#[test]
fn long_strings_from_the_file_are_quoted_by_200_characters_and_their_length() {
    let long = "k".repeat(2_000_000);
    let head = "k".repeat(200);
    let quoted = format!("{head}... (2,000,000 bytes)");
    let graph = |tasks: String| {
        format!(r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{tasks}]}}"#)
    };
    let cases = [
        (
            "missing dependency",
            graph(format!(
                r#"{{"key": "{long}", "function": "f", "deps": ["{long}x"]}}"#
            )),
            format!("key {quoted}: depends on missing key {head}... (2,000,001 bytes)"),
        ),
        (
            "duplicate key",
            graph(format!(
                r#"{{"key": "{long}", "function": "f"}}, {{"key": "{long}", "function": "f"}}"#
            )),
            format!("key {quoted}: duplicate key"),
        ),
        (
            "string size",
            graph(format!(
                r#"{{"key": "a", "function": "f", "output_bytes": "{long}"}}"#
            )),
            format!("invalid type: string \"{quoted}\", expected"),
        ),
        (
            "unknown field",
            graph(format!(r#"{{"key": "a", "function": "f", "{long}": 1}}"#)),
            format!("unknown field `{quoted}`"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, expected) in cases {
        let path = dir.path().join("long.json");
        std::fs::write(&path, text).unwrap();
        let line = refused(&path);
        assert!(line.len() < 1_000, "{what}: a line of {} bytes", line.len());
        assert!(line.contains(&expected), "{what}: {line}");
    }
}
