//! Which tasks stay in memory while the results are held (after `persist()`): the leaves, and,
//! through aliases, the tasks they name. Dask's exported graphs end in `alias` tasks that return
//! another task's result (a fused `arange-lookup` task, say); the named task's result is the
//! same object, so that task stays, and with it its deserialised arguments. Shared by the
//! analysis (predicted held bytes) and the built-in engine (what it releases), so both agree.
//!
//! Beyond the results and the tasks' arguments, a Dask worker holds bookkeeping for every task it
//! keeps in memory (its `TaskState`, the key, the data's entries and the scheduler's messages about
//! it): [`TASK_OVERHEAD_BYTES`] per held result, measured on real Dask.

use super::model::{Graph, NodeId, NodeKind};
use super::placement::placement;

/// Bytes of RSS a Dask worker holds per held result beyond the result itself (its per-task
/// bookkeeping), measured on distributed 2026.8.0: the seed case (`map_blocks` over chunks of 1,000
/// int64) persisted with scatter and with delayed on a fresh `LocalCluster` (2 worker processes x 1
/// thread, 127.0.0.1) per strategy and chunk count, the workers' RSS read from `/proc` before the
/// submit and while the results are held, `held RSS = a + b x chunks` fitted by least squares over
/// 256, 1024 and 4096 chunks; this is `b` minus the 8,000 result bytes per chunk, the mean of the
/// scatter and delayed fits (`python/research/measure_bookkeeping.py`, docs/DASK.md). `graphprof calibrate`
/// measures it on another cluster; `graphprof sample --task-overhead` overrides it.
pub const TASK_OVERHEAD_BYTES: u64 = 9_130;

/// Bytes of RSS a worker keeps per Python object of a container it holds after receiving it on
/// its own (`client.scatter(obj, broadcast=True)`), beyond the container's in-memory size and
/// [`first_itemised_transfer_bytes`]. distributed sends a list, tuple, set or dict that travels
/// on its own item by item (`to_serialize`: one sub-header and one frame per item, unpacked and
/// deserialised one by one); the container's objects are allocated between those temporaries,
/// so the pymalloc arenas and glibc heap the temporaries took stay in RSS while the container
/// lives. Measured on distributed 2026.8.0 with containers that are not the held-memory test
/// programs (str->float dicts of 10k and 50k entries; `python/research/measure_itemised.py`,
/// docs/DASK.md, 2026-12-06): 97-118 B per object per worker once the first transfer's part is
/// taken out. Objects are a sequence's items and a dict's keys and values (`item_objects` in the
/// graph format).
pub const ITEMISED_HELD_BYTES_PER_OBJECT: u64 = 105;

/// Bytes of RSS a worker keeps per item of a container that crossed between workers item by item
/// (a delayed task's container, a data task's object fetched by another worker: both ends take
/// part), after the container is released: the per-item temporaries that the allocator keeps
/// (glibc keeps freed heap below its top; distributed's context meter keeps a float per item).
/// Same measurement as [`ITEMISED_HELD_BYTES_PER_OBJECT`] (lists of 10k and 100k ints,
/// str->float dicts of 2k to 50k entries, and a second and third transfer on the same workers):
/// 87-192 B per item per end, median 128, beside [`first_itemised_transfer_bytes`].
pub const ITEMISED_RELEASED_BYTES_PER_ITEM: u64 = 128;

/// [`ITEMISED_RELEASED_BYTES_PER_ITEM`] where one copy of the container stays on the workers
/// (`dask.delayed(obj)`: the data task's run_spec holds it where the task ran, counted on its
/// own), so that only the received copies are freed. Measured on distributed 2026.8.0 (2026-12-06,
/// `dask.delayed(obj)` of a float list, an int list and a str->float dict of 40,000 items, each
/// used by 32 chunk tasks, two runs each, fresh clusters): RSS growth less the first transfer's
/// part on both ends, the kept copy, the results and the bookkeeping, per item per end: 84 to 94
/// B, where the builder's runs (every copy freed) measured 128.
pub const ITEMISED_RELEASED_ONE_KEPT_BYTES_PER_ITEM: u64 = 90;

/// Bytes of RSS kept per item per end of an item-by-item transfer (see
/// [`ITEMISED_RELEASED_BYTES_PER_ITEM`]), by whether a copy of the container stays.
pub fn itemised_released_bytes_per_item(one_copy_stays: bool) -> u64 {
    if one_copy_stays {
        ITEMISED_RELEASED_ONE_KEPT_BYTES_PER_ITEM
    } else {
        ITEMISED_RELEASED_BYTES_PER_ITEM
    }
}

