//! Finds payloads embedded more than once, by content (digest), whatever their names: how many
//! copies, in how many tasks and layers, how many distinct objects carry them (which sets what the
//! wire pays), and the bytes wasted.

use super::sizes::LayerIndex;
use crate::graph::{Graph, NodeKind};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::HashSet;

/// A layer's share of a duplicated payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerShare {
    /// The layer.
    pub layer: String,
    /// Copies embedded in this layer's tasks.
    pub copies: u64,
    /// Bytes wasted in this layer (the one copy that is needed is charged to the first layer).
    pub wasted_bytes: u64,
}

/// One payload content embedded more than once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicatedPayload {
    /// Content digest, `ALGO:HEX`.
    pub digest: String,
    /// Serialized size of one copy, in bytes.
    pub size_bytes: u64,
    /// Type label from the file, if any.
    pub type_name: Option<String>,
    /// Number of embedded copies (each deserialised on its own).
    pub copies: u64,
    /// Number of distinct tasks that embed it.
    pub tasks: u64,
    /// Number of distinct objects carrying it in the client's message (object identity).
    pub objects: u64,
    /// `(copies - 1) x size_bytes`: memory wasted once the tasks are deserialised.
    pub wasted_bytes: u64,
    /// `(objects - 1) x size_bytes`: bytes the message carries more than once.
    pub wire_wasted_bytes: u64,
    /// Layers embedding it, most copies first.
    pub layers: Vec<LayerShare>,
    /// A few keys of tasks that embed it.
    pub example_keys: Vec<String>,
}

#[derive(Default, Clone)]
struct Tally {
    copies: u64,
    tasks: u64,
    last_task: Option<u32>,
    anonymous_objects: u64,
    objects: HashSet<u64>,
    layers: Vec<(u32, u64)>,
    examples: Vec<u32>,
}

/// Payload contents embedded two or more times, most wasted bytes first.
pub fn find_duplicates(
    graph: &Graph,
    layers: &LayerIndex,
    examples: usize,
) -> Vec<DuplicatedPayload> {
    let mut tallies: Vec<Tally> = vec![Tally::default(); graph.contents.len()];
    for id in graph.node_ids() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        let layer = layers.of_node[id as usize];
        for payload in graph.payloads(id) {
            let tally = &mut tallies[payload.content as usize];
            tally.copies += 1;
            if tally.last_task != Some(id) {
                tally.tasks += 1;
                tally.last_task = Some(id);
                if tally.examples.len() < examples {
                    tally.examples.push(id);
                }
            }
            match payload.object_id {
                Some(object) => {
                    tally.objects.insert(object);
                }
                None => tally.anonymous_objects += 1,
            }
            match tally.layers.iter_mut().find(|(l, _)| *l == layer) {
                Some((_, copies)) => *copies += 1,
                None => tally.layers.push((layer, 1)),
            }
        }
    }
    let mut duplicates: Vec<DuplicatedPayload> = tallies
        .into_iter()
        .enumerate()
        .filter(|(_, tally)| tally.copies >= 2)
        .map(|(content, tally)| {
            let content = &graph.contents[content];
            let size = content.size_bytes;
            let objects = tally.objects.len() as u64 + tally.anonymous_objects;
            let mut shares: Vec<LayerShare> = tally
                .layers
                .iter()
                .enumerate()
                .map(|(i, &(layer, copies))| LayerShare {
                    layer: layers.names[layer as usize].clone(),
                    copies,
                    wasted_bytes: copies
                        .saturating_sub(u64::from(i == 0))
                        .saturating_mul(size),
                })
                .collect();
            shares.sort_by_key(|share| (Reverse(share.copies), share.layer.clone()));
            DuplicatedPayload {
                digest: content.digest.to_string(),
                size_bytes: size,
                type_name: content.type_name.clone(),
                copies: tally.copies,
                tasks: tally.tasks,
                objects,
                wasted_bytes: (tally.copies - 1).saturating_mul(size),
                wire_wasted_bytes: objects.saturating_sub(1).saturating_mul(size),
                layers: shares,
                example_keys: tally
                    .examples
                    .iter()
                    .map(|&id| graph.key_display(id))
                    .collect(),
            }
        })
        .collect();
    duplicates.sort_by(|a, b| {
        (Reverse(a.wasted_bytes), &a.digest).cmp(&(Reverse(b.wasted_bytes), &b.digest))
    });
    duplicates
}
