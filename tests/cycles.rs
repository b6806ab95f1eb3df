//! Cycles of any length are refused with exit 2 and one line naming the cycle, never a stack
//! overflow: the pass that names the cycle walks iteratively.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::graphprof;
use std::fmt::Write as _;
use std::path::Path;

fn write_graph(path: &Path, tasks: impl Iterator<Item = String>) {
    let mut text = String::from("{\"format\": \"graphprof-graph\", \"version\": 1, \"tasks\": [\n");
    for (i, task) in tasks.enumerate() {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&task);
    }
    text.push_str("\n]}\n");
    std::fs::write(path, text).unwrap();
}

/// Runs `analyze` on the file and returns stderr, after checking exit 2 and a single line.
fn refused(path: &Path) -> String {
    let output = graphprof().arg("analyze").arg(path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains("overflow") && !stderr.contains("panicked"),
        "{stderr}"
    );
    stderr
}

#[test]
fn a_cycle_through_a_million_tasks_is_named_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cycle.json");
    let n = 1_000_000u32;
    write_graph(
        &path,
        (0..n).map(|i| {
            let mut task = String::new();
            let dep = (i + n - 1) % n;
            write!(
                task,
                "{{\"key\": \"t{i}\", \"function\": \"f\", \"deps\": [\"t{dep}\"]}}"
            )
            .unwrap();
            task
        }),
    );
    let stderr = refused(&path);
    assert!(stderr.contains("cycle through t"), "{stderr}");
    assert!(stderr.contains("and 999994 more"), "{stderr}");
}

#[test]
fn a_self_loop_under_a_deep_chain_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.json");
    let depth = 300_000u32;
    let chain = (0..depth).map(|i| {
        if i == 0 {
            "{\"key\": \"c0\", \"function\": \"f\"}".to_string()
        } else {
            format!(
                "{{\"key\": \"c{i}\", \"function\": \"f\", \"deps\": [\"c{}\"]}}",
                i - 1
            )
        }
    });
    let looped = std::iter::once(format!(
        "{{\"key\": \"loop\", \"function\": \"f\", \"deps\": [\"c{}\", \"loop\"]}}",
        depth - 1
    ));
    write_graph(&path, chain.chain(looped));
    let stderr = refused(&path);
    assert!(stderr.contains("key loop: cycle through loop"), "{stderr}");
}

/// The node a cycle is named from is the one petgraph's `toposort` reports on the graph as the
/// loader built it (each task's dependencies added in key order): `b`, not `c`, here. Any other
/// order of the edges handed to petgraph names `c`.
#[test]
fn a_cycle_is_named_from_the_node_petgraph_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-ways.json");
    write_graph(
        &path,
        [
            r#"{"key": "a", "function": "f", "args": [{"ref": "b"}, {"ref": "c"}]}"#,
            r#"{"key": "b", "function": "f", "args": [{"ref": "a"}]}"#,
            r#"{"key": "c", "function": "f", "args": [{"ref": "a"}]}"#,
        ]
        .into_iter()
        .map(str::to_string),
    );
    let stderr = refused(&path);
    assert!(
        stderr.trim_end().ends_with("key b: cycle through b -> a"),
        "{stderr}"
    );
}
