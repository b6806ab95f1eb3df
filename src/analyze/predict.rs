//! Predictions: whether Dask's large-graph warning would fire (it sees only the wire bytes) and
//! whom to blame, and what the graph would cost as given, scattered or delayed. The held-memory
//! model is the built-in engine's: while results are held, workers keep each leaf task's
//! deserialised arguments with its result; intermediate tasks are released once their dependents
//! ran; a scattered object is held once per worker; a delayed builder's result is released.

use super::duplication::DuplicatedPayload;
use super::sizes::Sizes;
use crate::graph::held::{held_nodes, result_bytes};
use crate::graph::model::DEFAULT_SPEC_BYTES;
use crate::graph::{Graph, NodeKind, Strategy};
use crate::units::{Bytes, DecimalBytes};
use serde::{Deserialize, Serialize};

/// The payload a warning or a growth is blamed on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Blame {
    /// Content digest.
    pub digest: String,
    /// Type label, if the file has one.
    pub type_name: Option<String>,
    /// Size of one copy.
    pub size_bytes: u64,
    /// Embedded copies.
    pub copies: u64,
    /// Bytes of the client's message it accounts for.
    pub wire_bytes: u64,
    /// Materialised bytes it accounts for (all copies).
    pub materialised_bytes: u64,
    /// A task that embeds it.
    pub example_key: String,
}

/// Whether `distributed.admin.large-graph-warning-threshold` would be exceeded, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WarningVerdict {
    /// The threshold compared against.
    pub threshold_bytes: u64,
    /// The wire bytes the warning sees (measured when the file has them, else modelled).
    pub wire_bytes: u64,
    /// `measured` or `model`.
    pub wire_source: String,
    /// Dask would print "Sending large graph of size ...".
    pub fires: bool,
    /// Materialised bytes, which the warning does not see.
    pub materialised_bytes: u64,
    /// The warning stays silent while materialised bytes exceed the threshold.
    pub silent_growth: bool,
    /// The payload to blame, when the warning fires or growth is silent.
    pub blame: Option<Blame>,
    /// One or two sentences for humans.
    pub explanation: String,
}

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
    /// `held_bytes` of the graph as given minus this one's.
    pub saved_held_bytes: i64,
    /// Wire bytes of the graph as given minus this one's.
    pub saved_wire_bytes: i64,
}

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
            let new_object = match payload.object_id {
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
    let mut held = 0u64;
    for id in graph.node_ids() {
        let node = graph.node(id);
        match node.kind {
            NodeKind::Task { .. } if held_tasks[id as usize] => {
                held = held
                    .saturating_add(super::sizes::task_materialised_bytes(graph, id))
                    .saturating_add(result_bytes(graph, id));
            }
            NodeKind::Task { .. } => {}
            NodeKind::Data { content } => {
                let size = graph.contents[content as usize].size_bytes;
                held = held.saturating_add(size.saturating_mul(u64::from(workers)));
            }
        }
    }
    held
}

/// The warning verdict.
pub fn warning(
    graph: &Graph,
    sizes: &Sizes,
    duplicates: &[DuplicatedPayload],
    threshold_bytes: u64,
) -> WarningVerdict {
    let (wire_bytes, wire_source) = match sizes.wire_bytes_measured {
        Some(measured) => (measured, "measured"),
        None => (sizes.wire_bytes, "model"),
    };
    let fires = wire_bytes > threshold_bytes;
    let silent_growth = !fires && sizes.materialised_bytes > threshold_bytes;
    let uses = content_uses(graph, None);
    let blame_of = |content: usize, copies: u64| {
        let item = &graph.contents[content];
        Blame {
            digest: item.digest.to_string(),
            type_name: item.type_name.clone(),
            size_bytes: item.size_bytes,
            copies,
            wire_bytes: uses[content].objects.saturating_mul(item.size_bytes),
            materialised_bytes: copies.saturating_mul(item.size_bytes),
            example_key: uses[content]
                .first_task
                .map(|id| graph.key_display(id))
                .unwrap_or_default(),
        }
    };
    let content_index = |digest: &str| {
        graph
            .contents
            .iter()
            .position(|content| content.digest.to_string() == digest)
    };
    let blame = if fires {
        (0..graph.contents.len())
            .max_by_key(|&c| uses[c].objects.saturating_mul(graph.contents[c].size_bytes))
            .filter(|&c| uses[c].objects > 0)
            .map(|c| {
                let copies = duplicates
                    .iter()
                    .find(|d| d.digest == graph.contents[c].digest.to_string())
                    .map_or(1, |d| d.copies);
                blame_of(c, copies)
            })
    } else if silent_growth {
        duplicates
            .first()
            .and_then(|d| content_index(&d.digest).map(|c| blame_of(c, d.copies)))
    } else {
        None
    };
    let explanation = explain(
        fires,
        silent_growth,
        wire_bytes,
        threshold_bytes,
        sizes,
        &blame,
    );
    WarningVerdict {
        threshold_bytes,
        wire_bytes,
        wire_source: wire_source.to_string(),
        fires,
        materialised_bytes: sizes.materialised_bytes,
        silent_growth,
        blame,
        explanation,
    }
}

