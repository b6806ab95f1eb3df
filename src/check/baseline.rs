//! The baseline file (`schema: "graphprof-baseline"`, version 1): per graph, the exact figures of
//! `analyze`, the duplicated payloads and the per-layer bytes (so a report can name what grew),
//! and optionally the sampled memory figures per strategy. Measuring a graph, reading a baseline
//! with errors that name the file and line, and normalising graph paths live here.

use super::sample::SampledFigures;
use crate::analyze::{Analysis, AnalyzeOptions, GroupSize, analyze, sizes};
use crate::error::{InputError, Place};
use crate::escape::quote;
use crate::graph::{Graph, Strategy};
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// Value of the `schema` field of a baseline.
pub const BASELINE_SCHEMA: &str = "graphprof-baseline";
/// The baseline schema version this build reads and writes.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always `graphprof-baseline`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// The graphprof version that wrote the file (informational).
    pub graphprof_version: String,
    /// One entry per graph, sorted by path.
    pub graphs: Vec<GraphFigures>,
}

impl Baseline {
    /// A baseline of these graphs, sorted by path.
    pub fn new(mut graphs: Vec<GraphFigures>) -> Self {
        graphs.sort_by(|a, b| a.path.cmp(&b.path));
        Baseline {
            schema: BASELINE_SCHEMA.to_string(),
            version: BASELINE_VERSION,
            graphprof_version: env!("CARGO_PKG_VERSION").to_string(),
            graphs,
        }
    }

    /// The entry of a graph by its normalised path (a scan: for many look-ups, [`Self::by_path`]).
    pub fn graph(&self, path: &str) -> Option<&GraphFigures> {
        self.graphs.iter().find(|g| g.path == path)
    }

    /// Every entry by its path, built once for many look-ups (the first entry of a path wins).
    pub fn by_path(&self) -> HashMap<&str, &GraphFigures> {
        let mut index = HashMap::with_capacity(self.graphs.len());
        for graph in &self.graphs {
            index.entry(graph.path.as_str()).or_insert(graph);
        }
        index
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_else(|e| e.to_string());
        json.push('\n');
        json
    }
}

/// The exact figures of one graph (all from `analyze`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactFigures {
    /// Modelled bytes of the one message the client sends.
    pub wire_bytes: u64,
    /// Bytes held once every task is deserialised on its own.
    pub materialised_bytes: u64,
    /// Bytes wasted by duplicated payloads.
    pub duplicated_bytes: u64,
    /// Materialised bytes over what they would be with one copy of each payload.
    pub duplication_ratio: f64,
    /// Number of tasks.
    pub tasks: u64,
}

/// A duplicated payload as the baseline records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinePayload {
    /// Content digest, `ALGO:HEX`.
    pub digest: String,
    /// Serialized size of one copy, in bytes.
    pub size_bytes: u64,
    /// Number of embedded copies.
    pub copies: u64,
    /// Type label from the graph file, if any.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Layers that embed it, most copies first.
    pub layers: Vec<String>,
}

/// Bytes of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerFigures {
    /// Layer name (Dask's `key_split`).
    pub name: String,
    /// Number of tasks.
    pub tasks: u64,
    /// Wire bytes the layer adds.
    pub wire_bytes: u64,
    /// Materialised bytes of its tasks.
    pub materialised_bytes: u64,
    /// Bytes wasted by duplicated payloads in it.
    pub wasted_bytes: u64,
}

/// Everything the baseline records about one graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphFigures {
    /// The graph file as given on the command line, normalised and relative, `/`-separated.
    pub path: String,
    /// The graph's name, if the file has one.
    pub name: Option<String>,
    /// Exact figures.
    pub figures: ExactFigures,
    /// Duplicated payloads, most wasted bytes first.
    pub duplicates: Vec<BaselinePayload>,
    /// Every layer, largest materialised first.
    pub layers: Vec<LayerFigures>,
    /// Sampled memory per strategy (only when sampled).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sampled: BTreeMap<Strategy, SampledFigures>,
}

