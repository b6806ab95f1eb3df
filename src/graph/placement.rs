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

/// Sources are dealt to each worker this many at a time: a worker that finished its task takes
/// the next ready source before its peer has finished, so neighbouring chunks often share a
/// worker (set from the held-memory corpus, whose reductions keep about a quarter of their
/// inputs on the holder's worker with 2 workers: docs/DASK.md).
pub const SOURCE_RUN: usize = 4;

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
    let mut next_tie = 0usize;
    let is_task = |id: NodeId| matches!(graph.node(id).kind, NodeKind::Task { .. });
    // Sources first, in the order Dask's priorities reach them: depth first from each output
    // (`dask.order` finishes one output's inputs before the next's), so that the inputs of one
    // reduction step are dealt together.
    let mut source = vec![false; graph.node_count()];
    let mut seen = vec![false; graph.node_count()];
    let mut stack: Vec<NodeId> = Vec::new();
    let outputs = graph
        .node_ids()
        .filter(|&id| is_task(id) && graph.dependent_count(id) == 0);
    for output in outputs.chain(graph.node_ids()) {
        if seen[output as usize] {
            continue;
        }
        seen[output as usize] = true;
        stack.push(output);
        while let Some(id) = stack.pop() {
            let mut has_task_dependency = false;
            for &dep in graph.dag().dependencies(id) {
                if !is_task(dep) {
                    continue;
                }
                has_task_dependency = true;
                if !seen[dep as usize] {
                    seen[dep as usize] = true;
                    stack.push(dep);
                }
            }
            if is_task(id) && !has_task_dependency {
                source[id as usize] = true;
                place[id as usize] = ((next_source / SOURCE_RUN) % workers) as u16;
                next_source += 1;
            }
        }
    }
    for &id in graph.topological_order() {
        if !is_task(id) || source[id as usize] {
            continue;
        }
        for &dep in graph.dag().dependencies(id) {
            if !matches!(graph.node(dep).kind, NodeKind::Task { .. })
                || graph.dependent_count(dep) > workers
            {
                continue;
            }
            let worker = place[dep as usize] as usize;
            if weight[worker] == 0 {
                touched.push(worker);
            }
            let bytes = graph.node(dep).output_bytes().unwrap_or(1).max(1);
            weight[worker] = weight[worker].saturating_add(bytes);
        }
        let chosen = if touched.is_empty() {
            let worker = (next_source / SOURCE_RUN) % workers;
            next_source += 1;
            worker
        } else {
            // The most bytes; a tie between workers (a task combining inputs from several, as a
            // reduction's partial does) goes to each of the tied workers in turn, as an idle
            // worker takes the next one.
            let most = touched.iter().map(|&w| weight[w]).max().unwrap_or(0);
            touched.sort_unstable();
            let tied = touched.iter().filter(|&&w| weight[w] == most).count();
            let pick = if tied > 1 {
                next_tie += 1;
                (next_tie - 1) % tied
            } else {
                0
            };
            touched
                .iter()
                .copied()
                .filter(|&w| weight[w] == most)
                .nth(pick)
                .unwrap_or(touched[0])
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

    /// `n` sources `a{i}` (output `bytes` each) and a chain `b{i}` on each.
    fn sources(n: usize, bytes: u64) -> String {
        (0..n)
            .map(|i| {
                format!(
                    r#"{{"key": "a{i}", "function": "load", "output_bytes": {bytes}}},
                       {{"key": "b{i}", "function": "f", "args": [{{"ref": "a{i}"}}]}}"#
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn sources_are_dealt_in_runs_and_chains_stay_on_their_worker() {
        let n = 3 * SOURCE_RUN;
        let g = graph(&sources(n, 10));
        let place = placement(&g, 2);
        let on = |w: u16| {
            (0..n)
                .filter(|i| worker_of(&g, &place, &format!("a{i}")) == w)
                .count()
        };
        assert_eq!(on(0), 2 * SOURCE_RUN);
        assert_eq!(on(1), SOURCE_RUN);
        for i in 0..n {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            assert_eq!(worker_of(&g, &place, &a), worker_of(&g, &place, &b));
        }
        assert!(placement(&g, 1).iter().all(|&w| w == 0));
    }

    #[test]
    fn a_task_runs_where_most_of_its_input_bytes_are() {
        // The first run of sources (10 bytes each) goes to worker 0, the next (1000 bytes) to
        // worker 1; a join of one of each runs on worker 1.
        let first = sources(SOURCE_RUN, 10);
        let second: Vec<String> = (0..SOURCE_RUN)
            .map(|i| format!(r#"{{"key": "y{i}", "function": "load", "output_bytes": 1000}}"#))
            .collect();
        let g = graph(&format!(
            r#"{first}, {}, {{"key": "z", "function": "join", "args": [{{"ref": "a0"}}, {{"ref": "y0"}}]}}"#,
            second.join(",")
        ));
        let place = placement(&g, 2);
        assert_ne!(worker_of(&g, &place, "a0"), worker_of(&g, &place, "y0"));
        assert_eq!(worker_of(&g, &place, "z"), worker_of(&g, &place, "y0"));
    }
}
