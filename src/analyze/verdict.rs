//! Whether Dask's large-graph warning would fire (it sees only the wire bytes), and what is worth
//! acting on, ranked by what it costs. Three kinds of finding are told apart, each with its own
//! fix: one object copied into many tasks (scatter it or build it in one delayed task; when the
//! object is a function's instance or captured value, move it out of the function first), input
//! data embedded in the graph (load it with Dask instead), and large literals that each task
//! carries on its own. Equal but distinct small objects are never blamed.

use super::duplication::{DuplicatedPayload, duplicate_contents};
use super::layers::LayerIndex;
use super::sizes::Sizes;
use crate::graph::raw::PayloadRole;
use crate::graph::{Graph, NodeId, NodeKind};
use crate::units::{Bytes, DecimalBytes};
use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A finding is worth acting on when what it costs is at least this share of the warning
/// threshold (1 MB at Dask's default 10 MB)...
pub const WORTH_ACTING_SHARE_OF_THRESHOLD: f64 = 0.1;
/// ...and at least this share of the figure it is blamed for (wire or materialised).
pub const WORTH_ACTING_SHARE: f64 = 0.1;

/// What kind of cost a finding is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BlameKind {
    /// One object embedded in many tasks; each deserialises its own copy.
    Copied,
    /// Input data embedded in the graph as literal data (from_array, from_pandas, a list).
    EmbeddedInput,
    /// Distinct large literals, one per task, in one layer.
    PerTaskLiterals,
}

/// A payload, or a group of payloads, that a figure is blamed on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Blame {
    /// What kind of cost it is.
    pub kind: BlameKind,
    /// Content digest (of the largest payload, for a group).
    pub digest: String,
    /// Type label, if the file has one.
    pub type_name: Option<String>,
    /// Pickled size of one copy (of the largest payload, for a group).
    pub size_bytes: u64,
    /// Embedded copies (copied), or payloads in the group.
    pub copies: u64,
    /// Bytes of the client's message it accounts for.
    pub wire_bytes: u64,
    /// Materialised bytes it accounts for (all copies).
    pub materialised_bytes: u64,
    /// Memory the copies beyond the first hold on the workers (copied; 0 for groups).
    pub held_wasted_bytes: u64,
    /// The layer embedding it (most copies).
    pub layer: String,
    /// A task that embeds it.
    pub example_key: String,
    /// What it is, when the file says (else its type).
    pub description: Option<String>,
    /// The user's variable holding it, when the file says.
    pub variable: Option<String>,
    /// How to fix it.
    pub fix: String,
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
    /// The warning stays silent while an object copied into many tasks (the blame) makes the
    /// workers materialise more than the threshold: as pickles, or as the extra copies' in-memory
    /// size.
    pub silent_growth: bool,
    /// What the warning, or the silent growth, is blamed on.
    pub blame: Option<Blame>,
    /// One or two sentences for humans.
    pub explanation: String,
}

/// Everything worth acting on, most costly first: copied objects by the memory their extra
/// copies hold, input data and per-task literals by the bytes they put in the message.
pub fn findings(
    graph: &Graph,
    layers: &LayerIndex,
    duplicates: &[DuplicatedPayload],
    sizes: &Sizes,
    threshold_bytes: u64,
) -> Vec<Blame> {
    let mut found: Vec<(u64, Blame)> = Vec::new();
    let absolute = (threshold_bytes as f64 * WORTH_ACTING_SHARE_OF_THRESHOLD) as u64;
    let floor = |figure: u64| absolute.max((figure as f64 * WORTH_ACTING_SHARE) as u64);
    let copied = duplicates.iter().filter(|d| d.is_copied());
    for (duplicate, content) in duplicate_contents(graph, copied) {
        let cost = duplicate.held_wasted_bytes;
        if cost < floor(sizes.materialised_bytes) {
            continue;
        }
        found.push((cost, copied_blame(graph, duplicate, content)));
    }
    for group in literal_groups(graph, layers, duplicates) {
        if group.wire_bytes.max(group.materialised_bytes) < floor(sizes.wire_bytes) {
            continue;
        }
        found.push((group.wire_bytes.max(group.materialised_bytes), group));
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.digest.cmp(&b.1.digest)));
    found.into_iter().map(|(_, blame)| blame).collect()
}