/// What a worker's RSS grows by, once, the first time it sends or receives a container item by
/// item (beyond the per-item parts above), up to this cap: measured with the same workloads,
/// 2.3-3.1 MB per worker from 5,000 items on (a 10,000-entry dict: 9.6 MB over both workers for
/// the first transfer, 3.8 and 2.6 MB for a second and a third on the same workers; 50,000
/// entries: 18.9 then 13.2 MB), less below (2,000 items: 0.4 MB; 4,000: 1.9 MB).
pub const ITEMISED_FIRST_TRANSFER_MAX_BYTES: u64 = 2_900_000;

/// The rise of the first transfer's part per item, up to [`ITEMISED_FIRST_TRANSFER_MAX_BYTES`].
pub const ITEMISED_FIRST_TRANSFER_BYTES_PER_ITEM: u64 = 500;

/// What a worker's RSS grows by, once, for its first item-by-item transfer of `items` items
/// (see [`ITEMISED_FIRST_TRANSFER_MAX_BYTES`]).
pub fn first_itemised_transfer_bytes(items: u64) -> u64 {
    items
        .saturating_mul(ITEMISED_FIRST_TRANSFER_BYTES_PER_ITEM)
        .min(ITEMISED_FIRST_TRANSFER_MAX_BYTES)
}

/// What the RSS of a worker that sends a pandas object holding strings in pyarrow's memory
/// (pandas' `str` dtype: `arrow_strings` in the graph format) to another worker keeps, once,
/// after the object is freed, as a multiple of the object's in-memory size. Measured on
/// distributed 2026.8.0 (`python/research/measure_whole_transfer.py`, docs/DASK.md, seventh
/// session; fresh 2-worker LocalClusters warmed as test_held warms them, three runs each):
/// df_table_arg's table (30,000 rows: an int, a float and a string column; 1.05 MB) kept 1.93-2.04
/// times its size on the sending worker, whether the worker sent it as a data task's result or
/// passed a scattered copy on to the other worker, and 0.00-0.08 on the receiving one; the same
/// table with 8 more float columns kept 1.41 times its 2.97 MB, its string column alone 3.7 times
/// its 0.57 MB. A frame of numbers only (1.06 MB) kept nothing on either end; the table with its
/// strings as Python objects kept 0.6-0.7 times its 2.52 MB on both ends (not modelled). Without
/// it the corpus's pandas fixes were predicted 2-4.5 MB under their measured medians in every
/// session.
pub const PANDAS_FIRST_SEND_RATIO: u64 = 2;

/// Whether a content is a pandas object with strings in pyarrow's memory that travels whole
/// (see [`PANDAS_FIRST_SEND_RATIO`]).
pub fn sends_arrow_strings(content: &crate::graph::Content) -> bool {
    content.info.arrow_strings && content.travels_item_by_item().is_none()
}

/// Whether `graph` was exported from a user's Dask collection (`graphprof dask export`): its
/// tasks are the ones Dask runs. Generated graphs (the seed case) stand for Dask's fused graph
/// with a source and a map task per chunk.
pub fn exported_from_dask(graph: &Graph) -> bool {
    graph
        .meta
        .get("generator")
        .and_then(|g| g.as_str())
        .is_some_and(|g| g == "graphprof.export")
}

/// Whether a released ancestor kept with a held task ([`Kept::RunSpec`]) keeps its bookkeeping
/// ([`TASK_OVERHEAD_BYTES`]) too: a Dask worker's state of a held task refers to its
/// dependencies' states. Only for a graph of Dask's own tasks ([`exported_from_dask`]): a
/// generated graph's source task is part of one fused Dask task per chunk, whose bookkeeping
/// [`TASK_OVERHEAD_BYTES`] already is (it was measured per chunk).
pub fn kept_ancestors_keep_state(graph: &Graph) -> bool {
    exported_from_dask(graph)
}

/// The function name the exporter gives a task whose value is an object of the graph (Dask's
/// `DataNode`: `dask.delayed(obj)`, a scattered-looking literal): its result is that object.
pub const DATA_FUNCTION: &str = "data";

/// The function name of a task that only returns another task's result.
pub const ALIAS_FUNCTION: &str = "alias";

/// Whether a node is an alias: a task running `alias` with one dependency and no payload.
#[inline]
pub fn is_alias(graph: &Graph, id: NodeId) -> bool {
    // Most graphs run no `alias` at all: then no node needs reading.
    graph.has_alias()
        && matches!(graph.node(id).kind, NodeKind::Task { function } if graph.runs_alias(function))
        && graph.payloads(id).next().is_none()
        && graph.dependency_count(id) == 1
}

