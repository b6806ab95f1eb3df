//! Finds payloads embedded more than once, by content (digest), whatever their names: how many
//! copies, in how many tasks and layers, how many distinct objects carry them (which sets what the
//! wire pays), and the bytes wasted. Tells the kinds apart: one object copied into many tasks (the
//! waste that scatter or delayed fixes) and equal but distinct objects (each task built its own;
//! not worth acting on), so that only the first is blamed and counted as duplicated.

use super::layers::LayerIndex;
use crate::graph::{Digest, Graph, NodeKind};
use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::HashMap;

/// What kind of repetition a duplicated payload is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DuplicateKind {
    /// One object embedded in several tasks: each task deserialises its own copy (scatter or
    /// delayed fix it). Payloads without object identity count as one object.
    Copied,
    /// Equal content in distinct objects, each embedded once: every task built its own.
    EqualObjects,
}

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
    /// One object copied into tasks, or equal distinct objects.
    pub kind: DuplicateKind,
    /// Bytes one deserialised copy holds in memory, when the exporter measured it.
    pub in_memory_bytes: Option<u64>,
    /// How the tasks carry it (`argument`, `function`, `data`), when the file says.
    pub role: Option<String>,
    /// What it is and why it is big, when the file says.
    pub description: Option<String>,
    /// The user's variable holding it, when the file says.
    pub variable: Option<String>,
    /// Number of embedded copies (each deserialised on its own).
    pub copies: u64,
    /// Number of distinct tasks that embed it.
    pub tasks: u64,
    /// Number of distinct objects carrying it in the client's message (object identity).
    pub objects: u64,
    /// `(copies - 1) x size_bytes`: bytes deserialised more than once.
    pub wasted_bytes: u64,
    /// `(copies - 1)` x the in-memory size (the pickled size where that is unknown): memory the
    /// extra copies hold on the workers.
    pub held_wasted_bytes: u64,
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
    anonymous_uses: u64,
    /// Uses per object id, but for the run of uses of `last_object` still being counted.
    objects: HashMap<u64, u64>,
    /// The object of the latest use and its uses since it differed: consecutive uses of one
    /// object (a mapper embedded in every chunk) are the common case, counted without a lookup.
    last_object: Option<(u64, u64)>,
    /// Copies per layer, in the order the layers were first seen (the first is charged the one
    /// copy that is needed).
    layers: Vec<(u32, u64)>,
    examples: Vec<u32>,
}

/// A payload's layers are looked up by a scan up to this many, beyond that in [`LayerSlots`].
const LAYERS_SCANNED: usize = 16;

/// Where each layer of a payload with more than [`LAYERS_SCANNED`] of them is in its tally's
/// `layers`, by (content, layer): one table for all contents, so a payload shared by many
/// one-task layers is counted in time linear in its uses, and a tally costs no more memory.
type LayerSlots = HashMap<(u32, u32), u32, FixedState>;

impl Tally {
    /// One more use of `object`.
    fn add_object(&mut self, object: u64) {
        match &mut self.last_object {
            Some((last, uses)) if *last == object => *uses += 1,
            _ => {
                self.flush_object();
                self.last_object = Some((object, 1));
            }
        }
    }

    /// Moves the run of uses of the latest object into `objects`.
    fn flush_object(&mut self) {
        if let Some((object, uses)) = self.last_object.take() {
            *self.objects.entry(object).or_default() += uses;
        }
    }

    /// One more copy in `layer` of this tally's `content`; `slots` holds the layers of the
    /// contents with more than [`LAYERS_SCANNED`].
    fn add_layer(&mut self, content: u32, layer: u32, slots: &mut LayerSlots) {
        let slot = if self.layers.len() <= LAYERS_SCANNED {
            self.layers.iter().position(|&(known, _)| known == layer)
        } else {
            slots.get(&(content, layer)).map(|&slot| slot as usize)
        };
        if let Some(slot) = slot {
            self.layers[slot].1 += 1;
            return;
        }
        self.layers.push((layer, 1));
        if self.layers.len() == LAYERS_SCANNED + 1 {
            // Past the scan: every layer so far goes into the table.
            for (slot, &(known, _)) in self.layers.iter().enumerate() {
                slots.insert((content, known), slot as u32);
            }
        } else if self.layers.len() > LAYERS_SCANNED + 1 {
            slots.insert((content, layer), (self.layers.len() - 1) as u32);
        }
    }

    /// Whether one object is embedded more than once (anonymous uses count as one object).
    fn copied(&self) -> bool {
        self.anonymous_uses >= 2 || self.objects.values().any(|&uses| uses >= 2)
    }
}

