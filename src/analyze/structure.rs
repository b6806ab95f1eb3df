//! The shape of the dependency graph: edges, roots, leaves, depth (the longest
//! chain of nodes), the widest level, the largest fan-in and fan-out, and weakly connected
//! components.

use crate::graph::{Graph, NodeId};
use serde::{Deserialize, Serialize};

/// Shape of the graph; counts include data objects as nodes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Structure {
    /// Nodes: tasks and data objects.
    pub nodes: u64,
    /// Dependency edges.
    pub edges: u64,
    /// Nodes without dependencies.
    pub roots: u64,
    /// Nodes nothing depends on (the results a `persist` keeps).
    pub leaves: u64,
    /// Number of nodes on the longest dependency chain.
    pub depth: u64,
    /// Most nodes at one level (level = longest chain ending at the node).
    pub widest_level: u64,
    /// Largest number of dependencies of one node, and that node.
    pub max_fan_in: u64,
    /// Key with the largest fan-in.
    pub max_fan_in_key: String,
    /// Largest number of dependents of one node.
    pub max_fan_out: u64,
    /// Key with the largest fan-out.
    pub max_fan_out_key: String,
    /// Weakly connected components.
    pub components: u64,
}

/// Computes the structure of a graph.
pub fn structure(graph: &Graph) -> Structure {
    let dag = graph.dag();
    let mut level = vec![0u32; graph.node_count()];
    let mut width: Vec<u64> = Vec::new();
    let (mut roots, mut leaves) = (0u64, 0u64);
    let (mut fan_in, mut fan_in_node) = (0u64, 0 as NodeId);
    let (mut fan_out, mut fan_out_node) = (0u64, 0 as NodeId);
    for &id in graph.topological_order() {
        let mut deps = 0u64;
        let mut node_level = 1u32;
        for &dep in dag.dependencies(id) {
            deps += 1;
            node_level = node_level.max(level[dep as usize] + 1);
        }
        level[id as usize] = node_level;
        if width.len() < node_level as usize {
            width.resize(node_level as usize, 0);
        }
        width[node_level as usize - 1] += 1;
        let dependents = dag.dependents(id).len() as u64;
        roots += u64::from(deps == 0);
        leaves += u64::from(dependents == 0);
        if deps > fan_in {
            (fan_in, fan_in_node) = (deps, id);
        }
        if dependents > fan_out {
            (fan_out, fan_out_node) = (dependents, id);
        }
    }
    let depth = width.len() as u64;
    drop(level);
    Structure {
        nodes: graph.node_count() as u64,
        edges: dag.edge_count() as u64,
        roots,
        leaves,
        depth,
        widest_level: width.iter().copied().max().unwrap_or(0),
        max_fan_in: fan_in,
        max_fan_in_key: graph.key_display(fan_in_node),
        max_fan_out: fan_out,
        max_fan_out_key: graph.key_display(fan_out_node),
        components: components(graph),
    }
}

/// Weakly connected components: the nodes less the edges that joined two components, found by a
/// union-find over one u32 per node with path halving (petgraph's `connected_components` keeps a
/// usize and a rank per node, then sorts a label per node: 2.25x the memory, on a graph's peak).
fn components(graph: &Graph) -> u64 {
    fn root(parent: &mut [u32], mut node: u32) -> u32 {
        while parent[node as usize] != node {
            let grandparent = parent[parent[node as usize] as usize];
            parent[node as usize] = grandparent;
            node = grandparent;
        }
        node
    }
    let mut parent: Vec<u32> = (0..graph.node_count() as u32).collect();
    let mut joined = 0u64;
    for (dep, id) in graph.dag().edges() {
        let a = root(&mut parent, dep);
        let b = root(&mut parent, id);
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
            joined += 1;
        }
    }
    graph.node_count() as u64 - joined
}