/// Bytes of a task's own result: its `output_bytes`, except for an alias, whose result is the
/// object it names (already counted there).
pub fn result_bytes(graph: &Graph, id: NodeId) -> u64 {
    if is_alias(graph, id) {
        0
    } else {
        graph.node(id).output_bytes().unwrap_or(0)
    }
}

/// Whether a task's result counts for [`TASK_OVERHEAD_BYTES`]: any task but an alias (whose
/// result is the object it names, one chunk with it).
pub fn has_own_result(graph: &Graph, id: NodeId) -> bool {
    matches!(graph.node(id).kind, NodeKind::Task { .. }) && !is_alias(graph, id)
}

/// Held results: the held tasks (see [`held_nodes`]) that are not aliases.
pub fn held_result_count(graph: &Graph, held: &[bool]) -> u64 {
    graph
        .node_ids()
        .filter(|&id| held[id as usize] && has_own_result(graph, id))
        .count() as u64
}

/// The bookkeeping the workers hold while the results are held: `task_overhead_bytes` per held
/// result.
pub fn held_bookkeeping_bytes(graph: &Graph, task_overhead_bytes: u64) -> u64 {
    held_result_count(graph, &held_nodes(graph)).saturating_mul(task_overhead_bytes)
}

/// Per node id: true for the tasks that are held with the results. A task is held when nothing
/// depends on it, or when everything that depends on it is a held alias.
pub fn held_nodes(graph: &Graph) -> Vec<bool> {
    let mut held = vec![false; graph.node_count()];
    let mut alias = vec![false; graph.node_count()];
    for id in graph.node_ids() {
        alias[id as usize] = is_alias(graph, id);
    }
    // Dependents come after their dependencies in topological order: walk it backwards.
    for &id in graph.topological_order().iter().rev() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        held[id as usize] = graph
            .dependents(id)
            .all(|d| alias[d as usize] && held[d as usize]);
    }
    held
}

/// What a worker keeps of a task while the results are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Released and forgotten: nothing of it stays.
    Nothing,
    /// Held with the results (see [`held_nodes`]): its result, its run_spec with every object
    /// embedded in it, and its bookkeeping.
    Result,
    /// Released, but its worker keeps its task state with its run_spec (every object embedded in
    /// it): an ancestor of a held task that ran on the same worker, reached through ancestors
    /// that ran there too. A worker keeps the state of every dependency of a task it keeps, and a
    /// dependency it ran itself keeps its run_spec; one it fetched from another worker has none,
    /// and the worker does not know that one's dependencies (docs/DASK.md, "what a worker keeps
    /// of a held result's ancestors").
    RunSpec,
}

/// A task with at least this many dependencies waits for most of the graph (a reduction's last
/// step, a `collect` over every batch): its inputs, and the same-worker ancestors whose states
/// they keep, stay alive until it has run, near the end.
pub const WIDE_FAN_IN: usize = 16;

/// What the workers keep, and how long the rest lives, with the tasks placed on `workers`.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Per node id, the worker that runs it ([`placement`]).
    pub place: Vec<u16>,
    /// Per node id, what is kept while the results are held.
    pub kept: Vec<Kept>,
    /// Per node id: a released task whose state (and run_spec) lived until near the end, because
    /// a dependent that waits for most of the graph ([`WIDE_FAN_IN`]) needed it or a same-worker
    /// task that did. The heap its payload copies took is the worker's high-water mark: the
    /// allocator keeps it after they are freed.
    pub freed_late: Vec<bool>,
}

/// [`Retention`] of a graph on `workers` workers.
pub fn retention(graph: &Graph, workers: u32) -> Retention {
    let place = placement(graph, workers);
    let kept = kept_with_placement(graph, &place);
    let mut freed_late = vec![false; graph.node_count()];
    let is_task = |id: NodeId| matches!(graph.node(id).kind, NodeKind::Task { .. });
    // Dependents come after their dependencies in topological order: walk it backwards.
    for &id in graph.topological_order().iter().rev() {
        if !is_task(id) || kept[id as usize] != Kept::Nothing {
            continue;
        }
        let worker = place[id as usize];
        freed_late[id as usize] = graph.dependents(id).any(|d| {
            let fan_in = graph.dependency_count(d);
            fan_in >= WIDE_FAN_IN || (place[d as usize] == worker && freed_late[d as usize])
        });
    }
    Retention {
        place,
        kept,
        freed_late,
    }
}

/// Per node id, what the workers keep of it while the results are held, with the tasks placed
/// as [`placement`] places them on `workers` workers.
pub fn kept_tasks(graph: &Graph, workers: u32) -> Vec<Kept> {
    kept_with_placement(graph, &placement(graph, workers))
}

