//! Sizes of a graph: the wire bytes the client sends in one message (each payload object once),
//! the materialised bytes the tasks hold once deserialised one by one (each copy counted), result
//! bytes, and the same per layer, per function and for the largest tasks.

use super::duplication::DuplicatedPayload;
/// The layer index the per-layer sizes take, also named here for callers of [`by_layer`].
pub use super::layers::LayerIndex;
use crate::graph::{Graph, NodeId, NodeKind};
use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Whole-graph totals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sizes {
    /// Modelled bytes of the one message the client sends: task specs plus each payload object
    /// once. This is the figure Dask's large-graph warning compares.
    pub wire_bytes: u64,
    /// Wire bytes measured by the exporter (distributed's own figure), when the file has them.
    pub wire_bytes_measured: Option<u64>,
    /// Bytes of task specs and payloads once every task is deserialised on its own (each copy).
    pub materialised_bytes: u64,
    /// Bytes of embedded payloads alone, each copy counted.
    pub payload_bytes: u64,
    /// Bytes of distinct payload contents, each counted once.
    pub distinct_payload_bytes: u64,
    /// Sum of the tasks' result sizes, where known.
    pub output_bytes: u64,
    /// Bytes of shared data objects (scattered data), each once.
    pub data_bytes: u64,
}

/// Sizes of a group of tasks: a layer or a function.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupSize {
    /// Layer or function name.
    pub name: String,
    /// Number of tasks.
    pub tasks: u64,
    /// Modelled wire bytes the group adds to the message.
    pub wire_bytes: u64,
    /// Materialised bytes of the group's tasks.
    pub materialised_bytes: u64,
    /// Result bytes of the group's tasks.
    pub output_bytes: u64,
    /// Bytes wasted by duplicated payloads in this group (layers only; 0 for functions).
    pub wasted_bytes: u64,
}

/// One task's size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskSize {
    /// The key as Python prints it.
    pub key: String,
    /// Its layer.
    pub layer: String,
    /// Its function.
    pub function: String,
    /// Spec plus embedded payloads, in bytes.
    pub materialised_bytes: u64,
    /// Number of embedded payloads.
    pub payloads: u64,
}

/// Materialised bytes of one task: its spec plus every embedded payload.
pub fn task_materialised_bytes(graph: &Graph, id: NodeId) -> u64 {
    let payloads: u64 = graph
        .payloads(id)
        .map(|payload| graph.contents[payload.content as usize].size_bytes)
        .sum();
    graph.node(id).spec_bytes.saturating_add(payloads)
}

/// The payload objects seen so far, by (content, object id). Consecutive uses of one object are
/// the common case (a mapper embedded in every chunk), so the last one is checked first.
#[derive(Default)]
pub(super) struct ObjectsSeen {
    seen: HashSet<(u32, u64), FixedState>,
    last: Option<(u32, u64)>,
}

impl ObjectsSeen {
    /// Whether this is the first use of the object.
    pub(super) fn first(&mut self, content: u32, object: u64) -> bool {
        if self.last == Some((content, object)) {
            return false;
        }
        self.last = Some((content, object));
        self.seen.insert((content, object))
    }
}

/// Walks tasks in file order, calling `visit(task, wire_bytes_added, materialised_bytes)`: the wire
/// share is the task's share of the message plus each payload object that travels in it (object
/// id, else the use itself) the first time it is seen; a payload the scheduler creates when it
/// materialises the graph (`sent: false`) adds nothing to the wire, so no byte counts twice.
fn walk_tasks(graph: &Graph, mut visit: impl FnMut(NodeId, u64, u64)) {
    let mut objects_seen = ObjectsSeen::default();
    for id in graph.node_ids() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        let mut wire = graph.node(id).wire_bytes;
        for payload in graph.payloads(id) {
            if !payload.sent {
                continue;
            }
            let size = graph.contents[payload.content as usize].size_bytes;
            let first = match payload.object_id() {
                Some(object) => objects_seen.first(payload.content, object),
                None => true,
            };
            if first {
                wire = wire.saturating_add(size);
            }
        }
        visit(id, wire, task_materialised_bytes(graph, id));
    }
}

/// Whole-graph totals.
pub fn totals(graph: &Graph) -> Sizes {
    let mut sizes = new_totals(graph);
    walk_tasks(graph, |id, wire, materialised| {
        add_to_totals(&mut sizes, graph, id, wire, materialised);
        add_output(&mut sizes, crate::graph::held::result_bytes(graph, id));
    });
    add_data(&mut sizes, graph);
    sizes
}

