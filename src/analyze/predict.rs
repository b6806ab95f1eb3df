//! Predictions: what the graph would cost as given, scattered or delayed, and above all the one
//! figure a user acts on, `held_bytes`: what the workers' memory (RSS) grows by while the results
//! are held, on `workers` workers. It counts what Dask's workers keep
//! ([`crate::graph::held::Kept`], with the tasks placed as [`crate::graph::placement`] places
//! them):
//! - the results of the held tasks (where the file gives no size, they are counted as unknown and
//!   `held_bytes` is a lower bound: `held_unknown_results`);
//! - each held task's run_spec: its spec and every payload copy embedded in it, in memory;
//! - the run_specs of the released ancestors that a held task keeps on its worker (a reduction's
//!   inputs, a delayed chain's earlier steps), with their payload copies;
//! - Dask's per-task bookkeeping ([`TASK_OVERHEAD_BYTES`]) beside each held result and each
//!   released ancestor kept with it: a worker's task state of a held task refers to its
//!   dependencies' states, and so on; the corpus's fixes, whose copies are gone, held 10-20 kB
//!   more per kept ancestor than the model had without it (map_overlap_kernel: 537 kept, 10 MB);
//!   counting the measured per-task figure for them halves that (graphs of Dask's own tasks
//!   only: [`kept_ancestors_keep_state`]);
//! - scattered data, once per worker, and what a fix itself puts on the workers;
//! - what the allocator keeps of freed copies: the heap that Python containers (in-memory size at
//!   least [`CONTAINER_RATIO`] times their pickle) took stays in RSS after they are freed
//!   (DASK-FACTS: "after release is not back to baseline"), up to the worker's high-water mark:
//!   every copy freed late ([`Retention::freed_late`]: alive until a wide fan-in ran, near the end),
//!   and at most [`EARLY_PEAK_COPIES`] per worker of those freed early; a container sent on its own
//!   travels item by item, whose temporaries stay ([`ITEMISED_HELD_BYTES_PER_OBJECT`],
//!   [`ITEMISED_RELEASED_BYTES_PER_ITEM`], and once per worker that sends or receives one,
//!   [`first_itemised_transfer_bytes`]; measured, docs/DASK.md).
//!
//! `held_parts` splits the figure: objects the workers hold, and heap the allocator kept.
//!
//! A fix takes every copy of a copied payload out of the tasks: `scatter` holds one copy per
//! worker; `delayed` is run as `sample` would run it on the same input: for a user's collection
//! (a graph `graphprof dask export` wrote), `dask.delayed(obj)`, the object once in the graph,
//! whose one copy a worker keeps while a task that used it is kept; for the seed case and
//! generated graphs, the object built inside one task, whose result is released once its
//! dependents ran.

use super::duplication::{DuplicatedPayload, duplicate_contents};
use super::sizes::Sizes;
use crate::graph::held::{
    DATA_FUNCTION, ITEMISED_HELD_BYTES_PER_OBJECT, Kept, PANDAS_FIRST_SEND_RATIO, Retention,
    TASK_OVERHEAD_BYTES, exported_from_dask, first_itemised_transfer_bytes, has_own_result,
    itemised_released_bytes_per_item, kept_ancestors_keep_state, result_bytes, retention,
    sends_arrow_strings,
};
use crate::graph::model::DEFAULT_SPEC_BYTES;
use crate::graph::{Content, Graph, NodeKind, Strategy};
use serde::{Deserialize, Serialize};

/// The parts of a held figure, in bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeldParts {
    /// Results of the held tasks (known sizes only).
    pub results_bytes: u64,
    /// The held tasks' run_specs: specs and payload copies, in memory.
    pub held_task_copies_bytes: u64,
    /// Run_specs of released ancestors kept with a held task on its worker, payload copies
    /// included, in memory.
    pub kept_ancestor_copies_bytes: u64,
    /// Dask's per-task bookkeeping beside each held result.
    pub bookkeeping_bytes: u64,
    /// Scattered data (once per worker) and what a fix puts on the workers, in memory.
    pub shared_objects_bytes: u64,
    /// Heap the allocator keeps of freed copies and item-by-item transfers (RSS, not objects).
    pub allocator_kept_bytes: u64,
}

