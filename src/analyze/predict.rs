//! Predictions: what the graph would cost as given, scattered or delayed. The held-memory model
//! is the built-in engine's: while results are held, workers keep each leaf task's deserialised
//! arguments with its result; intermediate tasks are released once their dependents ran; a
//! scattered object is held once per worker; a delayed builder's result is released. A payload
//! copy holds its in-memory size where the exporter measured it, else its pickled size (the
//! analysis says which). Each held result keeps Dask's per-task bookkeeping beside it
//! ([`TASK_OVERHEAD_BYTES`], measured on distributed 2026.8.0; docs/DASK.md).
//!
//! What the workers' RSS shows can exceed what they hold: a delayed object built from many small
//! Python objects (a dict or list: in-memory size at least [`CONTAINER_RATIO`] times its pickle)
//! is freed once its dependents ran, but the allocator keeps its pages (DASK-FACTS: "after release
//! is not back to baseline"). So are the container copies that intermediate tasks deserialised
//! (a dict handed to the first of two map_partitions). `held_rss_bytes` adds those copies.
//!
//! A fix sends a copied container on its own (scattered to every worker, or a delayed task's
//! result fetched by the other workers), and distributed sends a list, tuple, set or dict that
//! travels on its own item by item: the per-item temporaries leave RSS behind on every worker
//! that takes part. Where the exporter counted the items (`items`, `item_objects`),
//! `held_rss_bytes` adds [`ITEMISED_HELD_BYTES_PER_OBJECT`] per object per worker for scatter
//! (the container stays), and for delayed [`ITEMISED_RELEASED_BYTES_PER_ITEM`] per item per
//! worker it reaches in place of the freed copy (both measured; docs/DASK.md).

use super::duplication::DuplicatedPayload;
use super::sizes::Sizes;
use crate::graph::held::{
    ITEMISED_HELD_BYTES_PER_OBJECT, ITEMISED_RELEASED_BYTES_PER_ITEM, TASK_OVERHEAD_BYTES,
    held_nodes, held_result_count, result_bytes,
};
use crate::graph::model::DEFAULT_SPEC_BYTES;
use crate::graph::{Graph, NodeKind, Strategy};
use serde::{Deserialize, Serialize};

/// Predicted figures for one way of running the graph.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StrategyPrediction {
    /// `as-given`, `scatter` or `delayed`.
    pub strategy: String,
    /// Modelled bytes of the client's message.
    pub wire_bytes: u64,
    /// Bytes of task specs and payload copies deserialised over the run.
    pub materialised_bytes: u64,
    /// Bytes the workers hold while the results are held: leaf tasks' specs, payloads and results,
    /// and one copy per worker of each scattered object.
    pub held_bytes: u64,
    /// Extra bytes held for a while during compute (a delayed object shipped to the workers).
    pub transient_bytes: u64,
    /// What the workers' RSS should grow by while the results are held: `held_bytes` plus the
    /// freed copies of delayed Python containers that the allocator keeps, and what sending a
    /// container item by item leaves behind (see the module docs).
    pub held_rss_bytes: u64,
    /// `held_bytes` of the graph as given minus this one's.
    pub saved_held_bytes: i64,
    /// Wire bytes of the graph as given minus this one's.
    pub saved_wire_bytes: i64,
}

/// In-memory size over pickle size from which an object is taken to be built from many small
/// Python objects (dicts, lists, sets: 4.5x-21x measured; an ndarray is ~0.9x).
pub const CONTAINER_RATIO: f64 = 3.0;

struct ContentUse {
    objects: u64,
    leaf_copies: u64,
    first_task: Option<u32>,
}

/// Per content: objects, copies in held tasks (when `held` is given), and the first task using it.
fn content_uses(graph: &Graph, held: Option<&[bool]>) -> Vec<ContentUse> {
    let mut uses: Vec<ContentUse> = graph
        .contents
        .iter()
        .map(|_| ContentUse {
            objects: 0,
            leaf_copies: 0,
            first_task: None,
        })
        .collect();
    let mut seen = super::sizes::ObjectsSeen::default();
    for id in graph.node_ids() {
        let leaf = held.is_some_and(|held| held[id as usize]);
        for payload in graph.payloads(id) {
            let content_use = &mut uses[payload.content as usize];
            content_use.first_task.get_or_insert(id);
            content_use.leaf_copies += u64::from(leaf);
            let new_object = payload.sent
                && match payload.object_id {
                    Some(object) => seen.first(payload.content, object),
                    None => true,
                };
            content_use.objects += u64::from(new_object);
        }
    }
    uses
}