/// `content`: the duplicate's index in `graph.contents`.
fn copied_blame(graph: &Graph, duplicate: &DuplicatedPayload, content: Option<usize>) -> Blame {
    let sent_objects = content.map_or(duplicate.objects, |c| sent_objects(graph, c as u32));
    let function = duplicate.role.as_deref() == Some(PayloadRole::Function.name());
    let fix = if function {
        "the function itself carries it (a bound method's instance or a closure's captured \
         value): move the object out into an argument of a module-level function, then pass \
         client.scatter(obj, broadcast=True) or dask.delayed(obj) as that argument"
    } else if super::predict::DelayedVariant::of(graph) == super::predict::DelayedVariant::Object {
        // A user's collection: what `graphprof sample` and `rewrite` run as `delayed`.
        "send it once: pass client.scatter(obj, broadcast=True) instead of the object (one copy \
         on every worker), or dask.delayed(obj) (the object once in the graph, one copy kept)"
    } else {
        "send it once: pass client.scatter(obj, broadcast=True) instead of the object, or build \
         it in one task with dask.delayed"
    };
    Blame {
        kind: BlameKind::Copied,
        digest: duplicate.digest.clone(),
        type_name: duplicate.type_name.clone(),
        size_bytes: duplicate.size_bytes,
        copies: duplicate.copies,
        wire_bytes: sent_objects.saturating_mul(duplicate.size_bytes),
        materialised_bytes: duplicate.copies.saturating_mul(duplicate.size_bytes),
        held_wasted_bytes: duplicate.held_wasted_bytes,
        layer: duplicate
            .layers
            .first()
            .map(|share| share.layer.clone())
            .unwrap_or_default(),
        example_key: duplicate.example_keys.first().cloned().unwrap_or_default(),
        description: duplicate.description.clone(),
        variable: duplicate.variable.clone(),
        fix: fix.to_string(),
    }
}

/// Distinct objects of one content that travel in the message.
fn sent_objects(graph: &Graph, content: u32) -> u64 {
    let mut seen = super::sizes::ObjectsSeen::default();
    let mut objects = 0u64;
    for id in graph.node_ids() {
        for payload in graph.payloads(id) {
            if payload.content != content || !payload.sent {
                continue;
            }
            objects += u64::from(match payload.object_id() {
                Some(object) => seen.first(content, object),
                None => true,
            });
        }
    }
    objects
}

/// Payloads embedded once each (not copied), grouped: input data (role `data`) over the whole
/// graph, other literals per layer and type. Groups come in the order of their first payload.
fn literal_groups(
    graph: &Graph,
    layers: &LayerIndex,
    duplicates: &[DuplicatedPayload],
) -> Vec<Blame> {
    // Per content: copied into several tasks (blamed as such, not as a literal).
    let mut copied = vec![false; graph.contents.len()];
    let copies = duplicates.iter().filter(|d| d.is_copied());
    for (_, content) in duplicate_contents(graph, copies) {
        if let Some(content) = content {
            copied[content] = true;
        }
    }
    /// A group while it is filled: contents by index, keys by node id, written out at the end.
    struct Group {
        input: bool,
        first_content: u32,
        first_task: NodeId,
        largest: u64,
        largest_content: u32,
        largest_task: NodeId,
        copies: u64,
        materialised_bytes: u64,
        wire_bytes: u64,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut group_ids: HashMap<(bool, u32, Option<&str>), usize, FixedState> = HashMap::default();
    for id in graph.node_ids() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        for payload in graph.payloads(id) {
            if copied[payload.content as usize] {
                continue;
            }
            let content = &graph.contents[payload.content as usize];
            let input = content.info.role == Some(PayloadRole::Data);
            let layer = if input {
                0
            } else {
                layers.of_node[id as usize]
            };
            let key = (input, layer, content.type_name.as_deref());
            let next = groups.len();
            let at = *group_ids.entry(key).or_insert(next);
            if at == next {
                groups.push(Group {
                    input,
                    first_content: payload.content,
                    first_task: id,
                    largest: 0,
                    largest_content: payload.content,
                    largest_task: id,
                    copies: 0,
                    materialised_bytes: 0,
                    wire_bytes: 0,
                });
            }
            let group = &mut groups[at];
            group.copies += 1;
            group.materialised_bytes = group.materialised_bytes.saturating_add(content.size_bytes);
            // Input data the scheduler sliced from one object the message holds once is in the
            // message all the same: its bytes are the message's.
            if payload.sent || input {
                group.wire_bytes = group.wire_bytes.saturating_add(content.size_bytes);
            }
            if content.size_bytes > group.largest {
                group.largest = content.size_bytes;
                group.largest_content = payload.content;
                group.largest_task = id;
            }
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let first = &graph.contents[group.first_content as usize];
            let largest = &graph.contents[group.largest_content as usize];
            let input = group.input;
            Blame {
                kind: if input {
                    BlameKind::EmbeddedInput
                } else {
                    BlameKind::PerTaskLiterals
                },
                digest: largest.digest.to_string(),
                type_name: first.type_name.clone(),
                size_bytes: largest.size_bytes,
                copies: group.copies,
                wire_bytes: group.wire_bytes,
                materialised_bytes: group.materialised_bytes,
                held_wasted_bytes: 0,
                layer: layers.name(group.first_task).to_string(),
                example_key: graph.key_display(group.largest_task),
                description: first.info.description.clone(),
                variable: first.info.variable.clone(),
                fix: if input {
                    "load the data with Dask inside the graph (da.from_zarr, dd.read_parquet, \
                     dask.bag.read_text, ...) instead of embedding it from client memory \
                     (from_array, from_pandas, from_sequence)"
                } else {
                    "each task carries its own large literal: load or build it inside the task, \
                     or scatter the objects and pass the futures"
                }
                .to_string(),
            }
        })
        .collect()
}