/// [`totals`], [`by_layer`] and [`by_function`] in one walk over the tasks, each task's result
/// size found once: the same figures as the three walks.
pub fn totals_and_groups(
    graph: &Graph,
    layers: &LayerIndex,
    duplicates: &[DuplicatedPayload],
) -> (Sizes, Vec<GroupSize>, Vec<GroupSize>) {
    let mut sizes = new_totals(graph);
    let mut layer_groups = new_groups(&layers.names, &wasted_by_layer(duplicates));
    let mut function_groups = new_groups(&graph.functions, &HashMap::new());
    walk_tasks(graph, |id, wire, materialised| {
        add_to_totals(&mut sizes, graph, id, wire, materialised);
        let output = crate::graph::held::result_bytes(graph, id);
        add_output(&mut sizes, output);
        add_to_group(
            &mut layer_groups[layers.of_node[id as usize] as usize],
            wire,
            materialised,
            output,
        );
        add_to_group(
            &mut function_groups[function_of(graph, id) as usize],
            wire,
            materialised,
            output,
        );
    });
    add_data(&mut sizes, graph);
    (
        sizes,
        finish_groups(layer_groups),
        finish_groups(function_groups),
    )
}

fn new_totals(graph: &Graph) -> Sizes {
    Sizes {
        wire_bytes: 0,
        wire_bytes_measured: graph.measured.as_ref().map(|m| m.wire_bytes),
        materialised_bytes: 0,
        payload_bytes: 0,
        distinct_payload_bytes: graph.contents.iter().map(|c| c.size_bytes).sum(),
        output_bytes: 0,
        data_bytes: 0,
    }
}

fn add_to_totals(sizes: &mut Sizes, graph: &Graph, id: NodeId, wire: u64, materialised: u64) {
    sizes.wire_bytes = sizes.wire_bytes.saturating_add(wire);
    sizes.materialised_bytes = sizes.materialised_bytes.saturating_add(materialised);
    sizes.payload_bytes = sizes
        .payload_bytes
        .saturating_add(materialised - graph.node(id).spec_bytes);
}

/// A task's result.
fn add_output(sizes: &mut Sizes, output: u64) {
    sizes.output_bytes = sizes.output_bytes.saturating_add(output);
}

/// The data objects, in node order (no walk when every node is a task).
fn add_data(sizes: &mut Sizes, graph: &Graph) {
    if graph.task_count() == graph.node_count() {
        return;
    }
    for id in graph.node_ids() {
        if let NodeKind::Data { content } = graph.node(id).kind {
            sizes.data_bytes = sizes
                .data_bytes
                .saturating_add(graph.contents[content as usize].size_bytes)
        }
    }
}

fn new_groups(names: &[String], wasted: &HashMap<&str, u64>) -> Vec<GroupSize> {
    names
        .iter()
        .map(|name| GroupSize {
            name: name.clone(),
            tasks: 0,
            wire_bytes: 0,
            materialised_bytes: 0,
            output_bytes: 0,
            wasted_bytes: wasted.get(name.as_str()).copied().unwrap_or(0),
        })
        .collect()
}

fn add_to_group(group: &mut GroupSize, wire: u64, materialised: u64, output: u64) {
    group.tasks += 1;
    group.wire_bytes = group.wire_bytes.saturating_add(wire);
    group.materialised_bytes = group.materialised_bytes.saturating_add(materialised);
    group.output_bytes = group.output_bytes.saturating_add(output);
}

/// The groups with tasks, largest materialised first (then most tasks, then by name).
fn finish_groups(mut groups: Vec<GroupSize>) -> Vec<GroupSize> {
    groups.retain(|group| group.tasks > 0);
    groups.sort_by(|a, b| {
        (Reverse(a.materialised_bytes), Reverse(a.tasks), &a.name).cmp(&(
            Reverse(b.materialised_bytes),
            Reverse(b.tasks),
            &b.name,
        ))
    });
    groups
}

fn grouped(
    graph: &Graph,
    names: &[String],
    group_of: impl Fn(NodeId) -> u32,
    wasted: &HashMap<&str, u64>,
) -> Vec<GroupSize> {
    let mut groups = new_groups(names, wasted);
    walk_tasks(graph, |id, wire, materialised| {
        let output = crate::graph::held::result_bytes(graph, id);
        add_to_group(
            &mut groups[group_of(id) as usize],
            wire,
            materialised,
            output,
        );
    });
    finish_groups(groups)
}

