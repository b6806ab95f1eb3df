//! `graphprof diff` end to end: two graphs (tasks by key) and two analysis reports (by count).

// Test helpers outside #[test] functions unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use graphprof::check::diff::{GraphDiff, InputKind};
use std::path::PathBuf;

const NEW_DIGEST: &str = "sha256:aa69b96c83b5f2bde07c0b54b1ba97fce4019118e36c3d8a3d1a827388d87e9a";

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check")
        .join(path)
}

fn graphprof() -> Command {
    let mut cmd = Command::cargo_bin("graphprof").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

#[test]
fn diff_of_two_graphs_names_the_new_payload_and_the_grown_layer() {
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .arg(fixture("regressed/map-blocks-inline.json"))
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("New duplicated payloads") && text.contains(NEW_DIGEST),
        "{text}"
    );
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .arg(fixture("regressed/map-blocks-inline.json"))
        .args(["--format", "json"])
        .assert()
        .code(0);
    let diff: GraphDiff = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(diff.old_kind, InputKind::Graph);
    assert!(diff.tasks_by_key);
    assert_eq!(diff.changes.new_payloads.len(), 1);
    assert_eq!(diff.changes.new_payloads[0].digest, NEW_DIGEST);
    assert_eq!(
        diff.changes.new_payloads[0].type_name.as_deref(),
        Some("LookupTable")
    );
    assert_eq!(diff.changes.layers[0].name, "f");
    assert_eq!(diff.changes.layers[0].materialised_delta_bytes(), 4 * 2048);
}

#[test]
fn diff_of_graphs_lists_tasks_added_and_removed_by_key() {
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-scatter.json"))
        .arg(fixture("graphs/map-blocks-inline.json"))
        .args(["--format", "json"])
        .assert()
        .code(0);
    let diff: GraphDiff = serde_json::from_slice(&out.get_output().stdout).unwrap();
    // Same keys: nothing added or removed, but the inline payload is new.
    assert_eq!((diff.tasks_added, diff.tasks_removed), (0, 0));
    assert_eq!(diff.changes.new_payloads[0].copies_now, 4);
    let generated = tempfile::tempdir().unwrap();
    let bigger = generated.path().join("g.json");
    graphprof()
        .args([
            "generate",
            "map-blocks",
            "--chunks",
            "3",
            "--payload-bytes",
            "1KiB",
            "-o",
        ])
        .arg(&bigger)
        .assert()
        .code(0);
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .arg(&bigger)
        .args(["--format", "json"])
        .assert()
        .code(0);
    let diff: GraphDiff = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!((diff.tasks_added, diff.tasks_removed), (6, 9));
    assert!(
        diff.removed_keys.contains(&"'sum-9c1d'".to_string())
            || diff.removed_keys.iter().any(|k| k.contains("sum-9c1d")),
        "{:?}",
        diff.removed_keys
    );
}

#[test]
fn diff_of_two_analysis_reports_compares_counts_and_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for (name, graph) in [
        ("old", "graphs/map-blocks-inline.json"),
        ("new", "regressed/map-blocks-inline.json"),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        graphprof()
            .arg("analyze")
            .arg(fixture(graph))
            .args(["--format", "json", "-o"])
            .arg(&path)
            .assert()
            .code(0);
        reports.push(path);
    }
    let out = graphprof()
        .arg("diff")
        .args(&reports)
        .args(["--format", "markdown"])
        .assert()
        .code(0);
    let markdown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(markdown.contains(&format!("`{NEW_DIGEST}`")), "{markdown}");
    assert!(markdown.contains("by count"), "{markdown}");
    let out = graphprof()
        .arg("diff")
        .arg(&reports[0])
        .arg(dir.path().join("nope.json"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("nope.json"), "{stderr}");
}