/// The warning verdict: whether it fires, and the finding to blame.
pub fn warning(sizes: &Sizes, findings: &[Blame], threshold_bytes: u64) -> WarningVerdict {
    let (wire_bytes, wire_source) = match sizes.wire_bytes_measured {
        Some(measured) => (measured, "measured"),
        None => (sizes.wire_bytes, "model"),
    };
    let fires = wire_bytes > threshold_bytes;
    let blame = if fires {
        findings
            .iter()
            .filter(|blame| blame.wire_bytes as f64 >= WORTH_ACTING_SHARE * wire_bytes as f64)
            .max_by_key(|blame| blame.wire_bytes)
            .cloned()
    } else {
        // Silent growth: the copies the workers deserialise pass the threshold, as pickles or as
        // the objects they unpack to (a set of strings can be 12x its pickle in memory).
        findings
            .iter()
            .find(|blame| blame.kind == BlameKind::Copied)
            .filter(|blame| {
                sizes.materialised_bytes > threshold_bytes
                    || blame.held_wasted_bytes > threshold_bytes
            })
            .cloned()
    };
    let silent_growth = !fires && blame.is_some();
    let explanation = explain(fires, wire_bytes, threshold_bytes, sizes, &blame);
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

/// One line naming a finding: what it is, its size, where.
pub fn describe(blame: &Blame) -> String {
    let what = match (&blame.description, &blame.type_name) {
        (Some(description), _) => description.clone(),
        (None, Some(type_name)) => format!("{type_name} {}", short_digest(&blame.digest)),
        (None, None) => format!("payload {}", short_digest(&blame.digest)),
    };
    let held_by = blame
        .variable
        .as_ref()
        .map(|variable| format!(", held by {variable}"))
        .unwrap_or_default();
    match blame.kind {
        BlameKind::Copied => format!(
            "{what}{held_by} ({} each, layer {}, e.g. in {})",
            Bytes(blame.size_bytes),
            blame.layer,
            blame.example_key
        ),
        BlameKind::EmbeddedInput => format!(
            "input data embedded in the graph: {} {} payloads, {} in all (largest {}, e.g. in {})",
            blame.copies,
            blame.type_name.as_deref().unwrap_or("data"),
            Bytes(blame.materialised_bytes),
            Bytes(blame.size_bytes),
            blame.example_key
        ),
        BlameKind::PerTaskLiterals => format!(
            "{} distinct {} literals, one per task in layer {}, {} in all (e.g. in {})",
            blame.copies,
            blame.type_name.as_deref().unwrap_or("payload"),
            blame.layer,
            Bytes(blame.materialised_bytes),
            blame.example_key
        ),
    }
}

/// `blake3:` plus 12 hex digits.
pub fn short_digest(digest: &str) -> String {
    let hex_start = digest.find(':').map_or(0, |colon| colon + 1);
    digest.chars().take(hex_start + 12).collect()
}

fn explain(fires: bool, wire: u64, threshold: u64, sizes: &Sizes, blame: &Option<Blame>) -> String {
    match (fires, blame) {
        (true, Some(blame)) if blame.kind == BlameKind::Copied => format!(
            "Dask would warn \"Sending large graph of size {}\" (threshold {}): {} accounts for {} of the message, sent as {} separate object(s).",
            Bytes(wire),
            DecimalBytes(threshold),
            describe(blame),
            Bytes(blame.wire_bytes),
            blame.wire_bytes / blame.size_bytes.max(1)
        ),
        (true, Some(blame)) => format!(
            "Dask would warn \"Sending large graph of size {}\" (threshold {}): {} account for {} of the message.",
            Bytes(wire),
            DecimalBytes(threshold),
            describe(blame),
            Bytes(blame.wire_bytes.min(wire))
        ),
        (true, None) => format!(
            "Dask would warn: the message is {} (threshold {}), spread over many small tasks.",
            Bytes(wire),
            DecimalBytes(threshold)
        ),
        (false, Some(blame)) if sizes.materialised_bytes > threshold => format!(
            "Dask stays silent: the client sends only {} (threshold {}), but each task deserialises its own copy, so workers materialise {}; {} is embedded {} times.",
            Bytes(wire),
            DecimalBytes(threshold),
            Bytes(sizes.materialised_bytes),
            describe(blame),
            blame.copies
        ),
        (false, Some(blame)) => format!(
            "Dask stays silent: the client sends only {} and the tasks materialise {} of pickles (threshold {}), but each task deserialises its own copy of {}, embedded {} times, and its extra copies hold {} in memory.",
            Bytes(wire),
            Bytes(sizes.materialised_bytes),
            DecimalBytes(threshold),
            describe(blame),
            blame.copies,
            Bytes(blame.held_wasted_bytes)
        ),
        (false, None) if sizes.materialised_bytes > threshold => format!(
            "No warning: the client sends {} (threshold {}); the tasks materialise {} once shipped one by one, with no object copied enough to matter.",
            Bytes(wire),
            DecimalBytes(threshold),
            Bytes(sizes.materialised_bytes)
        ),
        (false, None) => format!(
            "No warning: the client sends {} and the tasks materialise {}, both under the {} threshold.",
            Bytes(wire),
            Bytes(sizes.materialised_bytes),
            DecimalBytes(threshold)
        ),
    }
}
