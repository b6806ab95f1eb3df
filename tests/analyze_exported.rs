//! What an exported graph's own fields change in the analysis (fixtures/analyze/described.json):
//! the wire counts each task's share of the message and only the payloads sent in it, held
//! memory uses the measured in-memory sizes, equal distinct objects are told apart from one
//! object copied, and the findings name what to fix.

mod common;

use common::{analyze_json, fixture};
use graphprof::analyze::BlameKind;
use graphprof::analyze::duplication::DuplicateKind;

fn described() -> std::path::PathBuf {
    fixture("analyze/described.json")
}

#[test]
fn wire_counts_shares_and_sent_payloads_only() {
    let analysis = analyze_json(&described(), &[]);
    // wire_bytes: 4 x 1000 (from-array) + 4 x 10 (f) + 2 x 40 (g: spec_bytes);
    // payloads sent: the dict once (one object), the two equal lists (two objects);
    // the four ndarray slices are not sent (the scheduler makes them).
    assert_eq!(analysis.sizes.wire_bytes, 4000 + 40 + 80 + 1000 + 2 * 500);
    // materialised: every spec_bytes and every payload copy.
    assert_eq!(
        analysis.sizes.materialised_bytes,
        (4 * 50 + 4 * 60 + 2 * 40) + 4 * 1000 + 4 * 1000 + 2 * 500
    );
}

#[test]
fn held_memory_uses_in_memory_sizes_and_says_so() {
    let analysis = analyze_json(&described(), &[]);
    let given = &analysis.strategies[0];
    assert_eq!(given.strategy, "as-given");
    // Held leaves: four f tasks with a 19,000-byte dict each, two g tasks with a list whose
    // in-memory size is unknown (its 500-byte pickle stands in).
    // Plus Dask's per-task bookkeeping for each of the six held results.
    let bookkeeping = 6 * graphprof::graph::held::TASK_OVERHEAD_BYTES;
    // Each f task's worker also keeps the run_spec of the from-array task it ran with it: its
    // spec and its 900-byte slice (a released ancestor kept with a held result).
    let ancestors = 4 * (50 + 900);
    assert_eq!(given.held_parts.kept_ancestor_copies_bytes, ancestors);
    assert_eq!(
        given.held_bytes,
        4 * (60 + 19_000) + 2 * (40 + 500) + bookkeeping + ancestors
    );
    assert_eq!(given.held_unknown_results, 6);
    assert_eq!(analysis.payload_memory_basis, "mixed");
    // Delayed (built in one task, a graph that is not the exporter's) takes the four dict copies
    // out of the held tasks and leaves its builder's run_spec (64 B); the copies shipped to the
    // four workers reached are freed, and the allocator keeps their heap (a container: 19x its
    // pickle), so on four workers it saves no RSS.
    let delayed = &analysis.strategies[2];
    assert_eq!(
        delayed.held_parts.objects_bytes(),
        given.held_parts.objects_bytes() - 4 * 19_000 + 64
    );
    assert_eq!(
        delayed.held_parts.allocator_kept_bytes,
        given.held_parts.allocator_kept_bytes + 4 * 19_000
    );
    assert_eq!(delayed.saved_held_bytes, -64);
}

#[test]
fn copied_objects_and_equal_objects_are_told_apart() {
    let analysis = analyze_json(&described(), &[]);
    assert_eq!(analysis.duplicates.len(), 2);
    let dict = &analysis.duplicates[0];
    assert_eq!(dict.kind, DuplicateKind::Copied);
    assert_eq!(dict.in_memory_bytes, Some(19_000));
    assert_eq!(dict.held_wasted_bytes, 3 * 19_000);
    assert_eq!(dict.variable.as_deref(), Some("table in pipeline.py"));
    assert_eq!(dict.role.as_deref(), Some("argument"));
    let lists = &analysis.duplicates[1];
    assert_eq!(lists.kind, DuplicateKind::EqualObjects);
    assert_eq!(lists.objects, 2);
    // Only the copied object counts as duplicated.
    assert_eq!(analysis.duplicated_bytes, 3 * 1000);
}

