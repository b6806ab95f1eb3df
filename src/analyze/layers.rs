//! Which layer each node belongs to: layer names interned once per graph, so that duplication,
//! sizes and verdicts group by layer without each working out a node's layer from its key.

use crate::graph::{Graph, NodeId, key};
use foldhash::fast::FixedState;
use std::collections::HashMap;

/// Interned layer names, computed once per node.
pub struct LayerIndex {
    /// Layer names.
    pub names: Vec<String>,
    /// Layer of each node.
    pub of_node: Vec<u32>,
}

impl LayerIndex {
    /// Computes every node's layer, caching by key name: a million chunks of a few layers cost a
    /// string comparison each (the last name first), with no allocation.
    pub fn new(graph: &Graph) -> Self {
        let mut names = Vec::new();
        let mut by_layer: HashMap<String, u32> = HashMap::new();
        let mut by_key_name: HashMap<&str, u32, FixedState> = HashMap::default();
        // Neighbouring nodes are mostly chunks of one name: the last name is checked first.
        let mut last: Option<(&str, u32)> = None;
        let of_node = graph
            .node_ids()
            .map(|id| {
                let token = graph.key_name_token(id);
                if let Some((known, layer)) = last
                    && known == token
                {
                    return layer;
                }
                if let Some(&layer) = by_key_name.get(token) {
                    last = Some((token, layer));
                    return layer;
                }
                let layer_name = key::layer_of_name(&key::key_name(&graph.tagged_key(id)));
                let layer = *by_layer.entry(layer_name.clone()).or_insert_with(|| {
                    names.push(layer_name);
                    (names.len() - 1) as u32
                });
                by_key_name.insert(token, layer);
                last = Some((token, layer));
                layer
            })
            .collect();
        LayerIndex { names, of_node }
    }

    /// The layer name of a node.
    pub fn name(&self, id: NodeId) -> &str {
        &self.names[self.of_node[id as usize] as usize]
    }
}