/// Measures a graph's exact figures, payloads and layers.
pub fn measure(graph: &Graph, path: &str) -> GraphFigures {
    let options = AnalyzeOptions {
        top: 1,
        examples: 0,
        ..AnalyzeOptions::default()
    };
    let analysis = analyze(graph, path, &options);
    let index = sizes::LayerIndex::new(graph);
    // The analysis keeps only its top layer; the baseline records every layer.
    let layers = sizes::by_layer(graph, &index, &analysis.duplicates);
    GraphFigures::from_analysis(analysis, path, layers)
}

impl GraphFigures {
    /// The figures of an analysis (of a graph, or read from an `analyze` report), with these
    /// layers: every layer of the graph, or the report's top layers only.
    pub fn from_analysis(analysis: Analysis, path: &str, layers: Vec<GroupSize>) -> Self {
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
            layers: layers
                .into_iter()
                .map(|layer| LayerFigures {
                    name: layer.name,
                    tasks: layer.tasks,
                    wire_bytes: layer.wire_bytes,
                    materialised_bytes: layer.materialised_bytes,
                    wasted_bytes: layer.wasted_bytes,
                })
                .collect(),
            sampled: BTreeMap::new(),
        }
    }
}

/// Reads a baseline: a missing, unreadable or malformed file or another schema or version is an
/// error naming the file (and the line where there is one). A regular file is parsed as it is read,
/// twice (its header, then the entries), so its text is never held next to the parsed baseline:
/// the peak stays under the file's size plus the baseline's. Anything else (a pipe) is read first.
pub fn read_baseline(path: &Path) -> Result<Baseline, InputError> {
    let cannot_read = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let regular = std::fs::metadata(path).map_err(cannot_read)?.is_file();
    if !regular {
        crate::error::refuse_endless(path)?;
        let text = std::fs::read_to_string(path).map_err(cannot_read)?;
        return parse_baseline(path, &text);
    }
    let open = || {
        std::fs::File::open(path)
            .map(|file| std::io::BufReader::with_capacity(1 << 16, file))
            .map_err(cannot_read)
    };
    let parsed = |error: serde_json::Error| {
        if error.is_io() {
            cannot_read(std::io::Error::other(error.to_string()))
        } else {
            InputError::from_json(path, &error)
        }
    };
    check_header(path, serde_json::from_reader(open()?).map_err(parsed)?)?;
    let baseline: Baseline = serde_json::from_reader(open()?).map_err(parsed)?;
    check_entries(path, &baseline)?;
    Ok(baseline)
}

/// [`read_baseline`] on text already read; `path` names the file in errors. For the fuzz targets.
#[doc(hidden)]
pub fn parse_baseline(path: &Path, text: &str) -> Result<Baseline, InputError> {
    let header = serde_json::from_str(text).map_err(|error| InputError::from_json(path, &error))?;
    check_header(path, header)?;
    let baseline: Baseline =
        serde_json::from_str(text).map_err(|error| InputError::from_json(path, &error))?;
    check_entries(path, &baseline)?;
    Ok(baseline)
}