fn describe(blame: &Blame) -> String {
    let kind = blame.type_name.as_deref().unwrap_or("payload");
    format!(
        "{kind} {} ({} each, e.g. in {})",
        short_digest(&blame.digest),
        Bytes(blame.size_bytes),
        blame.example_key
    )
}

/// `blake3:` plus 12 hex digits.
pub fn short_digest(digest: &str) -> String {
    let hex_start = digest.find(':').map_or(0, |colon| colon + 1);
    digest.chars().take(hex_start + 12).collect()
}

fn explain(
    fires: bool,
    silent_growth: bool,
    wire: u64,
    threshold: u64,
    sizes: &Sizes,
    blame: &Option<Blame>,
) -> String {
    match (fires, silent_growth, blame) {
        (true, _, Some(blame)) => format!(
            "Dask would warn \"Sending large graph of size {}\" (threshold {}): {} accounts for {} of the message, sent as {} separate object(s).",
            Bytes(wire),
            DecimalBytes(threshold),
            describe(blame),
            Bytes(blame.wire_bytes),
            blame.wire_bytes / blame.size_bytes.max(1)
        ),
        (true, _, None) => format!(
            "Dask would warn: the message is {} (threshold {}), spread over many small tasks.",
            Bytes(wire),
            DecimalBytes(threshold)
        ),
        (false, true, Some(blame)) => format!(
            "Dask stays silent: the client sends only {} (threshold {}), but each task deserialises its own copy, so workers materialise {}; {} is embedded {} times.",
            Bytes(wire),
            DecimalBytes(threshold),
            Bytes(sizes.materialised_bytes),
            describe(blame),
            blame.copies
        ),
        (false, true, None) => format!(
            "Dask stays silent: the client sends only {} (threshold {}), but the tasks materialise {} once deserialised.",
            Bytes(wire),
            DecimalBytes(threshold),
            Bytes(sizes.materialised_bytes)
        ),
        (false, false, _) => format!(
            "No warning: the client sends {} and the tasks materialise {}, both under the {} threshold.",
            Bytes(wire),
            Bytes(sizes.materialised_bytes),
            DecimalBytes(threshold)
        ),
    }
}

/// Predictions for the graph as given and with its duplicated payloads scattered or delayed.
pub fn strategies(
    graph: &Graph,
    sizes: &Sizes,
    duplicates: &[DuplicatedPayload],
    workers: u32,
) -> Vec<StrategyPrediction> {
    let held_tasks = held_nodes(graph);
    let uses = content_uses(graph, Some(&held_tasks));
    let given_held = held_bytes_of(graph, workers, &held_tasks);
    let given = StrategyPrediction {
        strategy: "as-given".to_string(),
        wire_bytes: sizes.wire_bytes,
        materialised_bytes: sizes.materialised_bytes,
        held_bytes: given_held,
        transient_bytes: 0,
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
        for duplicate in duplicates {
            let Some(&content) = by_digest.get(&duplicate.digest) else {
                continue;
            };
            let size = duplicate.size_bytes;
            let content_use = &uses[content];
            row.wire_bytes = row
                .wire_bytes
                .saturating_sub(content_use.objects.saturating_mul(size));
            row.materialised_bytes = row
                .materialised_bytes
                .saturating_sub(duplicate.copies.saturating_mul(size));
            row.held_bytes = row
                .held_bytes
                .saturating_sub(content_use.leaf_copies.saturating_mul(size));
            let shipped = duplicate.tasks.min(u64::from(workers)).saturating_mul(size);
            match strategy {
                Strategy::Scatter => {
                    row.held_bytes = row
                        .held_bytes
                        .saturating_add(u64::from(workers).saturating_mul(size))
                }
                _ => {
                    row.wire_bytes = row.wire_bytes.saturating_add(DEFAULT_SPEC_BYTES);
                    row.transient_bytes = row.transient_bytes.saturating_add(shipped);
                }
            }
        }
        row.saved_held_bytes = given.held_bytes as i64 - row.held_bytes as i64;
        row.saved_wire_bytes = given.wire_bytes as i64 - row.wire_bytes as i64;
        rows.push(row);
    }
    rows
}