/// [`kept_tasks`] for a given placement (per node id, the worker that runs it).
pub fn kept_with_placement(graph: &Graph, place: &[u16]) -> Vec<Kept> {
    let held = held_nodes(graph);
    let mut kept: Vec<Kept> = held
        .iter()
        .map(|&h| if h { Kept::Result } else { Kept::Nothing })
        .collect();
    let mut stack: Vec<NodeId> = Vec::new();
    for id in graph.node_ids() {
        if !held[id as usize] || !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        let worker = place[id as usize];
        stack.push(id);
        while let Some(task) = stack.pop() {
            for &dep in graph.dag().dependencies(task) {
                if kept[dep as usize] != Kept::Nothing
                    || place[dep as usize] != worker
                    || !matches!(graph.node(dep).kind, NodeKind::Task { .. })
                {
                    continue;
                }
                kept[dep as usize] = Kept::RunSpec;
                stack.push(dep);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::load::read_graph;

    #[test]
    fn the_first_itemised_transfer_rises_with_items_up_to_its_cap() {
        assert_eq!(first_itemised_transfer_bytes(0), 0);
        assert_eq!(first_itemised_transfer_bytes(2_000), 1_000_000);
        assert_eq!(
            first_itemised_transfer_bytes(50_000),
            ITEMISED_FIRST_TRANSFER_MAX_BYTES
        );
        assert_eq!(
            first_itemised_transfer_bytes(u64::MAX),
            ITEMISED_FIRST_TRANSFER_MAX_BYTES
        );
    }

    #[test]
    fn leaves_and_tasks_behind_held_aliases_are_held() {
        let text = r#"{"format": "graphprof-graph", "version": 1, "tasks": [
            {"key": ["src", 0], "function": "arange"},
            {"key": ["fused", 0], "function": "lookup", "args": [{"ref": ["src", 0]}]},
            {"key": ["out", 0], "function": "alias", "args": [{"ref": ["fused", 0]}]},
            {"key": "other", "function": "f", "args": [{"ref": ["src", 0]}]}]}"#;
        let graph = read_graph(std::path::Path::new("g.json"), text.as_bytes()).unwrap();
        let held = held_nodes(&graph);
        let by_key = |key: &str| {
            graph
                .node_ids()
                .find(|&id| graph.key_display(id) == key)
                .map(|id| held[id as usize])
                .unwrap()
        };
        assert!(by_key("('out', 0)"));
        assert!(by_key("('fused', 0)"), "an alias keeps what it names");
        assert!(
            !by_key("('src', 0)"),
            "an intermediate with a non-alias dependent"
        );
        assert!(by_key("other"));
        // Held: out (an alias), fused and other; results of their own: fused and other.
        assert_eq!(held_result_count(&graph, &held), 2);
        assert_eq!(held_bookkeeping_bytes(&graph, 100), 200);
    }

    #[test]
    fn a_held_result_keeps_the_run_specs_of_the_ancestors_its_worker_ran() {
        // Eight chains load -> score, then one sum: with 2 workers, the loads are dealt four to
        // a worker; the sum's worker keeps the run_specs of its four chains, the rest is forgotten.
        let mut tasks = Vec::new();
        for i in 0..8 {
            tasks.push(format!(r#"{{"key": ["load", {i}], "function": "load"}}"#));
            tasks.push(format!(
                r#"{{"key": ["score", {i}], "function": "score", "args": [{{"ref": ["load", {i}]}}]}}"#
            ));
        }
        let refs: Vec<String> = (0..8)
            .map(|i| format!(r#"{{"ref": ["score", {i}]}}"#))
            .collect();
        tasks.push(format!(
            r#"{{"key": "sum", "function": "sum", "args": [{}]}}"#,
            refs.join(",")
        ));
        let text = format!(
            r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{}]}}"#,
            tasks.join(",")
        );
        let graph = read_graph(std::path::Path::new("g.json"), text.as_bytes()).unwrap();
        let kept = kept_tasks(&graph, 2);
        let count = |what: Kept| kept.iter().filter(|&&k| k == what).count();
        assert_eq!(count(Kept::Result), 1, "the sum");
        assert_eq!(count(Kept::RunSpec), 8, "four chains of two tasks");
        assert_eq!(count(Kept::Nothing), 8);
        // One worker: every ancestor ran there.
        let one = kept_tasks(&graph, 1);
        assert_eq!(one.iter().filter(|&&k| k == Kept::RunSpec).count(), 16);
    }
}