impl HeldParts {
    /// Bytes of live objects the workers hold (all but the allocator's part).
    pub fn objects_bytes(&self) -> u64 {
        [
            self.results_bytes,
            self.held_task_copies_bytes,
            self.kept_ancestor_copies_bytes,
            self.bookkeeping_bytes,
            self.shared_objects_bytes,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    /// The whole held figure: objects plus what the allocator keeps.
    pub fn total(&self) -> u64 {
        self.objects_bytes()
            .saturating_add(self.allocator_kept_bytes)
    }
}

/// Predicted figures for one way of running the graph.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StrategyPrediction {
    /// `as-given`, `scatter` or `delayed`.
    pub strategy: String,
    /// How the strategy is run, in the user's words ("dask.delayed(obj): sent once, ...").
    pub variant: String,
    /// Modelled bytes of the client's message (pickled).
    pub wire_bytes: u64,
    /// Bytes of task specs and payload copies deserialised over the run (pickled).
    pub materialised_bytes: u64,
    /// What the workers' memory (RSS) grows by while the results are held: the sum of
    /// `held_parts`. A lower bound when `held_unknown_results` is not 0.
    pub held_bytes: u64,
    /// Held results whose size the file does not give (counted as 0 in `held_bytes`).
    pub held_unknown_results: u64,
    /// What `held_bytes` leaves out because it cannot be known from the graph (the results of
    /// tasks without a size, a p2p shuffle's buffers): `held_bytes` is a lower bound when this
    /// is not empty.
    pub held_unknown: Vec<String>,
    /// `held_bytes` split by what holds it.
    pub held_parts: HeldParts,
    /// Extra bytes held for a while during compute (a delayed object shipped to the workers).
    pub transient_bytes: u64,
    /// `held_bytes` of the graph as given minus this one's (positive: the fix saves memory).
    pub saved_held_bytes: i64,
    /// Wire bytes of the graph as given minus this one's.
    pub saved_wire_bytes: i64,
}

/// In-memory size over pickle size from which an object is taken to be built from many small
/// Python objects (dicts, lists, sets: 4.5x-21x measured; an ndarray is ~0.9x).
pub const CONTAINER_RATIO: f64 = 3.0;

/// Copies of one content freed early (their task released soon after it ran) that a worker's heap
/// holds at its high-water mark: a single-threaded worker has only a few tasks' run_specs alive
/// at once. Measured on the held-memory corpus: delayed_tree's 64 leaves (1.3 MB each, each freed
/// once its `add` ran) left 16-17 MB per worker in the per-worker probes here (12-13 copies;
/// python/research/measure_held_corpus.py), and as given 28.9-38.3 MB over both workers in the
/// test's runs, on this machine and on CI's (about 9 to 13 copies per worker): 10 is the middle.
/// (8 until 2026-12-06.)
pub const EARLY_PEAK_COPIES: u64 = 10;

/// The function of the barrier task of a p2p shuffle (dataframe shuffles on a distributed cluster).
const P2P_BARRIER: &str = "p2p_barrier";

/// What the held figure of `graph` cannot know.
fn unknown_parts(graph: &Graph, unknown_results: u64) -> Vec<String> {
    let mut parts = Vec::new();
    if unknown_results > 0 {
        parts.push(format!(
            "the results of {unknown_results} held tasks (no size in the graph)"
        ));
    }
    let shuffles = graph
        .node_ids()
        .filter(|&id| graph.function(id) == Some(P2P_BARRIER))
        .count();
    if shuffles > 0 {
        parts.push(format!(
            "what {shuffles} p2p shuffle(s) leave on the workers (buffers, not modelled)"
        ));
    }
    parts
}

/// How `delayed` is run on this graph (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayedVariant {
    /// `dask.delayed(obj)`: the object once in the graph (a user's collection).
    Object,
    /// The object built inside one task (the seed case, generated graphs).
    Builder,
}

impl DelayedVariant {
    /// The variant `sample` runs for this graph: `dask.delayed(obj)` for a graph the exporter
    /// wrote from a user's collection, the builder task otherwise.
    pub fn of(graph: &Graph) -> DelayedVariant {
        if exported_from_dask(graph) {
            DelayedVariant::Object
        } else {
            DelayedVariant::Builder
        }
    }

