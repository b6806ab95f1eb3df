//! `graphprof diff` as library code: two graph files or two analysis reports (told apart by their
//! content), measured the same way as `check` measures, and compared: new duplicated payloads,
//! payloads whose copies changed, layers whose bytes changed, tasks added and removed (by key for
//! graphs, by count for reports).

use super::baseline::{BaselinePayload, ExactFigures, GraphFigures, LayerFigures, measure};
use super::changes::{Changes, changes};
use crate::analyze::{ANALYSIS_SCHEMA, Analysis};
use crate::error::{InputError, Place};
use crate::graph::{NodeKind, load_graph};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

/// Value of the `schema` field of a diff report.
pub const DIFF_SCHEMA: &str = "graphprof-diff";
/// How many added or removed keys a diff lists.
pub const KEYS_LISTED: usize = 20;

/// What a diff input file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A graph file (`format: graphprof-graph`).
    Graph,
    /// An analysis report (`schema: graphprof-analysis`).
    Report,
}

/// One side of a diff, measured.
#[derive(Debug, Clone)]
pub struct DiffInput {
    /// What the file is.
    pub kind: InputKind,
    /// Its figures, payloads and layers.
    pub figures: GraphFigures,
    /// Task keys (graphs only).
    pub task_keys: Option<BTreeSet<String>>,
    /// Layers are complete (graphs) or the report's top rows only.
    pub all_layers: bool,
}

/// The result of `graphprof diff`; its JSON form is this struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDiff {
    /// Always `graphprof-diff`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// The old file.
    pub old: String,
    /// The new file.
    pub new: String,
    /// What the old file is.
    pub old_kind: InputKind,
    /// What the new file is.
    pub new_kind: InputKind,
    /// Exact figures of the old file.
    pub old_figures: ExactFigures,
    /// Exact figures of the new file.
    pub new_figures: ExactFigures,
    /// Payloads and layers that changed.
    pub changes: Changes,
    /// Whether layers are complete on both sides (reports keep only their top layers).
    pub all_layers: bool,
    /// Whether tasks were compared by key (both sides graphs) or by count.
    pub tasks_by_key: bool,
    /// Tasks in the new file and not the old (by key), or the growth of the count.
    pub tasks_added: u64,
    /// Tasks in the old file and not the new (by key), or the shrinkage of the count.
    pub tasks_removed: u64,
    /// Up to 20 added keys.
    pub added_keys: Vec<String>,
    /// Up to 20 removed keys.
    pub removed_keys: Vec<String>,
}

/// Tells a graph from an analysis report by the first marker in the file's first 64 KiB.
pub fn sniff(path: &Path) -> Result<InputKind, InputError> {
    let read_error = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut head = Vec::new();
    file.take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(read_error)?;
    let head = String::from_utf8_lossy(&head);
    let graph = head.find("\"graphprof-graph\"");
    let report = head.find(&format!("\"{ANALYSIS_SCHEMA}\""));
    match (graph, report) {
        (Some(g), Some(r)) if r < g => Ok(InputKind::Report),
        (Some(_), _) => Ok(InputKind::Graph),
        (None, Some(_)) => Ok(InputKind::Report),
        (None, None) => Err(InputError::invalid(
            path,
            Place::File,
            "neither a graphprof graph (\"format\": \"graphprof-graph\") nor an analysis report \
             (\"schema\": \"graphprof-analysis\")",
        )),
    }
}

/// Loads and measures one side.
pub fn load_input(path: &Path) -> Result<DiffInput, InputError> {
    let name = path.display().to_string();
    match sniff(path)? {
        InputKind::Graph => {
            let graph = load_graph(path)?;
            let task_keys = graph
                .node_ids()
                .filter(|&id| matches!(graph.node(id).kind, NodeKind::Task { .. }))
                .map(|id| graph.key_display(id))
                .collect();
            Ok(DiffInput {
                kind: InputKind::Graph,
                figures: measure(&graph, &name),
                task_keys: Some(task_keys),
                all_layers: true,
            })
        }
        InputKind::Report => {
            let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let analysis: Analysis =
                serde_json::from_str(&text).map_err(|error| InputError::from_json(path, &error))?;
            let all_layers = analysis.layers.len() as u64 >= analysis.graph.layers;
            Ok(DiffInput {
                kind: InputKind::Report,
                figures: figures_of_report(analysis, &name),
                task_keys: None,
                all_layers,
            })
        }
    }
}

fn figures_of_report(analysis: Analysis, path: &str) -> GraphFigures {
    GraphFigures {
        path: path.to_string(),
        name: analysis.graph.name,
        figures: ExactFigures {
            wire_bytes: analysis.sizes.wire_bytes,
            materialised_bytes: analysis.sizes.materialised_bytes,
            duplicated_bytes: analysis.duplicated_bytes,
            duplication_ratio: analysis.duplication_ratio,
            tasks: analysis.graph.tasks,
        },
        duplicates: analysis
            .duplicates
            .into_iter()
            .map(|d| BaselinePayload {
                digest: d.digest,
                size_bytes: d.size_bytes,
                copies: d.copies,
                type_name: d.type_name,
                layers: d.layers.into_iter().map(|share| share.layer).collect(),
            })
            .collect(),
        layers: analysis
            .layers
            .into_iter()
            .map(|l| LayerFigures {
                name: l.name,
                tasks: l.tasks,
                wire_bytes: l.wire_bytes,
                materialised_bytes: l.materialised_bytes,
                wasted_bytes: l.wasted_bytes,
            })
            .collect(),
        sampled: BTreeMap::new(),
    }
}

/// Compares two measured inputs.
pub fn diff(old: &DiffInput, new: &DiffInput) -> GraphDiff {
    let mut changes = changes(&old.figures, &new.figures);
    let all_layers = old.all_layers && new.all_layers;
    if !all_layers {
        // A layer missing from a truncated report is unknown, not gone or new.
        changes.layers.retain(|l| {
            l.materialised_bytes_before.is_some() && l.materialised_bytes_now.is_some()
        });
    }
    let (tasks_by_key, added, removed, added_keys, removed_keys) =
        match (&old.task_keys, &new.task_keys) {
            (Some(before), Some(now)) => {
                let added: Vec<&String> = now.difference(before).collect();
                let removed: Vec<&String> = before.difference(now).collect();
                let list = |keys: &[&String]| {
                    keys.iter()
                        .take(KEYS_LISTED)
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                };
                (
                    true,
                    added.len() as u64,
                    removed.len() as u64,
                    list(&added),
                    list(&removed),
                )
            }
            _ => {
                let (before, now) = (old.figures.figures.tasks, new.figures.figures.tasks);
                (
                    false,
                    now.saturating_sub(before),
                    before.saturating_sub(now),
                    Vec::new(),
                    Vec::new(),
                )
            }
        };
    GraphDiff {
        schema: DIFF_SCHEMA.to_string(),
        version: 1,
        old: old.figures.path.clone(),
        new: new.figures.path.clone(),
        old_kind: old.kind,
        new_kind: new.kind,
        old_figures: old.figures.figures,
        new_figures: new.figures.figures,
        changes,
        all_layers,
        tasks_by_key,
        tasks_added: added,
        tasks_removed: removed,
        added_keys,
        removed_keys,
    }
}
