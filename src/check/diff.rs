//! `graphprof diff` as library code: two graph files or two analysis reports (told apart by their
//! top-level `format` or `schema` field), measured the same way as `check` measures, and compared: new duplicated payloads,
//! payloads whose copies changed, layers whose bytes changed, tasks added and removed (by layer and index for
//! graphs, by count for reports).

use super::baseline::{ExactFigures, GraphFigures, measure};
use super::changes::{Changes, changes};
use crate::analyze::{ANALYSIS_SCHEMA, ANALYSIS_VERSION, Analysis};
use crate::error::{InputError, Place};
use crate::graph::raw::FORMAT_NAME as GRAPH_FORMAT;
use crate::graph::{NodeKind, load_graph};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
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
    /// Whether tasks were compared one by one, by layer and index (both sides graphs), or by count.
    pub tasks_by_key: bool,
    /// Tasks in the new file and not the old (by layer and index), or the growth of the count.
    pub tasks_added: u64,
    /// Tasks in the old file and not the new (by layer and index), or the shrinkage of the count.
    pub tasks_removed: u64,
    /// Up to 20 added tasks, as `layer[index]`.
    pub added_keys: Vec<String>,
    /// Up to 20 removed tasks, as `layer[index]`.
    pub removed_keys: Vec<String>,
}

/// The top-level fields that tell a graph from an analysis report. Every other top-level value
/// is skipped unread ([`IgnoredAny`]), so where the fields sit in the file and what the rest of it
/// says (a graph named "graphprof-analysis") does not matter.
#[derive(Debug, Default)]
struct Markers {
    /// `format` (graphs).
    format: Option<Value>,
    /// `schema` (analysis reports).
    schema: Option<Value>,
    /// `version` (both).
    version: Option<Value>,
}

impl<'de> Deserialize<'de> for Markers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MarkersVisitor;
        impl<'de> Visitor<'de> for MarkersVisitor {
            type Value = Markers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object: a graphprof graph or an analysis report")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Markers, A::Error> {
                let mut markers = Markers::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let slot = match key.as_ref() {
                        "format" => &mut markers.format,
                        "schema" => &mut markers.schema,
                        "version" => &mut markers.version,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(markers)
            }
        }
        deserializer.deserialize_map(MarkersVisitor)
    }
}

/// What a file is, by its top-level `format` (graphs) or `schema` (analysis reports) field; an
/// analysis report of another version is refused.
fn kind_of(path: &Path, bytes: &[u8]) -> Result<InputKind, InputError> {
    let markers: Markers =
        serde_json::from_slice(bytes).map_err(|error| InputError::from_json(path, &error))?;
    let refuse = |message: String| Err(InputError::invalid(path, Place::File, message));
    let text = |value: &Value| match value {
        Value::String(text) => format!("\"{}\"", crate::escape::quote(text)),
        other => crate::escape::quote(&other.to_string()).into_owned(),
    };
    match (&markers.format, &markers.schema) {
        (Some(Value::String(format)), None) if format == GRAPH_FORMAT => Ok(InputKind::Graph),
        (None, Some(Value::String(schema))) if schema == ANALYSIS_SCHEMA => {
            match &markers.version {
                Some(version) if version.as_u64() == Some(u64::from(ANALYSIS_VERSION)) => {
                    Ok(InputKind::Report)
                }
                version => refuse(format!(
                    "analysis report version {} is not supported (this graphprof reads version \
                     {ANALYSIS_VERSION}); rerun `graphprof analyze --format json`",
                    version.as_ref().map_or("none".to_string(), text)
                )),
            }
        }
        (Some(_), Some(_)) => refuse(
            "has both a \"format\" and a \"schema\" field: neither a graphprof graph nor an \
             analysis report"
                .to_string(),
        ),
        (Some(format), None) => refuse(format!(
            "not a graphprof graph: \"format\" is {} (expected \"{GRAPH_FORMAT}\")",
            text(format)
        )),
        (None, Some(schema)) => refuse(format!(
            "not an analysis report: \"schema\" is {} (expected \"{ANALYSIS_SCHEMA}\")",
            text(schema)
        )),
        (None, None) => refuse(format!(
            "neither a graphprof graph (\"format\": \"{GRAPH_FORMAT}\") nor an analysis report \
             (\"schema\": \"{ANALYSIS_SCHEMA}\")"
        )),
    }
}