/// Held bytes of the graph as given, with `workers` workers: the held tasks (see
/// [`held_nodes`]) with their specs, payload copies and results (an alias's result is the
/// object it names, already counted), and each scattered object once per worker.
pub fn held_bytes(graph: &Graph, workers: u32) -> u64 {
    held_bytes_of(graph, workers, &held_nodes(graph))
}

fn held_bytes_of(graph: &Graph, workers: u32, held_tasks: &[bool]) -> u64 {
    let mut held = held_result_count(graph, held_tasks).saturating_mul(TASK_OVERHEAD_BYTES);
    for id in graph.node_ids() {
        let node = graph.node(id);
        match node.kind {
            NodeKind::Task { .. } if held_tasks[id as usize] => {
                held = held
                    .saturating_add(task_held_bytes(graph, id))
                    .saturating_add(result_bytes(graph, id));
            }
            NodeKind::Task { .. } => {}
            NodeKind::Data { content } => {
                let size = graph.contents[content as usize].held_bytes();
                held = held.saturating_add(size.saturating_mul(u64::from(workers)));
            }
        }
    }
    held
}

/// Whether a content is built from many small Python objects (see [`CONTAINER_RATIO`]).
fn is_container(content: &crate::graph::Content) -> bool {
    content.in_memory_known()
        && content.held_bytes() as f64 >= CONTAINER_RATIO * content.size_bytes as f64
}

/// In-memory bytes of the container copies that tasks which are not held deserialised: freed
/// when those tasks are released, kept by the allocator.
fn carried_over_bytes(graph: &Graph, held_tasks: &[bool]) -> u64 {
    graph
        .node_ids()
        .filter(|&id| {
            !held_tasks[id as usize] && matches!(graph.node(id).kind, NodeKind::Task { .. })
        })
        .flat_map(|id| graph.payloads(id))
        .map(|payload| &graph.contents[payload.content as usize])
        .filter(|content| is_container(content))
        .map(|content| content.held_bytes())
        .fold(0u64, u64::saturating_add)
}

/// What a held task keeps in memory: its spec and each payload copy's in-memory size.
pub fn task_held_bytes(graph: &Graph, id: crate::graph::NodeId) -> u64 {
    graph
        .payloads(id)
        .map(|payload| graph.contents[payload.content as usize].held_bytes())
        .fold(graph.node(id).spec_bytes, u64::saturating_add)
}

