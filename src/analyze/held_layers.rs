//! Held memory per layer (task prefix), as given: what the workers keep of each layer while the
//! results are held ([`crate::graph::held::Kept`]): its tasks in memory and their results, and
//! its released tasks kept with their run_specs, with the payload copies those embed. The same
//! split `graphprof sample --engine dask` measures on the workers, so the two sit side by side.

use super::layers::LayerIndex;
use super::predict::task_held_bytes;
use crate::graph::Graph;
use crate::graph::held::{Kept, result_bytes};
use serde::{Deserialize, Serialize};

/// What the workers keep of one layer while the results are held.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeldLayer {
    /// The layer (Dask's `key_split` of the keys).
    pub layer: String,
    /// Tasks held in memory with the results.
    pub tasks_in_memory: u64,
    /// Their results' bytes (known sizes only).
    pub results_bytes: u64,
    /// Results of this layer whose size the file does not give.
    pub unknown_results: u64,
    /// Released tasks whose run_spec a worker keeps with a held result.
    pub released_kept: u64,
    /// In-memory bytes of the run_specs kept (held and released tasks): specs and payload copies.
    pub run_spec_bytes: u64,
}

impl HeldLayer {
    /// Results and run_specs together.
    pub fn total_bytes(&self) -> u64 {
        self.results_bytes.saturating_add(self.run_spec_bytes)
    }
}

/// Per layer, what is kept, biggest first; layers that keep nothing are left out.
pub fn held_by_layer(graph: &Graph, layer_index: &LayerIndex, kept: &[Kept]) -> Vec<HeldLayer> {
    // Per layer of the index: its figures, and whether any of its tasks is kept.
    let mut by_layer: Vec<(bool, HeldLayer)> =
        vec![(false, HeldLayer::default()); layer_index.names.len()];
    for id in graph.node_ids() {
        let kind = kept[id as usize];
        if kind == Kept::Nothing || graph.function(id).is_none() {
            continue;
        }
        let (any, layer) = &mut by_layer[layer_index.of_node[id as usize] as usize];
        *any = true;
        layer.run_spec_bytes = layer
            .run_spec_bytes
            .saturating_add(task_held_bytes(graph, id));
        if kind == Kept::Result {
            layer.tasks_in_memory += 1;
            layer.results_bytes = layer.results_bytes.saturating_add(result_bytes(graph, id));
            let own = crate::graph::held::has_own_result(graph, id);
            layer.unknown_results += u64::from(own && graph.node(id).output_bytes().is_none());
        } else {
            layer.released_kept += 1;
        }
    }
    let mut layers: Vec<HeldLayer> = (by_layer.into_iter().zip(&layer_index.names))
        .filter(|((any, _), _)| *any)
        .map(|((_, mut layer), name)| {
            layer.layer = name.clone();
            layer
        })
        .collect();
    layers.sort_by(|a, b| {
        b.total_bytes()
            .cmp(&a.total_bytes())
            .then_with(|| a.layer.cmp(&b.layer))
    });
    layers
}