/// Reads an analysis report strictly: a field this version does not write is refused, named by
/// its path in the file (`graph.colour`), rather than silently ignored.
fn read_report(path: &Path, bytes: &[u8]) -> Result<Analysis, InputError> {
    let analysis: Analysis =
        serde_json::from_slice(bytes).map_err(|error| InputError::from_json(path, &error))?;
    let given: Value =
        serde_json::from_slice(bytes).map_err(|error| InputError::from_json(path, &error))?;
    // Every field of the report structs is always written, so a field of the file that does not
    // come back when the parsed report is written again is one the structs do not have.
    let known = serde_json::to_value(&analysis).unwrap_or(Value::Null);
    if let Some(key) = unknown_field(&given, &known, "") {
        return Err(InputError::invalid(
            path,
            Place::Key(key),
            format!("unknown field in an analysis report version {ANALYSIS_VERSION}"),
        ));
    }
    Ok(analysis)
}

/// The first field of `given` that `known` (the same document as the structs write it) lacks.
fn unknown_field(given: &Value, known: &Value, at: &str) -> Option<String> {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => given.iter().find_map(|(key, value)| {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match known.get(key) {
                None => Some(here),
                Some(known) => unknown_field(value, known, &here),
            }
        }),
        (Value::Array(given), Value::Array(known)) => given
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (value, known))| unknown_field(value, known, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Loads and measures one side.
pub fn load_input(path: &Path) -> Result<DiffInput, InputError> {
    let name = path.display().to_string();
    crate::error::refuse_endless(path)?;
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match kind_of(path, &bytes)? {
        InputKind::Graph => {
            drop(bytes);
            let graph = load_graph(path)?;
            let task_keys = task_identities(&graph);
            Ok(DiffInput {
                kind: InputKind::Graph,
                figures: measure(&graph, &name),
                task_keys: Some(task_keys),
                all_layers: true,
            })
        }
        InputKind::Report => {
            let mut analysis = read_report(path, &bytes)?;
            let all_layers = analysis.layers.len() as u64 >= analysis.graph.layers;
            let layers = std::mem::take(&mut analysis.layers);
            Ok(DiffInput {
                kind: InputKind::Report,
                figures: GraphFigures::from_analysis(analysis, &name, layers),
                task_keys: None,
                all_layers,
            })
        }
    }
}

/// Tasks as `diff` matches them: by layer and index (`f[3]`, `make_mapper`), not by key, since
/// Dask's tokens and uuids change between two exports of the same program. Tasks that would
/// share an identity (two string keys of one layer) are told apart by their order: `#2`, `#3`.
fn task_identities(graph: &crate::graph::Graph) -> BTreeSet<String> {
    use crate::graph::key;
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut identities = BTreeSet::new();
    for id in graph.node_ids() {
        if !matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            continue;
        }
        let tagged = graph.tagged_key(id);
        let layer = key::layer_of_name(&key::key_name(&tagged));
        let index = key::index_of(&tagged);
        let base = if index.is_empty() {
            layer
        } else {
            format!("{layer}[{index}]")
        };
        let n = seen.entry(base.clone()).or_default();
        *n += 1;
        identities.insert(if *n == 1 { base } else { format!("{base}#{n}") });
    }
    identities
}

impl GraphDiff {
    /// Whether anything differs: a figure, a payload, a layer or a task (what `diff --exit-code`
    /// turns into exit 1).
    pub fn differs(&self) -> bool {
        self.old_figures != self.new_figures
            || self.changes != Changes::default()
            || self.tasks_added > 0
            || self.tasks_removed > 0
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