/// Payload contents embedded two or more times, most wasted bytes first.
pub fn find_duplicates(
    graph: &Graph,
    layers: &LayerIndex,
    examples: usize,
) -> Vec<DuplicatedPayload> {
    let mut tallies: Vec<Tally> = vec![Tally::default(); graph.contents.len()];
    let mut layer_slots = LayerSlots::default();
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
            match payload.object_id() {
                Some(object) => tally.add_object(object),
                None => tally.anonymous_uses += 1,
            }
            tally.add_layer(payload.content, layer, &mut layer_slots);
        }
    }
    for tally in &mut tallies {
        tally.flush_object();
    }
    let mut duplicates: Vec<DuplicatedPayload> = tallies
        .into_iter()
        .enumerate()
        .filter(|(_, tally)| tally.copies >= 2)
        .map(|(content, tally)| {
            let content = &graph.contents[content];
            let size = content.size_bytes;
            let objects = tally.objects.len() as u64 + tally.anonymous_uses;
            let kind = if tally.copied() {
                DuplicateKind::Copied
            } else {
                DuplicateKind::EqualObjects
            };
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
                kind,
                in_memory_bytes: content.info.in_memory_bytes,
                role: content.info.role.map(|role| role.name().to_string()),
                description: content.info.description.clone(),
                variable: content.info.variable.clone(),
                copies: tally.copies,
                tasks: tally.tasks,
                objects,
                wasted_bytes: (tally.copies - 1).saturating_mul(size),
                held_wasted_bytes: (tally.copies - 1).saturating_mul(content.held_bytes()),
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
    // Copied objects first (what is worth acting on), then by what the copies hold.
    duplicates.sort_by(|a, b| {
        let rank = |d: &DuplicatedPayload| {
            (
                d.kind != DuplicateKind::Copied,
                Reverse(d.held_wasted_bytes),
                Reverse(d.wasted_bytes),
            )
        };
        (rank(a), &a.digest).cmp(&(rank(b), &b.digest))
    });
    duplicates
}

/// Each duplicate with the index of its content in `graph.contents` (`None` should its digest name
/// none, which never happens for a duplicate found in this graph), in one pass over the contents:
/// no digest is formatted per content.
pub fn duplicate_contents<'a>(
    graph: &Graph,
    duplicates: impl IntoIterator<Item = &'a DuplicatedPayload>,
) -> Vec<(&'a DuplicatedPayload, Option<usize>)> {
    let mut found: Vec<(&DuplicatedPayload, Option<usize>)> =
        duplicates.into_iter().map(|d| (d, None)).collect();
    if found.is_empty() {
        return found;
    }
    let wanted: HashMap<Digest, usize, FixedState> = (found.iter().enumerate())
        .filter_map(|(at, (d, _))| Digest::parse(&d.digest).ok().map(|digest| (digest, at)))
        .collect();
    for (index, content) in graph.contents.iter().enumerate() {
        if let Some(&at) = wanted.get(&content.digest) {
            found[at].1.get_or_insert(index);
        }
    }
    found
}

impl DuplicatedPayload {
    /// Whether this is one object copied into several tasks (what scatter and delayed fix).
    pub fn is_copied(&self) -> bool {
        self.kind == DuplicateKind::Copied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One more copy in `layer`, as the scan counted before the table.
    fn count(expected: &mut Vec<(u32, u64)>, layer: u32) {
        match expected.iter_mut().find(|(known, _)| *known == layer) {
            Some((_, copies)) => *copies += 1,
            None => expected.push((layer, 1)),
        }
    }

    #[test]
    fn layers_are_counted_in_first_seen_order_past_the_scan() {
        // Sequences that stay under the scan, cross it once, and go far past it, revisiting
        // early layers after the table is built; two contents share one table of slots, each
        // seeing the layers in another order, and each must find only its own.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for (length, spread) in [(10, 5), (40, 17), (400, 30), (3_000, 900), (5_000, 5_000)] {
            let mut slots = LayerSlots::default();
            let (mut tally, mut other) = (Tally::default(), Tally::default());
            let (mut expected, mut other_expected) = (Vec::new(), Vec::new());
            for _ in 0..length {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let layer = (state % spread) as u32;
                tally.add_layer(1, layer, &mut slots);
                count(&mut expected, layer);
                let shifted = (layer + 7) % spread as u32;
                other.add_layer(2, shifted, &mut slots);
                count(&mut other_expected, shifted);
            }
            assert_eq!(tally.layers, expected, "{length} uses over {spread} layers");
            assert_eq!(other.layers, other_expected, "{length} uses over {spread}");
            let in_table = slots.keys().filter(|(content, _)| *content == 1).count();
            let past_scan = expected.len() > LAYERS_SCANNED;
            assert_eq!(in_table, if past_scan { expected.len() } else { 0 });
        }
    }
}