#[test]
fn findings_rank_by_cost_and_the_warning_blames_the_input_data() {
    let analysis = analyze_json(&described(), &["--warning-threshold", "1KiB"]);
    let first = &analysis.findings[0];
    assert_eq!(first.kind, BlameKind::Copied);
    assert!(first.fix.contains("client.scatter"), "{}", first.fix);
    let warning = &analysis.warning;
    assert!(warning.fires);
    let blame = warning.blame.as_ref().expect("a blame");
    assert_eq!(blame.kind, BlameKind::EmbeddedInput);
    assert_eq!(blame.copies, 4);
    assert_eq!(blame.wire_bytes, 4000);
    assert!(
        warning.explanation.contains("input data embedded"),
        "{}",
        warning.explanation
    );
    // At Dask's default threshold nothing here is worth acting on.
    let quiet = analyze_json(&described(), &[]);
    assert!(quiet.findings.is_empty(), "{:#?}", quiet.findings);
    assert!(!quiet.warning.silent_growth);
}

#[test]
fn a_rewrite_keeps_the_exported_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("given.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(["rewrite", "--strategy", "inline", "-o"])
        .arg(&out)
        .arg(described())
        .status()
        .unwrap();
    assert!(status.success());
    let original = analyze_json(&described(), &[]);
    let rewritten = analyze_json(&out, &[]);
    assert_eq!(rewritten.sizes, original.sizes);
    assert_eq!(
        rewritten.duplicates[0].variable,
        original.duplicates[0].variable
    );
}

#[test]
fn a_delayed_rewrite_of_a_described_graph_loads_again() {
    // The builders replace the duplicated payloads: their content descriptions must go too,
    // else the loader refuses a description of a digest nothing uses.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("delayed.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(["rewrite", "--strategy", "delayed", "-o"])
        .arg(&out)
        .arg(described())
        .status()
        .unwrap();
    assert!(status.success());
    let rewritten = analyze_json(&out, &[]);
    assert!(rewritten.duplicates.is_empty());
}

/// 20 tasks embedding one object of 300 KB pickled (6 MB materialised, under Dask's 10 MB) that
/// takes `in_memory` bytes once unpickled.
fn small_pickle_large_object(dir: &std::path::Path, in_memory: u64) -> std::path::PathBuf {
    let digest = format!("sha256:{}", "d".repeat(64));
    let tasks: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            serde_json::json!({
                "key": ["clean-aaaa", i],
                "function": "clean",
                "args": [{"payload": {"size_bytes": 300_000, "digest": digest,
                                      "object_id": 1, "type": "set", "sent": i == 0}}],
                "spec_bytes": 100,
            })
        })
        .collect();
    let graph = serde_json::json!({
        "format": "graphprof-graph",
        "version": 1,
        "name": "a set of strings: small pickle, large in memory",
        "contents": [{"digest": digest, "in_memory_bytes": in_memory, "role": "argument",
                      "description": "set of 40,000 items, an argument of clean"}],
        "tasks": tasks,
    });
    let path = dir.join(format!("set-{in_memory}.json"));
    let bytes = serde_json::to_vec(&graph).expect("the graph serialises");
    std::fs::write(&path, bytes).expect("the graph file is written");
    path
}

#[test]
fn copies_that_pass_the_threshold_in_memory_are_silent_growth_though_their_pickles_do_not() {
    let dir = tempfile::tempdir().unwrap();
    // 19 extra copies of 4 MB in memory: 76 MB held, though 6 MB of pickles.
    let large = analyze_json(&small_pickle_large_object(dir.path(), 4_000_000), &[]);
    assert!(large.sizes.materialised_bytes < 10_000_000);
    let warning = &large.warning;
    assert!(
        !warning.fires && warning.silent_growth,
        "{}",
        warning.explanation
    );
    let blame = warning.blame.as_ref().expect("the set is blamed");
    assert_eq!(blame.kind, BlameKind::Copied);
    assert_eq!(blame.held_wasted_bytes, 19 * 4_000_000);
    assert!(
        warning.explanation.contains("in memory"),
        "{}",
        warning.explanation
    );
    // The same pickles unpacking to their own size: 5.7 MB held, nothing to report.
    let small = analyze_json(&small_pickle_large_object(dir.path(), 300_000), &[]);
    assert!(
        !small.warning.silent_growth,
        "{}",
        small.warning.explanation
    );
    assert!(small.warning.blame.is_none());
}