/// The bytes wasted by copied duplicates, per layer that embeds them.
fn wasted_by_layer(duplicates: &[DuplicatedPayload]) -> HashMap<&str, u64> {
    let mut wasted: HashMap<&str, u64> = HashMap::new();
    for duplicate in duplicates.iter().filter(|d| d.is_copied()) {
        for share in &duplicate.layers {
            *wasted.entry(share.layer.as_str()).or_default() += share.wasted_bytes;
        }
    }
    wasted
}

/// Sizes per layer, with the bytes wasted by duplicates attributed to the layers that embed them.
pub fn by_layer(
    graph: &Graph,
    layers: &LayerIndex,
    duplicates: &[DuplicatedPayload],
) -> Vec<GroupSize> {
    grouped(
        graph,
        &layers.names,
        |id| layers.of_node[id as usize],
        &wasted_by_layer(duplicates),
    )
}

/// A task's function id (0 for a data object, which the walks skip).
fn function_of(graph: &Graph, id: NodeId) -> u32 {
    match graph.node(id).kind {
        NodeKind::Task { function } => function,
        NodeKind::Data { .. } => 0,
    }
}

/// Sizes per function.
pub fn by_function(graph: &Graph) -> Vec<GroupSize> {
    grouped(
        graph,
        &graph.functions,
        |id| function_of(graph, id),
        &HashMap::new(),
    )
}

/// The `top` tasks with the most materialised bytes, largest first (ties: file order).
pub fn largest_tasks(graph: &Graph, layers: &LayerIndex, top: usize) -> Vec<TaskSize> {
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<NodeId>)>> = BinaryHeap::new();
    for id in graph.node_ids() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        let entry = Reverse((task_materialised_bytes(graph, id), Reverse(id)));
        if heap.len() < top.max(1) {
            heap.push(entry);
        } else if heap.peek().is_some_and(|smallest| entry < *smallest) {
            // Larger than the smallest kept (the heap's top, since entries are reversed).
            heap.pop();
            heap.push(entry);
        }
    }
    let mut rows: Vec<(u64, NodeId)> = heap
        .into_iter()
        .map(|Reverse((bytes, Reverse(id)))| (bytes, id))
        .collect();
    rows.sort_by_key(|&(bytes, id)| (Reverse(bytes), id));
    rows.into_iter()
        .map(|(materialised_bytes, id)| TaskSize {
            key: graph.key_display(id),
            layer: layers.name(id).to_string(),
            function: graph.function(id).unwrap_or_default().to_string(),
            materialised_bytes,
            payloads: graph.payloads(id).count() as u64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{duplication, layers};
    use crate::graph::Strategy;
    use crate::graph::generate::{GenerateOptions, GeneratorKind, generate_graph};

    /// The one walk gives what the three walks give, on every generated shape and strategy and
    /// on the fixtures (data objects, aliases, several layers and functions, duplicates).
    #[test]
    fn one_walk_gives_the_totals_and_groups_of_three() {
        let mut graphs = Vec::new();
        for kind in [
            GeneratorKind::MapBlocks,
            GeneratorKind::TreeReduce,
            GeneratorKind::Shuffle,
            GeneratorKind::RandomDag,
        ] {
            for strategy in [Strategy::Inline, Strategy::Scatter, Strategy::Delayed] {
                let options = GenerateOptions {
                    kind,
                    chunks: 40,
                    payload_bytes: 1000,
                    strategy,
                    ..GenerateOptions::default()
                };
                graphs.push(generate_graph(&options).unwrap());
            }
        }
        for name in [
            "hand-written",
            "seed-delayed-64",
            "seed-inline-64",
            "seed-scatter-64",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(format!("{name}.json"));
            graphs.push(crate::graph::load_graph(&path).unwrap());
        }
        for graph in &graphs {
            let layers = layers::LayerIndex::new(graph);
            let duplicates = duplication::find_duplicates(graph, &layers, 3);
            let fused = totals_and_groups(graph, &layers, &duplicates);
            assert!(!fused.1.is_empty() && !fused.2.is_empty());
            assert_eq!(
                fused,
                (
                    totals(graph),
                    by_layer(graph, &layers, &duplicates),
                    by_function(graph)
                ),
                "{:?}",
                graph.name
            );
        }
    }
}
