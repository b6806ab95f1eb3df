//! Culling a graph to its first N outputs: the rule a sweep of a graph file or a user's collection
//! (`graphprof sample GRAPH --chunks 12,24,48`) runs each count by, defined here once.
//!
//! The outputs are the tasks nothing depends on (the chunks a run holds), in natural key order:
//! by name, then a tuple key's index elements, numbers by value and text with its digit runs by
//! value (`out-2` before `out-10`, `('x', 2)` before `('x', 10)`). The culled graph keeps the
//! first N of them and every node they depend on, directly or not; data objects and payload
//! contents only where a kept task uses them, each payload with its object identity (one object
//! shared by many tasks stays one). A measured wire size belongs to the whole graph and is
//! dropped. The real-Dask driver is handed the selected keys themselves ([`output_keys`]), so the
//! two sides never implement the rule twice.

use super::key::{Key, tuple_elements};
use super::model::{Graph, NodeId, NodeKind};
use super::raw::{RawArg, RawData};
use super::write::{RawGraph, raw_content_infos, raw_data, raw_payload, raw_task};
use super::{BuildError, build_raw};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Why a graph cannot be culled to `asked` outputs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CullError {
    /// Zero outputs asked for.
    #[error("0 outputs asked for; the graph has {available} (give 1 to {available})")]
    Zero {
        /// The graph's outputs.
        available: u64,
    },
    /// More outputs asked for than the graph has.
    #[error("{asked} outputs asked for; the graph has {available} (give 1 to {available})")]
    TooMany {
        /// The count asked for.
        asked: u64,
        /// The graph's outputs.
        available: u64,
    },
    /// The culled graph did not build (it cannot fail for a valid graph; kept typed anyway).
    #[error("the culled graph is invalid: {0}")]
    Build(#[from] BuildError),
}

/// The graph's outputs (tasks nothing depends on) in natural key order.
pub fn outputs(graph: &Graph) -> Vec<NodeId> {
    let mut outputs: Vec<(Vec<KeyPart>, NodeId)> = graph
        .node_ids()
        .filter(|&id| {
            matches!(graph.node(id).kind, NodeKind::Task { .. }) && graph.dependent_count(id) == 0
        })
        .map(|id| (key_parts(&graph.tagged_key(id)), id))
        .collect();
    outputs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    outputs.into_iter().map(|(_, id)| id).collect()
}

/// The keys of the first `n` outputs, in order (what the real-Dask driver runs).
pub fn output_keys(graph: &Graph, n: usize) -> Vec<Key> {
    outputs(graph)
        .into_iter()
        .take(n)
        .map(|id| graph.key(id))
        .collect()
}

/// `graph` culled to its first `n` outputs and their ancestors (see the module documentation).
pub fn cull_to_outputs(graph: &Graph, n: u64) -> Result<Graph, CullError> {
    let all = outputs(graph);
    let available = all.len() as u64;
    if n == 0 {
        return Err(CullError::Zero { available });
    }
    if n > available {
        return Err(CullError::TooMany {
            asked: n,
            available,
        });
    }
    let mut kept: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = all[..n as usize].to_vec();
    while let Some(id) = stack.pop() {
        if kept.insert(id) {
            stack.extend(graph.dependencies(id));
        }
    }
    let mut raw = culled_raw(graph, &kept);
    raw.header.meta.insert(
        "culled".into(),
        serde_json::json!(format!("first {n} of {available} outputs")),
    );
    Ok(build_raw(raw)?)
}

/// The raw parts of the nodes in `kept`, in the graph's own order.
fn culled_raw<'a>(graph: &'a Graph, kept: &'a HashSet<NodeId>) -> RawGraph<'a> {
    let data: Vec<RawData> = graph
        .node_ids()
        .filter(|id| kept.contains(id))
        .filter_map(|id| raw_data(graph, id))
        .collect();
    let mut used = vec![false; graph.contents.len()];
    for &id in kept {
        match graph.node(id).kind {
            NodeKind::Data { content } => used[content as usize] = true,
            NodeKind::Task { .. } => {
                for payload in graph.payloads(id) {
                    used[payload.content as usize] = true;
                }
            }
        }
    }
    let used_digests: HashSet<String> = graph
        .contents
        .iter()
        .zip(&used)
        .filter(|(_, used)| **used)
        .map(|(content, _)| content.digest.to_string())
        .collect();
    let mut contents = raw_content_infos(graph);
    contents.retain(|info| used_digests.contains(&info.digest));
    let tasks = graph
        .topological_order()
        .iter()
        .copied()
        .filter(move |id| kept.contains(id))
        .filter_map(move |id| {
            raw_task(graph, id, |payload| {
                RawArg::Payload(raw_payload(
                    &graph.contents[payload.content as usize],
                    payload.object_id(),
                    payload.sent,
                ))
            })
        });
    RawGraph {
        header: super::raw::Header {
            name: graph.name.clone(),
            meta: graph.meta.clone(),
            // The measured wire size is the whole graph's.
            measured: None,
            contents,
        },
        data,
        tasks: Box::new(tasks),
    }
}

/// One element of a key as the natural order compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    /// A number: by value (negative numbers, floats and numbers past u64 as text).
    Number(u64),
    /// Text: runs of digits by value, the rest by character.
    Text(Vec<TextRun>),
}

/// A run of a text key part.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TextRun {
    /// Digits, by value: (digits without leading zeros, their count first so longer is larger).
    Digits(usize, String),
    /// Anything else.
    Other(String),
}

/// A tagged key as the parts the natural order compares: the name, then a tuple's elements.
fn key_parts(tagged: &str) -> Vec<KeyPart> {
    match tuple_elements(tagged) {
        Some(elements) => elements
            .iter()
            .map(|element| match element {
                serde_json::Value::Number(number) => match number.as_u64() {
                    Some(value) => KeyPart::Number(value),
                    None => KeyPart::Text(text_runs(&number.to_string())),
                },
                serde_json::Value::String(text) => KeyPart::Text(text_runs(text)),
                other => KeyPart::Text(text_runs(&other.to_string())),
            })
            .collect(),
        None => vec![KeyPart::Text(text_runs(tagged.get(1..).unwrap_or("")))],
    }
}

fn text_runs(text: &str) -> Vec<TextRun> {
    let mut runs = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        runs.push(if digits {
            let value = run.trim_start_matches('0');
            TextRun::Digits(value.len(), value.to_string())
        } else {
            TextRun::Other(run.to_string())
        });
        rest = tail;
    }
    runs
}

/// Compares two tagged keys in natural order (the order [`outputs`] sorts by).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    key_parts(a).cmp(&key_parts(b))
}

#[cfg(test)]
#[path = "cull_tests.rs"]
mod tests;