    fn describe(self) -> &'static str {
        match self {
            DelayedVariant::Object => {
                "dask.delayed(obj): sent once; one copy kept while a task that used it is kept"
            }
            DelayedVariant::Builder => {
                "built in one task: its result released once its dependents ran"
            }
        }
    }
}

const AS_GIVEN: &str = "as given: every task carries its own copy";
const SCATTERED: &str = "client.scatter(obj, broadcast=True): one copy per worker";

/// Per content: objects in the message, and copies by what the workers keep of their task.
#[derive(Default, Clone)]
struct ContentUse {
    objects: u64,
    copies_in_held: u64,
    copies_in_kept_ancestors: u64,
    /// Freed copies whose heap the allocator keeps (see the module docs); counted for
    /// containers only.
    copies_heap_kept: u64,
}

fn content_uses(graph: &Graph, retained: &Retention) -> Vec<ContentUse> {
    let mut uses = vec![ContentUse::default(); graph.contents.len()];
    let mut seen = super::sizes::ObjectsSeen::default();
    let mut early: std::collections::HashMap<(u32, u16), u64> = Default::default();
    for id in graph.node_ids() {
        for payload in graph.payloads(id) {
            let content_use = &mut uses[payload.content as usize];
            match retained.kept[id as usize] {
                Kept::Result => content_use.copies_in_held += 1,
                Kept::RunSpec => content_use.copies_in_kept_ancestors += 1,
                Kept::Nothing if retained.freed_late[id as usize] => {
                    content_use.copies_heap_kept += 1;
                }
                Kept::Nothing => {
                    *early
                        .entry((payload.content, retained.place[id as usize]))
                        .or_default() += 1;
                }
            }
            let new_object = payload.sent
                && match payload.object_id() {
                    Some(object) => seen.first(payload.content, object),
                    None => true,
                };
            content_use.objects += u64::from(new_object);
        }
    }
    for ((content, _worker), copies) in early {
        uses[content as usize].copies_heap_kept += copies.min(EARLY_PEAK_COPIES);
    }
    for (content_use, content) in uses.iter_mut().zip(&graph.contents) {
        if !is_container(content) {
            content_use.copies_heap_kept = 0;
        }
    }
    uses
}

/// Whether a content is built from many small Python objects (see [`CONTAINER_RATIO`]).
fn is_container(content: &Content) -> bool {
    content.in_memory_known()
        && content.held_bytes() as f64 >= CONTAINER_RATIO * content.size_bytes as f64
}

/// What a task's run_spec holds: its spec and each payload copy's in-memory size.
pub fn task_held_bytes(graph: &Graph, id: crate::graph::NodeId) -> u64 {
    graph
        .payloads(id)
        .map(|payload| graph.contents[payload.content as usize].held_bytes())
        .fold(graph.node(id).spec_bytes, u64::saturating_add)
}

