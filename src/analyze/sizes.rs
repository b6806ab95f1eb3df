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
    let mut sizes = Sizes {
        wire_bytes: 0,
        wire_bytes_measured: graph.measured.as_ref().map(|m| m.wire_bytes),
        materialised_bytes: 0,
        payload_bytes: 0,
        distinct_payload_bytes: graph.contents.iter().map(|c| c.size_bytes).sum(),
        output_bytes: 0,
        data_bytes: 0,
    };
    walk_tasks(graph, |id, wire, materialised| {
        sizes.wire_bytes = sizes.wire_bytes.saturating_add(wire);
        sizes.materialised_bytes = sizes.materialised_bytes.saturating_add(materialised);
        sizes.payload_bytes = sizes
            .payload_bytes
            .saturating_add(materialised - graph.node(id).spec_bytes);
    });
    for id in graph.node_ids() {
        let node = graph.node(id);
        match node.kind {
            NodeKind::Task { .. } => {
                sizes.output_bytes = sizes
                    .output_bytes
                    .saturating_add(crate::graph::held::result_bytes(graph, id))
            }
            NodeKind::Data { content } => {
                sizes.data_bytes = sizes
                    .data_bytes
                    .saturating_add(graph.contents[content as usize].size_bytes)
            }
        }
    }
    sizes
}

fn grouped(
    graph: &Graph,
    names: &[String],
    group_of: impl Fn(NodeId) -> u32,
    wasted: &HashMap<&str, u64>,
) -> Vec<GroupSize> {
    let mut groups: Vec<GroupSize> = names
        .iter()
        .map(|name| GroupSize {
            name: name.clone(),
            tasks: 0,
            wire_bytes: 0,
            materialised_bytes: 0,
            output_bytes: 0,
            wasted_bytes: wasted.get(name.as_str()).copied().unwrap_or(0),
        })
        .collect();
    walk_tasks(graph, |id, wire, materialised| {
        let group = &mut groups[group_of(id) as usize];
        group.tasks += 1;
        group.wire_bytes = group.wire_bytes.saturating_add(wire);
        group.materialised_bytes = group.materialised_bytes.saturating_add(materialised);
        group.output_bytes = group
            .output_bytes
            .saturating_add(crate::graph::held::result_bytes(graph, id));
    });
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

/// Sizes per layer, with the bytes wasted by duplicates attributed to the layers that embed them.
pub fn by_layer(
    graph: &Graph,
    layers: &LayerIndex,
    duplicates: &[DuplicatedPayload],
) -> Vec<GroupSize> {
    let mut wasted: HashMap<&str, u64> = HashMap::new();
    for duplicate in duplicates.iter().filter(|d| d.is_copied()) {
        for share in &duplicate.layers {
            *wasted.entry(share.layer.as_str()).or_default() += share.wasted_bytes;
        }
    }
    grouped(
        graph,
        &layers.names,
        |id| layers.of_node[id as usize],
        &wasted,
    )
}

/// Sizes per function.
pub fn by_function(graph: &Graph) -> Vec<GroupSize> {
    grouped(
        graph,
        &graph.functions,
        |id| match graph.node(id).kind {
            NodeKind::Task { function } => function,
            NodeKind::Data { .. } => 0,
        },
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
