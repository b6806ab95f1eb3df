//! The live guard's model and `graphprof analyze` are one model: every vector of
//! `fixtures/guard/vectors.json` (which `python/tests/test_guard_model.py` checks against the
//! guard) is built into a graph file here and analysed by the real binary, whose duplicated,
//! materialised and held figures must be the expected ones.

#![allow(clippy::unwrap_used)]

mod common;

use common::{analyze_json, fixture};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    contents: Vec<Content>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Content {
    size_bytes: u64,
    in_memory_bytes: Option<u64>,
    copies: u64,
    objects: u64,
    held_copies: u64,
}

#[derive(Deserialize)]
struct Expected {
    contents: Vec<ExpectedContent>,
    duplicated_bytes: u64,
    materialised_bytes: u64,
    held_bytes: u64,
}

#[derive(Deserialize)]
struct ExpectedContent {
    kind: String,
    copies: u64,
    duplicated_bytes: u64,
    materialised_bytes: u64,
    held_bytes: u64,
    held_duplicated_bytes: u64,
}

fn digest(index: usize) -> String {
    format!("blake3:{:064x}", index + 1)
}

/// A graph file for a vector: one task per copy, each embedding one payload (copy `j` of a
/// content carries object `j % objects`); the copies beyond `held_copies` feed one sink task, so
/// that they are released once it ran. Specs and results weigh nothing, so that the totals are
/// the payloads' alone.
fn graph_of(vector: &Vector) -> Value {
    let mut tasks = Vec::new();
    let mut released = Vec::new();
    let mut contents = Vec::new();
    let mut object_base = 0u64;
    for (index, content) in vector.contents.iter().enumerate() {
        for copy in 0..content.copies {
            let key = json!([format!("t{index}"), copy]);
            tasks.push(json!({
                "key": key.clone(),
                "function": "f",
                "spec_bytes": 0,
                "output_bytes": 0,
                "args": [{"payload": {
                    "size_bytes": content.size_bytes,
                    "digest": digest(index),
                    "object_id": object_base + copy % content.objects,
                    "type": "Thing",
                }}],
            }));
            if copy >= content.held_copies {
                released.push(json!({"ref": key}));
            }
        }
        object_base += content.objects;
        if let Some(in_memory) = content.in_memory_bytes {
            contents.push(json!({"digest": digest(index), "in_memory_bytes": in_memory}));
        }
    }
    if !released.is_empty() {
        tasks.push(json!({
            "key": "sink", "function": "sink", "spec_bytes": 0, "output_bytes": 0,
            "args": released,
        }));
    }
    json!({"format": "graphprof-graph", "version": 1, "name": vector.name,
           "tasks": tasks, "contents": contents})
}

#[test]
fn analyze_agrees_with_the_guard_vectors() {
    let text = std::fs::read_to_string(fixture("guard/vectors.json")).unwrap();
    let vectors: Vectors = serde_json::from_str(&text).unwrap();
    assert!(vectors.vectors.len() >= 4, "the vectors are all there");
    let dir = tempfile::tempdir().unwrap();
    for (n, vector) in vectors.vectors.iter().enumerate() {
        let path = dir.path().join(format!("vector-{n}.json"));
        std::fs::write(&path, serde_json::to_vec(&graph_of(vector)).unwrap()).unwrap();
        // The guard cannot know which worker runs what: its held figure is the upper end, every
        // task on one worker, where a worker keeps the run_spec of every ancestor it ran.
        let analysis = analyze_json(&path, &["--workers", "1"]);
        let name = &vector.name;
        assert_eq!(
            analysis.duplicated_bytes, vector.expected.duplicated_bytes,
            "{name}: duplicated"
        );
        assert_eq!(
            analysis.sizes.materialised_bytes, vector.expected.materialised_bytes,
            "{name}: materialised"
        );
        let as_given = &analysis.strategies[0];
        assert_eq!(as_given.strategy, "as-given");
        // analyze's held adds Dask's per-task bookkeeping for every held result (each held copy's
        // task, and the sink); the vectors are about what the graph embeds.
        let held_results = vector.contents.iter().map(|c| c.held_copies).sum::<u64>()
            + u64::from(vector.contents.iter().any(|c| c.copies > c.held_copies));
        let bookkeeping = held_results * graphprof::graph::held::TASK_OVERHEAD_BYTES;
        assert_eq!(
            as_given.held_bytes,
            vector.expected.held_bytes + bookkeeping,
            "{name}: held"
        );
        for (index, expected) in vector.expected.contents.iter().enumerate() {
            let found = analysis
                .duplicates
                .iter()
                .find(|d| d.digest == digest(index))
                .unwrap_or_else(|| panic!("{name}: content {index} is listed as duplicated"));
            let kind = serde_json::to_value(found.kind).unwrap();
            assert_eq!(kind, json!(expected.kind), "{name}: content {index} kind");
            assert_eq!(found.copies, expected.copies, "{name}: content {index}");
            let counted = if found.is_copied() {
                found.wasted_bytes
            } else {
                0
            };
            assert_eq!(counted, expected.duplicated_bytes, "{name}: {index} dup");
            assert_eq!(
                found.copies * found.size_bytes,
                expected.materialised_bytes,
                "{name}: content {index} materialised"
            );
            let held_duplicated = if found.is_copied() {
                found.held_wasted_bytes
            } else {
                0
            };
            assert_eq!(
                held_duplicated, expected.held_duplicated_bytes,
                "{name}: content {index} held duplicated"
            );
            // Held per content: the whole held figure when it is the vector's only content.
            if vector.contents.len() == 1 {
                assert_eq!(
                    as_given.held_bytes,
                    expected.held_bytes + bookkeeping,
                    "{name}: held"
                );
            }
        }
    }
}