/// Heap the allocator keeps on the workers that fetched a data task's object (its value is one
/// of the graph's objects, `dask.delayed(obj)`) to run its dependents: a container travels item
/// by item ([`ITEMISED_RELEASED_BYTES_PER_ITEM`] per item on both ends, and each end's first
/// such transfer once), or its freed copy; a pandas object's first transfer keeps heap on both
/// ends ([`PANDAS_FIRST_SEND_RATIO`]).
fn fetched_objects_heap(graph: &Graph, place: &[u16], kept: &[Kept]) -> u64 {
    let mut heap = 0u64;
    // Per worker: the largest first-transfer part of the transfers it takes part in.
    let mut first: std::collections::HashMap<u16, u64> = Default::default();
    for id in graph.node_ids() {
        if graph.function(id) != Some(DATA_FUNCTION) {
            continue;
        }
        let own = place[id as usize];
        let mut receivers: Vec<u16> = graph
            .dependents(id)
            .map(|d| place[d as usize])
            .filter(|&w| w != own)
            .collect();
        receivers.sort_unstable();
        receivers.dedup();
        if receivers.is_empty() {
            continue;
        }
        let ends = receivers.len() as u64 + 1;
        // The data task's own copy stays where its run_spec is kept.
        let one_copy_stays = kept[id as usize] != Kept::Nothing;
        for payload in graph.payloads(id) {
            let content = &graph.contents[payload.content as usize];
            let kept_heap = match content.travels_item_by_item() {
                Some((items, _)) => {
                    for &worker in receivers.iter().chain([&own]) {
                        let part = first.entry(worker).or_default();
                        *part = (*part).max(first_itemised_transfer_bytes(items));
                    }
                    ends.saturating_mul(items)
                        .saturating_mul(itemised_released_bytes_per_item(one_copy_stays))
                }
                None if is_container(content) => (ends - 1).saturating_mul(content.held_bytes()),
                None => {
                    if sends_arrow_strings(content) {
                        // The worker that ran the data task sends it.
                        let sent = first.entry(own).or_default();
                        *sent = (*sent)
                            .max(PANDAS_FIRST_SEND_RATIO.saturating_mul(content.held_bytes()));
                    }
                    0
                }
            };
            heap = heap.saturating_add(kept_heap);
        }
    }
    first
        .values()
        .fold(heap, |sum, &part| sum.saturating_add(part))
}

/// The held figure of the graph as given, and how many held results have no known size.
fn given_parts(
    graph: &Graph,
    workers: u32,
    kept: &[Kept],
    uses: &[ContentUse],
) -> (HeldParts, u64) {
    let mut parts = HeldParts::default();
    let mut unknown = 0u64;
    let kept_state = kept_ancestors_keep_state(graph);
    for (content_use, content) in uses.iter().zip(&graph.contents) {
        parts.allocator_kept_bytes = parts.allocator_kept_bytes.saturating_add(
            content_use
                .copies_heap_kept
                .saturating_mul(content.held_bytes()),
        );
    }
    for id in graph.node_ids() {
        let node = graph.node(id);
        match (node.kind, kept[id as usize]) {
            (NodeKind::Task { .. }, Kept::Result) => {
                parts.held_task_copies_bytes = parts
                    .held_task_copies_bytes
                    .saturating_add(task_held_bytes(graph, id));
                parts.results_bytes = parts.results_bytes.saturating_add(result_bytes(graph, id));
                if has_own_result(graph, id) {
                    parts.bookkeeping_bytes =
                        parts.bookkeeping_bytes.saturating_add(TASK_OVERHEAD_BYTES);
                    unknown += u64::from(node.output_bytes().is_none());
                }
            }
            (NodeKind::Task { .. }, Kept::RunSpec) => {
                parts.kept_ancestor_copies_bytes = parts
                    .kept_ancestor_copies_bytes
                    .saturating_add(task_held_bytes(graph, id));
                // Its task state stays too, referred to by the held task's (see the module docs).
                if kept_state && has_own_result(graph, id) {
                    parts.bookkeeping_bytes =
                        parts.bookkeeping_bytes.saturating_add(TASK_OVERHEAD_BYTES);
                }
            }
            (NodeKind::Task { .. }, Kept::Nothing) => {}
            (NodeKind::Data { content }, _) => {
                let size = graph.contents[content as usize].held_bytes();
                parts.shared_objects_bytes = parts
                    .shared_objects_bytes
                    .saturating_add(size.saturating_mul(u64::from(workers)));
            }
        }
    }
    (parts, unknown)
}

/// The objects the workers hold while the graph's results are held, as given (all of
/// [`HeldParts`] but the allocator's part): what the built-in engine's managed bytes are.
pub fn held_bytes(graph: &Graph, workers: u32) -> u64 {
    // Objects only: the heap the allocator keeps is not the engine's.
    let retained = retention(graph, workers);
    let uses = content_uses(graph, &retained);
    given_parts(graph, workers, &retained.kept, &uses)
        .0
        .objects_bytes()
}