/// Predictions for the graph as given and with its copied payloads scattered or delayed.
pub fn strategies(
    graph: &Graph,
    sizes: &Sizes,
    duplicates: &[DuplicatedPayload],
    workers: u32,
) -> Vec<StrategyPrediction> {
    let held_tasks = held_nodes(graph);
    let uses = content_uses(graph, Some(&held_tasks));
    let given_held = held_bytes_of(graph, workers, &held_tasks);
    let carried = carried_over_bytes(graph, &held_tasks);
    let given = StrategyPrediction {
        strategy: "as-given".to_string(),
        wire_bytes: sizes.wire_bytes,
        materialised_bytes: sizes.materialised_bytes,
        held_bytes: given_held,
        transient_bytes: 0,
        held_rss_bytes: given_held.saturating_add(carried),
        saved_held_bytes: 0,
        saved_wire_bytes: 0,
    };
    let mut rows = vec![given.clone()];
    // Each duplicate's content, found once (not once per strategy and duplicate).
    let by_digest: std::collections::HashMap<String, usize> = if duplicates.is_empty() {
        Default::default()
    } else {
        (graph.contents.iter().enumerate())
            .map(|(index, content)| (content.digest.to_string(), index))
            .collect()
    };
    for strategy in [Strategy::Scatter, Strategy::Delayed] {
        let mut row = given.clone();
        row.strategy = strategy.to_string();
        let mut carry = carried;
        for duplicate in duplicates.iter().filter(|d| d.is_copied()) {
            let Some(&content) = by_digest.get(&duplicate.digest) else {
                continue;
            };
            let size = duplicate.size_bytes;
            let in_memory = graph.contents[content].held_bytes();
            let content_use = &uses[content];
            if is_container(&graph.contents[content]) {
                // The intermediate tasks' copies are gone with the rewrite.
                let released = duplicate.copies.saturating_sub(content_use.leaf_copies);
                carry = carry.saturating_sub(released.saturating_mul(in_memory));
            }
            row.wire_bytes = row
                .wire_bytes
                .saturating_sub(content_use.objects.saturating_mul(size));
            row.materialised_bytes = row
                .materialised_bytes
                .saturating_sub(duplicate.copies.saturating_mul(size));
            row.held_bytes = row
                .held_bytes
                .saturating_sub(content_use.leaf_copies.saturating_mul(in_memory));
            let reached = duplicate.tasks.min(u64::from(workers));
            let shipped = reached.saturating_mul(in_memory);
            let info = &graph.contents[content].info;
            match strategy {
                Strategy::Scatter => {
                    row.held_bytes = row
                        .held_bytes
                        .saturating_add(u64::from(workers).saturating_mul(in_memory));
                    if let Some(objects) = info.item_objects {
                        carry = carry.saturating_add(
                            u64::from(workers)
                                .saturating_mul(objects)
                                .saturating_mul(ITEMISED_HELD_BYTES_PER_OBJECT),
                        );
                    }
                }
                _ => {
                    row.wire_bytes = row.wire_bytes.saturating_add(DEFAULT_SPEC_BYTES);
                    row.transient_bytes = row.transient_bytes.saturating_add(shipped);
                    if let Some(items) = info.items {
                        carry = carry.saturating_add(
                            reached
                                .saturating_mul(items)
                                .saturating_mul(ITEMISED_RELEASED_BYTES_PER_ITEM),
                        );
                    } else if is_container(&graph.contents[content]) {
                        carry = carry.saturating_add(shipped);
                    }
                }
            }
        }
        row.held_rss_bytes = row.held_bytes.saturating_add(carry);
        row.saved_held_bytes = given.held_bytes as i64 - row.held_bytes as i64;
        row.saved_wire_bytes = given.wire_bytes as i64 - row.wire_bytes as i64;
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{AnalyzeOptions, analyze};
    use crate::graph::load::read_graph;

    /// Four tasks embed one 100 kB-pickle dict (1 MB in memory); `items` as the file gives them.
    fn analysis_with(items: &str) -> crate::analyze::Analysis {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let tasks: Vec<String> = (0..4)
            .map(|i| {
                format!(
                    r#"{{"key": ["f", {i}], "function": "f", "output_bytes": 8000, "args": [
                        {{"payload": {{"size_bytes": 100000, "digest": "{digest}", "object_id": 1,
                        "type": "dict"}}}}]}}"#
                )
            })
            .collect();
        let text = format!(
            r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{}],
                "contents": [{{"digest": "{digest}", "in_memory_bytes": 1000000{items}}}]}}"#,
            tasks.join(",")
        );
        let graph = read_graph(std::path::Path::new("g.json"), text.as_bytes()).unwrap();
        let options = AnalyzeOptions {
            workers: 2,
            ..AnalyzeOptions::default()
        };
        analyze(&graph, "g.json", &options)
    }

    fn row<'a>(analysis: &'a crate::analyze::Analysis, strategy: &str) -> &'a StrategyPrediction {
        analysis
            .strategies
            .iter()
            .find(|s| s.strategy == strategy)
            .unwrap()
    }

    #[test]
    fn sending_a_container_item_by_item_is_in_held_rss() {
        let plain = analysis_with("");
        let itemised = analysis_with(r#", "items": 10000, "item_objects": 20000"#);
        // Held bytes are what lives; the item-by-item residue is RSS only.
        for strategy in ["as-given", "scatter", "delayed"] {
            assert_eq!(
                row(&plain, strategy).held_bytes,
                row(&itemised, strategy).held_bytes
            );
        }
        assert_eq!(
            row(&plain, "as-given").held_rss_bytes,
            row(&itemised, "as-given").held_rss_bytes
        );
        // Scatter: each of the 2 workers keeps the residue around the 20,000 objects it holds.
        assert_eq!(
            row(&itemised, "scatter").held_rss_bytes - row(&plain, "scatter").held_rss_bytes,
            2 * 20_000 * ITEMISED_HELD_BYTES_PER_OBJECT
        );
        // Delayed: the freed copy on each worker reached (2) is replaced by the per-item residue.
        let delayed = row(&itemised, "delayed");
        assert_eq!(
            delayed.held_rss_bytes - delayed.held_bytes,
            2 * 10_000 * ITEMISED_RELEASED_BYTES_PER_ITEM
        );
        let plain_delayed = row(&plain, "delayed");
        assert_eq!(
            plain_delayed.held_rss_bytes - plain_delayed.held_bytes,
            2 * 1_000_000
        );
    }
}
