//! Where each task runs: a deterministic model of how a Dask scheduler with `workers`
//! single-threaded workers places a graph's tasks. Source tasks (no task among their
//! dependencies) are dealt to the workers in turn, in the graph's order, as idle workers take the
//! next ready source; every other task runs on the worker that holds the most bytes of its
//! dependencies' results (each dependency counts its `output_bytes`, or 1 when unknown), the
//! first such worker on a tie, as Dask's `decide_worker` prefers the holder of the most input data.
//! A dependency needed by more tasks than there are workers (a delayed object, a builder's
//! result) soon sits on every worker, so it draws no task to its own.
//!
//! Shared by the held-memory model ([`super::held`]: which released ancestors a held result keeps
//! on its worker) and the built-in engine (which runs each task where this says), so that what
//! the engine holds is what `analyze` predicts.

use super::model::{Graph, NodeId, NodeKind};

/// Most workers a placement deals with (the engine's limit).
pub const MAX_WORKERS: u32 = 256;

/// Per node id, the worker (0-based) that runs it; data nodes get worker 0 (they are scattered
/// to every worker and placed nowhere in particular).
pub fn placement(graph: &Graph, workers: u32) -> Vec<u16> {
    let workers = workers.clamp(1, MAX_WORKERS) as usize;
    let mut place = vec![0u16; graph.node_count()];
    if workers == 1 {
        return place;
    }
    let mut weight = vec![0u64; workers];
    let mut touched: Vec<usize> = Vec::with_capacity(workers);
    let mut next_source = 0usize;
    for &id in graph.topological_order() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        for dep in graph.dag().neighbors_directed(
            petgraph::graph::NodeIndex::new(id as usize),
            petgraph::Direction::Incoming,
        ) {
            let dep = dep.index() as NodeId;
            if !matches!(graph.node(dep).kind, NodeKind::Task { .. })
                || graph.dependent_count(dep) > workers
            {
                continue;
            }
            let worker = place[dep as usize] as usize;
            if weight[worker] == 0 {
                touched.push(worker);
            }
            let bytes = graph.node(dep).output_bytes.unwrap_or(1).max(1);
            weight[worker] = weight[worker].saturating_add(bytes);
        }
        let chosen = if touched.is_empty() {
            let worker = next_source % workers;
            next_source += 1;
            worker
        } else {
            // The most bytes; on a tie the lowest worker number, so the result does not depend
            // on the order the dependencies were visited in.
            let mut best = touched[0];
            for &worker in &touched {
                if weight[worker] > weight[best]
                    || (weight[worker] == weight[best] && worker < best)
                {
                    best = worker;
                }
            }
            best
        };
        for worker in touched.drain(..) {
            weight[worker] = 0;
        }
        place[id as usize] = chosen as u16;
    }
    place
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::load::read_graph;

    fn graph(tasks: &str) -> Graph {
        let text = format!(r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{tasks}]}}"#);
        read_graph(std::path::Path::new("g.json"), text.as_bytes()).expect("valid graph")
    }

    fn worker_of(graph: &Graph, place: &[u16], key: &str) -> u16 {
        let id = graph
            .node_ids()
            .find(|&id| graph.key_display(id) == key)
            .expect("key present");
        place[id as usize]
    }

    #[test]
    fn sources_are_dealt_in_turn_and_chains_stay_on_their_worker() {
        let g = graph(
            r#"{"key": "a0", "function": "load"}, {"key": "a1", "function": "load"},
               {"key": "a2", "function": "load"},
               {"key": "b0", "function": "f", "args": [{"ref": "a0"}]},
               {"key": "b1", "function": "f", "args": [{"ref": "a1"}]},
               {"key": "b2", "function": "f", "args": [{"ref": "a2"}]}"#,
        );
        let place = placement(&g, 2);
        let sources: Vec<u16> = ["a0", "a1", "a2"]
            .iter()
            .map(|k| worker_of(&g, &place, k))
            .collect();
        assert_eq!(sources.iter().filter(|&&w| w == 0).count(), 2);
        assert_eq!(sources.iter().filter(|&&w| w == 1).count(), 1);
        for (a, b) in [("a0", "b0"), ("a1", "b1"), ("a2", "b2")] {
            assert_eq!(worker_of(&g, &place, a), worker_of(&g, &place, b));
        }
        assert!(placement(&g, 1).iter().all(|&w| w == 0));
    }

    #[test]
    fn a_task_runs_where_most_of_its_input_bytes_are() {
        let g = graph(
            r#"{"key": "x", "function": "load", "output_bytes": 10},
               {"key": "y", "function": "load", "output_bytes": 1000},
               {"key": "z", "function": "join", "args": [{"ref": "x"}, {"ref": "y"}]}"#,
        );
        let place = placement(&g, 2);
        assert_ne!(worker_of(&g, &place, "x"), worker_of(&g, &place, "y"));
        assert_eq!(worker_of(&g, &place, "z"), worker_of(&g, &place, "y"));
    }
}