/// Predictions for the graph as given and with its copied payloads scattered or delayed.
pub fn strategies(
    graph: &Graph,
    retained: &Retention,
    sizes: &Sizes,
    duplicates: &[DuplicatedPayload],
    workers: u32,
) -> Vec<StrategyPrediction> {
    let uses = content_uses(graph, retained);
    let (mut given_held, unknown) = given_parts(graph, workers, &retained.kept, &uses);
    given_held.allocator_kept_bytes = given_held
        .allocator_kept_bytes
        .saturating_add(fetched_objects_heap(graph, &retained.place, &retained.kept));
    let given = StrategyPrediction {
        strategy: "as-given".to_string(),
        variant: AS_GIVEN.to_string(),
        wire_bytes: sizes.wire_bytes,
        materialised_bytes: sizes.materialised_bytes,
        held_bytes: given_held.total(),
        held_unknown_results: unknown,
        held_unknown: unknown_parts(graph, unknown),
        held_parts: given_held,
        transient_bytes: 0,
        saved_held_bytes: 0,
        saved_wire_bytes: 0,
    };
    let mut rows = vec![given.clone()];
    // Each copied duplicate's content, found once (not once per strategy and duplicate).
    let copied = duplicate_contents(graph, duplicates.iter().filter(|d| d.is_copied()));
    let delayed = DelayedVariant::of(graph);
    for strategy in [Strategy::Scatter, Strategy::Delayed] {
        let mut row = given.clone();
        row.strategy = strategy.to_string();
        row.variant = match strategy {
            Strategy::Scatter => SCATTERED.to_string(),
            _ => delayed.describe().to_string(),
        };
        let parts = &mut row.held_parts;
        // The first transfer's part (item by item, or a pandas object's), once per worker taking
        // part (the largest).
        let mut first_transfer = 0u64;
        for &(duplicate, content) in &copied {
            let Some(content) = content else {
                continue;
            };
            let content_info = &graph.contents[content];
            let size = duplicate.size_bytes;
            let in_memory = content_info.held_bytes();
            let content_use = &uses[content];
            // The copies leave the tasks: those the workers kept, and the freed ones whose heap
            // the allocator kept.
            parts.held_task_copies_bytes = parts
                .held_task_copies_bytes
                .saturating_sub(content_use.copies_in_held.saturating_mul(in_memory));
            parts.kept_ancestor_copies_bytes = parts.kept_ancestor_copies_bytes.saturating_sub(
                content_use
                    .copies_in_kept_ancestors
                    .saturating_mul(in_memory),
            );
            parts.allocator_kept_bytes = parts
                .allocator_kept_bytes
                .saturating_sub(content_use.copies_heap_kept.saturating_mul(in_memory));
            row.wire_bytes = row
                .wire_bytes
                .saturating_sub(content_use.objects.saturating_mul(size));
            row.materialised_bytes = row
                .materialised_bytes
                .saturating_sub(duplicate.copies.saturating_mul(size));
            let reached = duplicate.tasks.min(u64::from(workers));
            let itemised = content_info.travels_item_by_item();
            let kept_by_a_task =
                content_use.copies_in_held + content_use.copies_in_kept_ancestors > 0;
            match (strategy, delayed) {
                (Strategy::Scatter, _) => {
                    parts.shared_objects_bytes = parts
                        .shared_objects_bytes
                        .saturating_add(u64::from(workers).saturating_mul(in_memory));
                    if let Some((items, objects)) = itemised {
                        if let Some(objects) = objects {
                            parts.allocator_kept_bytes = parts.allocator_kept_bytes.saturating_add(
                                u64::from(workers)
                                    .saturating_mul(objects)
                                    .saturating_mul(ITEMISED_HELD_BYTES_PER_OBJECT),
                            );
                        }
                        first_transfer = first_transfer.max(
                            u64::from(workers).saturating_mul(first_itemised_transfer_bytes(items)),
                        );
                    } else if sends_arrow_strings(content_info) && workers > 1 {
                        // distributed sends it to one worker, which passes it on to the others.
                        first_transfer =
                            first_transfer.max(PANDAS_FIRST_SEND_RATIO.saturating_mul(in_memory));
                    }
                }
                (_, variant) => {
                    row.wire_bytes = row.wire_bytes.saturating_add(DEFAULT_SPEC_BYTES);
                    // One copy stays where the object's task is kept; the copies shipped to the
                    // other workers reached are freed.
                    let stays = u64::from(variant == DelayedVariant::Object && kept_by_a_task);
                    parts.shared_objects_bytes = parts
                        .shared_objects_bytes
                        .saturating_add(stays.saturating_mul(in_memory));
                    if variant == DelayedVariant::Builder && kept_by_a_task {
                        // The builder task's run_spec (its call, not its result) stays.
                        parts.kept_ancestor_copies_bytes = parts
                            .kept_ancestor_copies_bytes
                            .saturating_add(DEFAULT_SPEC_BYTES);
                    }
                    let freed = reached.saturating_sub(stays);
                    row.transient_bytes = row
                        .transient_bytes
                        .saturating_add(reached.saturating_mul(in_memory));
                    let kept_heap = if let Some((items, _)) = itemised {
                        first_transfer = first_transfer
                            .max(reached.saturating_mul(first_itemised_transfer_bytes(items)));
                        reached
                            .saturating_mul(items)
                            .saturating_mul(itemised_released_bytes_per_item(stays > 0))
                    } else if is_container(content_info) {
                        freed.saturating_mul(in_memory)
                    } else {
                        if sends_arrow_strings(content_info) && reached > 1 {
                            // The worker that ran its task sends it to the others reached.
                            first_transfer = first_transfer
                                .max(PANDAS_FIRST_SEND_RATIO.saturating_mul(in_memory));
                        }
                        0
                    };
                    parts.allocator_kept_bytes =
                        parts.allocator_kept_bytes.saturating_add(kept_heap);
                }
            }
        }
        parts.allocator_kept_bytes = parts.allocator_kept_bytes.saturating_add(first_transfer);
        row.held_bytes = row.held_parts.total();
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
        analysis_of(items, "")
    }

    /// [`analysis_with`], the graph's `meta` given (`"generator"`: a collection's export).
    fn analysis_of(items: &str, meta: &str) -> crate::analyze::Analysis {
        analysis_typed("dict", 1_000_000, items, meta)
    }

    /// [`analysis_of`], the payload's Python type and in-memory size given.
    fn analysis_typed(
        type_name: &str,
        in_memory: u64,
        items: &str,
        meta: &str,
    ) -> crate::analyze::Analysis {
        analyze_on_two_workers(&crate::graph::test_graphs::one_payload_in_every_task(
            4, type_name, 100_000, in_memory, items, meta,
        ))
    }

    /// The analysis of a graph file's text on 2 workers.
    fn analyze_on_two_workers(text: &str) -> crate::analyze::Analysis {
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

    /// A pandas object with strings in pyarrow's memory keeps heap on the worker that sends it to
    /// the other: scattered (distributed sends it to one worker, which passes it on) or
    /// `dask.delayed(obj)` (the worker that ran its data task). The same object without the
    /// strings keeps nothing.
    #[test]
    fn a_pandas_objects_first_transfer_keeps_heap_on_both_ends() {
        let meta = r#""generator": "graphprof.export""#;
        // 150 kB in memory, 100 kB pickled: not a container by its ratio.
        let frame = analysis_typed("DataFrame", 150_000, r#", "arrow_strings": true"#, meta);
        let dict = analysis_typed("DataFrame", 150_000, "", meta);
        let kept =
            |a: &crate::analyze::Analysis, s: &str| row(a, s).held_parts.allocator_kept_bytes;
        assert_eq!(
            kept(&frame, "scatter") - kept(&dict, "scatter"),
            PANDAS_FIRST_SEND_RATIO * 150_000
        );
        assert_eq!(
            kept(&frame, "delayed") - kept(&dict, "delayed"),
            PANDAS_FIRST_SEND_RATIO * 150_000
        );
        assert_eq!(kept(&frame, "as-given"), kept(&dict, "as-given"));
        // Item by item, the itemised model applies instead.
        let itemised = analysis_typed(
            "DataFrame",
            1_000_000,
            r#", "items": 10000, "item_objects": 20000, "arrow_strings": true"#,
            meta,
        );
        let itemised_dict = analysis_typed(
            "dict",
            1_000_000,
            r#", "items": 10000, "item_objects": 20000"#,
            meta,
        );
        assert_eq!(kept(&itemised, "delayed"), kept(&itemised_dict, "delayed"));
    }

    /// A graph given with `dask.delayed(table)` (a data task whose value is the table, used by
    /// chunk tasks on both workers): the worker that ran the data task sends the table to the
    /// other, and keeps heap of twice its size when its strings live in pyarrow's memory.
    #[test]
    fn a_data_tasks_arrow_string_table_keeps_heap_on_the_sending_worker() {
        let given = |flag: &str| {
            let digest = format!("sha256:{}", "ef".repeat(32));
            let mut tasks = vec![format!(
                r#"{{"key": "table", "function": "data", "args": [{{"payload": {{"size_bytes":
                    100000, "digest": "{digest}", "object_id": 1, "type": "DataFrame"}}}}]}}"#
            )];
            tasks.extend((0..8).map(|i| {
                format!(
                    r#"{{"key": ["price", {i}], "function": "price", "output_bytes": 8000,
                        "args": [{{"ref": "table"}}]}}"#
                )
            }));
            let text = format!(
                r#"{{"format": "graphprof-graph", "version": 1,
                    "meta": {{"generator": "graphprof.export"}}, "tasks": [{}],
                    "contents": [{{"digest": "{digest}", "in_memory_bytes": 120000,
                    "role": "data"{flag}}}]}}"#,
                tasks.join(",")
            );
            analyze_on_two_workers(&text)
        };
        let arrow = given(r#", "arrow_strings": true"#);
        let numbers = given("");
        assert_eq!(
            row(&arrow, "as-given").held_parts.allocator_kept_bytes
                - row(&numbers, "as-given").held_parts.allocator_kept_bytes,
            PANDAS_FIRST_SEND_RATIO * 120_000
        );
        assert_eq!(
            row(&arrow, "as-given").held_parts.objects_bytes(),
            row(&numbers, "as-given").held_parts.objects_bytes()
        );
    }

    #[test]
    fn a_function_carrying_a_container_is_sent_whole_not_item_by_item() {
        // The same 10,000-item content, as the tasks' function (a closure over a list): a fix
        // moves the function, pickled whole, so no item-by-item residue is kept.
        let list = analysis_with(r#", "items": 10000, "item_objects": 20000"#);
        let function =
            analysis_with(r#", "items": 10000, "item_objects": 20000, "role": "function""#);
        let plain = analysis_with("");
        for strategy in ["scatter", "delayed"] {
            assert_eq!(
                row(&function, strategy).held_parts.allocator_kept_bytes,
                row(&plain, strategy).held_parts.allocator_kept_bytes,
                "{strategy}"
            );
            assert!(
                row(&list, strategy).held_bytes > row(&function, strategy).held_bytes,
                "{strategy}"
            );
        }
    }

    #[test]
    fn sending_a_container_item_by_item_is_in_the_held_figure_as_kept_heap() {
        let plain = analysis_with("");
        let itemised = analysis_with(r#", "items": 10000, "item_objects": 20000"#);
        let parts = |a: &crate::analyze::Analysis, s: &str| row(a, s).held_parts;
        // Objects are what lives; the item-by-item residue is heap the allocator keeps.
        for strategy in ["as-given", "scatter", "delayed"] {
            assert_eq!(
                parts(&plain, strategy).objects_bytes(),
                parts(&itemised, strategy).objects_bytes()
            );
            assert_eq!(
                row(&plain, strategy).held_bytes,
                parts(&plain, strategy).total()
            );
        }
        assert_eq!(
            row(&plain, "as-given").held_bytes,
            row(&itemised, "as-given").held_bytes
        );
        // Scatter: each of the 2 workers keeps the residue around the 20,000 objects it holds,
        // and its first item-by-item transfer's part (10,000 items: the cap).
        let first = first_itemised_transfer_bytes(10_000);
        assert_eq!(first, crate::graph::held::ITEMISED_FIRST_TRANSFER_MAX_BYTES);
        assert_eq!(
            row(&itemised, "scatter").held_bytes - row(&plain, "scatter").held_bytes,
            2 * 20_000 * ITEMISED_HELD_BYTES_PER_OBJECT + 2 * first
        );
        // Delayed (a generated graph: the object built in one task): the freed copy on each
        // worker reached (2) is replaced by the per-item residue and the first transfer's part.
        assert_eq!(
            parts(&itemised, "delayed").allocator_kept_bytes,
            2 * 10_000 * crate::graph::held::ITEMISED_RELEASED_BYTES_PER_ITEM + 2 * first
        );
        assert_eq!(parts(&plain, "delayed").allocator_kept_bytes, 2 * 1_000_000);
        assert!(
            row(&plain, "delayed")
                .variant
                .starts_with("built in one task")
        );
    }

    /// A user's collection: `delayed` is `dask.delayed(obj)`, whose one copy stays where its task
    /// is kept; the per-item residue is then the smaller one measured with a copy kept, on both
    /// ends, beside the kept copy itself and each end's first transfer.
    #[test]
    fn a_delayed_object_keeps_one_copy_and_the_smaller_per_item_residue() {
        let meta = r#""generator": "graphprof.export""#;
        let plain = analysis_of("", meta);
        let itemised = analysis_of(r#", "items": 10000, "item_objects": 20000"#, meta);
        let parts = |a: &crate::analyze::Analysis| row(a, "delayed").held_parts;
        assert!(
            row(&itemised, "delayed")
                .variant
                .starts_with("dask.delayed(obj)")
        );
        let first = first_itemised_transfer_bytes(10_000);
        assert_eq!(
            parts(&itemised).allocator_kept_bytes,
            2 * 10_000 * crate::graph::held::ITEMISED_RELEASED_ONE_KEPT_BYTES_PER_ITEM + 2 * first
        );
        // Less than the same container built in one task, where every copy is freed.
        let built = analysis_with(r#", "items": 10000, "item_objects": 20000"#);
        assert!(
            parts(&itemised).allocator_kept_bytes
                < row(&built, "delayed").held_parts.allocator_kept_bytes
        );
        // The copy that stays is an object the workers hold, whether it travels item by item or not.
        assert_eq!(parts(&itemised).shared_objects_bytes, 1_000_000);
        assert_eq!(parts(&plain).shared_objects_bytes, 1_000_000);
    }

    /// A reduction: 8 chunk tasks embed the dict, one sum of them is held. The sum's worker keeps
    /// the run_specs of the chunk tasks it ran (half of them on 2 workers), so their copies are
    /// held, and every fix saves memory.
    #[test]
    fn a_reductions_inputs_keep_their_copies_and_the_fixes_save_them() {
        let digest = format!("sha256:{}", "cd".repeat(32));
        let mut tasks: Vec<String> = (0..8)
            .map(|i| {
                format!(
                    r#"{{"key": ["chunk", {i}], "function": "f", "output_bytes": 8, "args": [
                        {{"payload": {{"size_bytes": 100000, "digest": "{digest}", "object_id": 1,
                        "type": "dict"}}}}]}}"#
                )
            })
            .collect();
        let refs: Vec<String> = (0..8)
            .map(|i| format!(r#"{{"ref": ["chunk", {i}]}}"#))
            .collect();
        tasks.push(format!(
            r#"{{"key": "total", "function": "sum", "output_bytes": 8, "args": [{}]}}"#,
            refs.join(",")
        ));
        let text = format!(
            r#"{{"format": "graphprof-graph", "version": 1, "tasks": [{}],
                "contents": [{{"digest": "{digest}", "in_memory_bytes": 1000000}}]}}"#,
            tasks.join(",")
        );
        let graph = read_graph(std::path::Path::new("g.json"), text.as_bytes()).unwrap();
        let options = AnalyzeOptions {
            workers: 2,
            ..AnalyzeOptions::default()
        };
        let analysis = analyze(&graph, "g.json", &options);
        let given = row(&analysis, "as-given");
        assert_eq!(
            given.held_parts.kept_ancestor_copies_bytes,
            4 * (1_000_000 + 64)
        );
        // The four chunk copies freed on the other worker stay as heap (a container).
        assert_eq!(given.held_parts.allocator_kept_bytes, 4 * 1_000_000);
        for fix in ["scatter", "delayed"] {
            assert!(row(&analysis, fix).saved_held_bytes > 0, "{fix}");
        }
        assert_eq!(given.held_unknown_results, 0);
    }
}
