//! The dependency DAG of a built graph and its topological order: petgraph's `toposort` order,
//! found by the same depth-first walk over the [`Dag`]'s lists (which hold petgraph's neighbour
//! order) and checked by one scan of the edges; a graph with a cycle goes to petgraph, and the
//! cycle is named by a shortest path back to where petgraph found it.

use crate::graph::dag::{Dag, TooManyEdges};
use crate::graph::model::{Arg, Graph, NodeId};
use petgraph::graph::{DiGraph, NodeIndex};

pub(super) fn build_dag(graph: &Graph) -> Result<Dag, TooManyEdges> {
    Dag::build(graph.nodes.len(), |id, list| {
        list.extend(graph.args(id).iter().filter_map(|arg| match arg {
            Arg::Ref(dep) => Some(*dep),
            Arg::Payload(_) => None,
        }));
        list.extend_from_slice(graph.extra_deps(id));
    })
}

/// The order of petgraph's `toposort`, found by the same depth-first walk (nodes by id, each
/// node's dependents in the order petgraph yields them) but checked by one scan of the edges
/// instead of petgraph's second walk over the reversed graph: when every edge runs forwards in
/// the order, the graph has no cycle and petgraph's order is this one. Otherwise (or on a
/// self-loop, which petgraph reports from the first walk) petgraph's `toposort` runs and names the
/// cycle as before.
fn depth_first_order(dag: &Dag) -> Option<Vec<NodeId>> {
    let count = dag.node_count();
    let mut discovered = vec![false; count];
    let mut finished = vec![false; count];
    let mut stack: Vec<NodeId> = Vec::new();
    let mut finish_stack: Vec<NodeId> = Vec::with_capacity(count);
    for start in 0..count as NodeId {
        if discovered[start as usize] {
            continue;
        }
        stack.push(start);
        while let Some(&node) = stack.last() {
            if !discovered[node as usize] {
                discovered[node as usize] = true;
                for &next in dag.dependents(node) {
                    if next == node {
                        return None;
                    }
                    if !discovered[next as usize] {
                        stack.push(next);
                    }
                }
            } else {
                stack.pop();
                if !finished[node as usize] {
                    finished[node as usize] = true;
                    finish_stack.push(node);
                }
            }
        }
    }
    finish_stack.reverse();
    let mut position = vec![0u32; count];
    for (at, &id) in finish_stack.iter().enumerate() {
        position[id as usize] = at as u32;
    }
    dag.edges()
        .all(|(dep, id)| position[dep as usize] < position[id as usize])
        .then_some(finish_stack)
}

/// A cycle: the key petgraph found on it, displayed, and the message naming the cycle.
pub(super) struct Cycle {
    pub key: String,
    pub message: String,
}

pub(super) fn topological_order(graph: &Graph) -> Result<Vec<NodeId>, Cycle> {
    if let Some(order) = depth_first_order(&graph.dag) {
        return Ok(order);
    }
    let dag = graph.dag.to_petgraph();
    match petgraph::algo::toposort(&dag, None) {
        Ok(order) => Ok(order
            .into_iter()
            .map(|index| index.index() as NodeId)
            .collect()),
        Err(cycle) => {
            let start = cycle.node_id();
            let members = cycle_through(&dag, start);
            let mut names: Vec<String> = members
                .iter()
                .take(6)
                .map(|index| {
                    crate::escape::quote(&graph.key_display(index.index() as NodeId)).into_owned()
                })
                .collect();
            if members.len() > 6 {
                names.push(format!("and {} more", members.len() - 6));
            }
            Err(Cycle {
                key: graph.key_display(start.index() as NodeId),
                message: format!("cycle through {}", names.join(" -> ")),
            })
        }
    }
}

/// A shortest cycle through `start`, in the order its edges run, found by a breadth-first walk
/// (no recursion, so a cycle through millions of tasks cannot overflow the stack). `start` is a
/// node petgraph's `toposort` reported as lying on a cycle; should no path lead back, the cycle is
/// `start` alone.
fn cycle_through(dag: &DiGraph<(), (), u32>, start: NodeIndex<u32>) -> Vec<NodeIndex<u32>> {
    const UNSEEN: u32 = u32::MAX;
    let mut parent = vec![UNSEEN; dag.node_count()];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in dag.neighbors(node) {
            if next == start {
                let mut members = vec![node];
                let mut at = node;
                while at != start {
                    at = NodeIndex::new(parent[at.index()] as usize);
                    members.push(at);
                }
                members.reverse();
                return members;
            }
            if parent[next.index()] == UNSEEN {
                parent[next.index()] = node.index() as u32;
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::dag::testing::{next, petgraph_as_loaded};

    fn petgraph_order(dag: &DiGraph<(), (), u32>) -> Option<Vec<NodeId>> {
        petgraph::algo::toposort(dag, None)
            .ok()
            .map(|order| order.iter().map(|n| n.index() as NodeId).collect())
    }

    /// Random graphs with edges in every direction: petgraph's order, or `None` where petgraph
    /// finds a cycle.
    #[test]
    fn the_order_is_petgraphs_and_a_cycle_is_left_to_petgraph() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let (mut acyclic, mut cyclic) = (0, 0);
        for round in 0..400 {
            let nodes = 1 + (next(&mut state) % 40) as usize;
            let mut lists: Vec<Vec<NodeId>> = vec![Vec::new(); nodes];
            let edges = next(&mut state) as usize % (nodes * 3);
            for _ in 0..edges {
                let a = next(&mut state) as usize % nodes;
                let b = next(&mut state) as usize % nodes;
                // Mostly forward edges (by a permutation of ids) so most graphs are acyclic;
                // every tenth graph may have any edge, self-loops included.
                let (from, to) = if round % 10 == 0 || a < b {
                    (a, b)
                } else if a > b {
                    (b, a)
                } else {
                    continue;
                };
                let shuffle = |id: usize| (id * 7 + round) % nodes;
                let (from, to) = if round % 3 == 0 {
                    (from, to)
                } else {
                    (shuffle(from), shuffle(to))
                };
                lists[to].push(from as NodeId);
            }
            let dag =
                Dag::build(nodes, |id, list| list.extend(&lists[id as usize])).expect("few edges");
            let loaded = petgraph_as_loaded(&lists);
            let expected = petgraph_order(&loaded);
            // Where petgraph finds a cycle, `to_petgraph` hands it the same graph, so it names
            // the same node.
            let cycle_at = |graph: &DiGraph<(), (), u32>| {
                petgraph::algo::toposort(graph, None)
                    .err()
                    .map(|cycle| cycle.node_id().index())
            };
            assert_eq!(
                cycle_at(&dag.to_petgraph()),
                cycle_at(&loaded),
                "round {round}"
            );
            match &expected {
                Some(_) => acyclic += 1,
                None => cyclic += 1,
            }
            assert_eq!(depth_first_order(&dag), expected, "round {round}");
        }
        assert!(
            acyclic > 100 && cyclic > 20,
            "{acyclic} acyclic, {cyclic} cyclic"
        );
    }
}
