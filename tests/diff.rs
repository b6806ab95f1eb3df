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
    // Matched by layer and index, not by key: the generated graph's tokens differ, but only
    // the fourth chunk's tasks and the final sum are gone.
    assert_eq!((diff.tasks_added, diff.tasks_removed), (0, 3), "{diff:?}");
    assert!(
        diff.removed_keys.iter().any(|k| k.starts_with("sum")),
        "{:?}",
        diff.removed_keys
    );
    assert!(diff.removed_keys.iter().any(|k| k.ends_with("[3]")));
}

#[test]
fn two_exports_of_one_program_match_task_by_task_whatever_their_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for seed in ["1", "2"] {
        let path = dir.path().join(format!("seed-{seed}.json"));
        graphprof()
            .args([
                "generate",
                "map-blocks",
                "--chunks",
                "16",
                "--seed",
                seed,
                "-o",
            ])
            .arg(&path)
            .assert()
            .code(0);
        paths.push(path);
    }
    let a = std::fs::read_to_string(&paths[0]).unwrap();
    let b = std::fs::read_to_string(&paths[1]).unwrap();
    assert_ne!(a, b, "the seeds give other tokens");
    let out = graphprof()
        .arg("diff")
        .args(&paths)
        .args(["--format", "json"])
        .assert()
        .code(0);
    let diff: GraphDiff = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(diff.tasks_by_key);
    assert_eq!((diff.tasks_added, diff.tasks_removed), (0, 0), "{diff:?}");
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

/// A graph whose `format` comes last, after a `meta` that says "graphprof-analysis" and more
/// than 64 KiB of name: still a graph, told by its top-level fields.
#[test]
fn a_graph_is_told_by_its_top_level_format_wherever_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("graphs/map-blocks-inline.json")).unwrap();
    let mut graph: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = graph.as_object_mut().unwrap();
    object.remove("format");
    object.remove("version");
    object.remove("meta");
    object.insert("name".into(), "n".repeat(70 * 1024).into());
    let rest = serde_json::to_string(&graph).unwrap();
    let late = format!(
        "{{\"meta\": {{\"schema\": \"graphprof-analysis\"}}, {}, \"version\": 1, \"format\": \"graphprof-graph\"}}",
        &rest[1..rest.len() - 1]
    );
    let path = dir.path().join("late.json");
    std::fs::write(&path, late).unwrap();
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .arg(&path)
        .args(["--format", "json"])
        .assert()
        .code(0);
    let diff: GraphDiff = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(diff.new_kind, InputKind::Graph);
    assert!(diff.tasks_by_key);
    assert_eq!((diff.tasks_added, diff.tasks_removed), (0, 0));
}

/// Analysis reports of another version or with a field this version does not write, and files of
/// another schema: exit 2, one line naming the file.
#[test]
fn reports_of_another_version_or_with_unknown_fields_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    graphprof()
        .arg("analyze")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .args(["--format", "json", "-o"])
        .arg(&good)
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 4] = [
        ("version", |r| r["version"] = 1.into(), "version 1"),
        ("top-level field", |r| r["colour"] = "blue".into(), "colour"),
        (
            "nested field",
            |r| r["graph"]["colour"] = "blue".into(),
            "graph.colour",
        ),
        (
            "schema",
            |r| r["schema"] = "graphprof-baseline".into(),
            "graphprof-baseline",
        ),
    ];
    for (what, edit, expected) in cases {
        let mut bad = report.clone();
        edit(&mut bad);
        let path = dir
            .path()
            .join(format!("bad-{}.json", what.replace(' ', "-")));
        std::fs::write(&path, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
        let out = graphprof()
            .arg("diff")
            .arg(&good)
            .arg(&path)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(expected),
            "{what}: {stderr}"
        );
    }
}

/// Names, labels and keys from the graphs carry no HTML into the diff's Markdown, and `|` does not
/// split a table cell.
#[test]
fn diff_markdown_escapes_names_labels_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = std::fs::read_to_string(fixture("regressed/map-blocks-inline.json"))
        .unwrap()
        .replace("LookupTable", "<img src=x onerror=alert(1)>|T")
        .replace("f-77ab", "<i>f|g-77ab");
    let path = dir.path().join("<b>new|.json");
    std::fs::write(&path, hostile).unwrap();
    let out = graphprof()
        .arg("diff")
        .arg(fixture("graphs/map-blocks-inline.json"))
        .arg(&path)
        .args(["--format", "markdown"])
        .assert()
        .code(0);
    let markdown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for raw in ["<img", "<i>"] {
        assert!(!markdown.contains(raw), "{raw}: {markdown}");
    }
    assert!(
        markdown.contains("&lt;img src=x onerror=alert(1)&gt;&#124;T"),
        "{markdown}"
    );
    assert!(markdown.contains("&lt;i&gt;f&#124;g"), "{markdown}");
    // Within each table, every row has as many cell separators (unescaped `|`) as the header.
    let mut tables: Vec<Vec<usize>> = Vec::new();
    let mut previous_was_row = false;
    for line in markdown.lines() {
        let is_row = line.starts_with('|');
        if is_row {
            let separators = line
                .char_indices()
                .filter(|&(i, c)| c == '|' && (i == 0 || &line[i - 1..i] != "\\"))
                .count();
            if !previous_was_row {
                tables.push(Vec::new());
            }
            tables.last_mut().unwrap().push(separators);
        }
        previous_was_row = is_row;
    }
    assert!(tables.len() >= 3, "{markdown}");
    for table in tables {
        assert!(
            table.iter().all(|&n| n == table[0]),
            "{table:?}: {markdown}"
        );
    }
}