/// The `schema` and `version` of a JSON file, read without building the rest: absent when the
/// file is not an object or does not have them.
#[derive(Debug, Default)]
struct Header {
    schema: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a graphprof baseline")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "schema" => header.schema = Some(map.next_value()?),
                "version" => header.version = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Header, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Header::default())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Header, E> {
        Ok(Header::default())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Header, E> {
        Ok(Header::default())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Header, E> {
        Ok(Header::default())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Header, E> {
        Ok(Header::default())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Header, E> {
        Ok(Header::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Header, E> {
        Ok(Header::default())
    }
}

/// Refuses another schema or version.
fn check_header(path: &Path, header: Header) -> Result<(), InputError> {
    if header.schema.as_ref().and_then(|s| s.as_str()) != Some(BASELINE_SCHEMA) {
        return Err(InputError::invalid(
            path,
            Place::File,
            format!("not a graphprof baseline (expected \"schema\": \"{BASELINE_SCHEMA}\")"),
        ));
    }
    let version = header.version.as_ref().and_then(|v| v.as_u64());
    if version != Some(u64::from(BASELINE_VERSION)) {
        let found = header
            .version
            .map_or("none".to_string(), |v| quote(&v.to_string()).into_owned());
        return Err(InputError::invalid(
            path,
            Place::File,
            format!(
                "baseline version {found} is not supported (this graphprof reads version \
                 {BASELINE_VERSION}); remove it and run `graphprof check --update-baseline`"
            ),
        ));
    }
    Ok(())
}

/// Refuses what the parser lets through: a graph listed twice, a duplication ratio that is not a
/// finite number of at least 1, a sampled spread whose median is outside its min and max.
fn check_entries(path: &Path, baseline: &Baseline) -> Result<(), InputError> {
    let mut seen = BTreeMap::new();
    for (index, entry) in baseline.graphs.iter().enumerate() {
        let key = |field: &str| Place::Key(format!("graphs[{index}].{field}"));
        let normalised = clean(Path::new(&entry.path));
        if let Some(first) = seen.insert(normalised, index) {
            return Err(InputError::invalid(
                path,
                key("path"),
                format!(
                    "lists graph {} twice (also graphs[{first}]); remove one of the entries",
                    quote(&entry.path)
                ),
            ));
        }
        let ratio = entry.figures.duplication_ratio;
        if !(ratio.is_finite() && ratio >= 1.0) {
            return Err(InputError::invalid(
                path,
                key("figures.duplication_ratio"),
                format!(
                    "duplication_ratio {ratio} of graph {} is not a number of at least 1.0",
                    quote(&entry.path)
                ),
            ));
        }
        for (strategy, sampled) in &entry.sampled {
            for figure in super::sample::SampledFigure::ALL {
                let spread = sampled.figure(figure);
                if !(spread.min <= spread.median && spread.median <= spread.max) {
                    return Err(InputError::invalid(
                        path,
                        key(&format!("sampled.{strategy}.{}", figure.name())),
                        format!(
                            "the median of graph {} is not between its min and max",
                            quote(&entry.path)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A path as given, made relative and normalised: `.` and `a/..` removed lexically, an absolute
/// path under `cwd` made relative to it, `/` as the separator.
pub fn normalise_path(path: &Path, cwd: &Path) -> String {
    let cleaned = clean(path);
    let relative = if cleaned.is_absolute() {
        cleaned
            .strip_prefix(clean(cwd))
            .map(Path::to_path_buf)
            .unwrap_or(cleaned)
    } else {
        cleaned
    };
    if relative.is_absolute() {
        return relative.to_string_lossy().into_owned();
    }
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Why `path` cannot be a graph file, or `None` when it is a regular file (symlinks followed): it
/// does not exist, or it is a folder, a FIFO, a device or a socket (`/dev/zero` never ends).
pub fn not_a_graph_file(path: &Path) -> Option<String> {
    let kind = match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Some("does not exist".to_string());
        }
        Err(error) => return Some(format!("cannot be opened: {error}")),
        Ok(meta) if meta.is_file() => return None,
        Ok(meta) => meta.file_type(),
    };
    Some(format!(
        "is {}, not a regular file",
        crate::error::file_kind(kind)
    ))
}

/// Removes `.` components and resolves `..` lexically where possible.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_relative() {
        let cwd = Path::new("/repo");
        assert_eq!(normalise_path(Path::new("./a/b.json"), cwd), "a/b.json");
        assert_eq!(normalise_path(Path::new("a/x/../b.json"), cwd), "a/b.json");
        assert_eq!(normalise_path(Path::new("/repo/a/b.json"), cwd), "a/b.json");
        assert_eq!(normalise_path(Path::new("../o/b.json"), cwd), "../o/b.json");
        assert_eq!(
            normalise_path(Path::new("/else/b.json"), cwd),
            "/else/b.json"
        );
    }

    #[test]
    fn other_versions_and_schemas_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, r#"{"schema": "graphprof-baseline", "version": 2}"#).unwrap();
        let error = read_baseline(&path).unwrap_err().to_string();
        assert!(
            error.contains("b.json") && error.contains("version 2"),
            "{error}"
        );
        std::fs::write(&path, r#"{"schema": "other", "version": 1}"#).unwrap();
        let error = read_baseline(&path).unwrap_err().to_string();
        assert!(error.contains("not a graphprof baseline"), "{error}");
        std::fs::write(
            &path,
            "{\n\"schema\": \"graphprof-baseline\",\n\"version\": 1,\n\"graphs\": 5\n}",
        )
        .unwrap();
        let error = read_baseline(&path).unwrap_err().to_string();
        assert!(error.contains("line "), "{error}");
    }
}
