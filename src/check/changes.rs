//! What changed between two measurements of a graph: duplicated payloads that are new, gone or
//! whose copies changed, and layers whose bytes changed. Shared by `check` (the top offenders)
//! and `diff`.

use super::baseline::{GraphFigures, LayerFigures};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::HashMap;

/// A duplicated payload that is new, gone, or embedded a different number of times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadChange {
    /// Content digest, `ALGO:HEX`.
    pub digest: String,
    /// Type label, if any.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Size of one copy, in bytes.
    pub size_bytes: u64,
    /// Copies before (0: it was not duplicated).
    pub copies_before: u64,
    /// Copies now (0: it is no longer duplicated).
    pub copies_now: u64,
    /// Layers embedding it now (or before, when gone).
    pub layers: Vec<String>,
}

impl PayloadChange {
    /// Change of the wasted bytes, `(copies - 1) x size`, signed.
    pub fn wasted_delta_bytes(&self) -> i128 {
        let wasted =
            |copies: u64| i128::from(copies.saturating_sub(1)) * i128::from(self.size_bytes);
        wasted(self.copies_now) - wasted(self.copies_before)
    }
}

/// A layer whose bytes changed, or that appeared or disappeared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChange {
    /// Layer name.
    pub name: String,
    /// Materialised bytes before (`None`: the layer is new).
    pub materialised_bytes_before: Option<u64>,
    /// Materialised bytes now (`None`: the layer is gone).
    pub materialised_bytes_now: Option<u64>,
    /// Wire bytes before.
    pub wire_bytes_before: Option<u64>,
    /// Wire bytes now.
    pub wire_bytes_now: Option<u64>,
    /// Tasks before.
    pub tasks_before: Option<u64>,
    /// Tasks now.
    pub tasks_now: Option<u64>,
}

impl LayerChange {
    /// Change of materialised bytes, signed (a missing side counts as 0).
    pub fn materialised_delta_bytes(&self) -> i128 {
        i128::from(self.materialised_bytes_now.unwrap_or(0))
            - i128::from(self.materialised_bytes_before.unwrap_or(0))
    }
}

/// Everything that changed between two measurements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Payloads duplicated now that were not before, most wasted bytes first.
    pub new_payloads: Vec<PayloadChange>,
    /// Payloads duplicated before and now with a different number of copies, largest change first.
    pub changed_payloads: Vec<PayloadChange>,
    /// Payloads duplicated before that are not any more.
    pub gone_payloads: Vec<PayloadChange>,
    /// Layers whose materialised or wire bytes or task count changed, largest growth first.
    pub layers: Vec<LayerChange>,
}

impl Changes {
    /// The new payloads and the payloads with more copies than before.
    pub fn grown_payloads(&self) -> impl Iterator<Item = &PayloadChange> {
        self.new_payloads.iter().chain(
            self.changed_payloads
                .iter()
                .filter(|p| p.copies_now > p.copies_before),
        )
    }

    /// The layers that are new or hold more bytes than before.
    pub fn grown_layers(&self) -> impl Iterator<Item = &LayerChange> {
        self.layers
            .iter()
            .filter(|l| l.materialised_delta_bytes() > 0)
    }
}

/// Each item by its name, the first of a name winning (as a scan would find it): built once, so a
/// comparison is linear in the payloads and layers, not quadratic.
fn first_by<'a, T>(items: &'a [T], name: impl Fn(&'a T) -> &'a str) -> HashMap<&'a str, &'a T> {
    let mut index = HashMap::with_capacity(items.len());
    for item in items {
        index.entry(name(item)).or_insert(item);
    }
    index
}

/// Compares two measurements of a graph.
pub fn changes(before: &GraphFigures, now: &GraphFigures) -> Changes {
    let mut out = Changes::default();
    let old_by_digest = first_by(&before.duplicates, |p| p.digest.as_str());
    let now_by_digest = first_by(&now.duplicates, |p| p.digest.as_str());
    for payload in &now.duplicates {
        let old = old_by_digest.get(payload.digest.as_str()).copied();
        let change = PayloadChange {
            digest: payload.digest.clone(),
            type_name: payload.type_name.clone(),
            size_bytes: payload.size_bytes,
            copies_before: old.map_or(0, |p| p.copies),
            copies_now: payload.copies,
            layers: payload.layers.clone(),
        };
        match old {
            None => out.new_payloads.push(change),
            Some(old) if old.copies != payload.copies => out.changed_payloads.push(change),
            Some(_) => {}
        }
    }
    for old in &before.duplicates {
        if !now_by_digest.contains_key(old.digest.as_str()) {
            out.gone_payloads.push(PayloadChange {
                digest: old.digest.clone(),
                type_name: old.type_name.clone(),
                size_bytes: old.size_bytes,
                copies_before: old.copies,
                copies_now: 0,
                layers: old.layers.clone(),
            });
        }
    }
    let by_growth = |a: &PayloadChange, b: &PayloadChange| {
        (Reverse(a.wasted_delta_bytes().abs()), &a.digest)
            .cmp(&(Reverse(b.wasted_delta_bytes().abs()), &b.digest))
    };
    out.new_payloads.sort_by(by_growth);
    out.changed_payloads.sort_by(by_growth);
    out.gone_payloads.sort_by(by_growth);
    out.layers = layer_changes(&before.layers, &now.layers);
    out
}

fn layer_changes(before: &[LayerFigures], now: &[LayerFigures]) -> Vec<LayerChange> {
    let mut names: Vec<&str> = now.iter().chain(before).map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let before_by_name = first_by(before, |l| l.name.as_str());
    let now_by_name = first_by(now, |l| l.name.as_str());
    let mut changes: Vec<LayerChange> = names
        .into_iter()
        .filter_map(|name| {
            let old = before_by_name.get(name).copied();
            let new = now_by_name.get(name).copied();
            let same = matches!((old, new), (Some(a), Some(b))
                if a.materialised_bytes == b.materialised_bytes
                    && a.wire_bytes == b.wire_bytes
                    && a.tasks == b.tasks);
            (!same).then(|| LayerChange {
                name: name.to_string(),
                materialised_bytes_before: old.map(|l| l.materialised_bytes),
                materialised_bytes_now: new.map(|l| l.materialised_bytes),
                wire_bytes_before: old.map(|l| l.wire_bytes),
                wire_bytes_now: new.map(|l| l.wire_bytes),
                tasks_before: old.map(|l| l.tasks),
                tasks_now: new.map(|l| l.tasks),
            })
        })
        .collect();
    changes.sort_by(|a, b| {
        (Reverse(a.materialised_delta_bytes()), &a.name)
            .cmp(&(Reverse(b.materialised_delta_bytes()), &b.name))
    });
    changes
}
