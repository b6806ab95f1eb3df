//! Rewrites a graph to another strategy: every payload content embedded more than once (by digest,
//! as `analyze` finds duplicates) becomes one scattered data object (`scatter`) or one task the
//! users depend on (`delayed`): for a user's collection (a graph `graphprof dask export` wrote),
//! the data task `dask.delayed(obj)` makes, keyed `graphprof-shared-<type>-<hex>` as
//! `graphprof.rewrite` keys it, so that `sample`'s per-layer prediction names the layer the
//! cluster runs; for the seed case and generated graphs, a builder task (`make_<type>`). `inline`
//! does the reverse, embedding data objects, builder tasks and the rewrite's data tasks back into
//! their users with one shared object id, so any graph can be compared inline.

use super::generate::capitalise;
use super::held::{DATA_FUNCTION, exported_from_dask};
use super::key::Key;
use super::model::{Arg, Content, Graph, NodeKind};
use super::raw::{PayloadRole, RawArg, RawData, RawPayload, RawTask};
use super::strategy::Strategy;
use super::write::{RawGraph, graph_to_raw, raw_payload};
use super::{BuildError, build_raw};
use std::collections::{HashMap, HashSet};

/// Rewrites `graph` to `strategy` and builds the result.
pub fn rewrite(graph: &Graph, strategy: Strategy) -> Result<Graph, BuildError> {
    build_raw(rewrite_raw(graph, strategy))
}

/// Rewrites `graph` to `strategy` as raw parts, ready to be written (`graphprof rewrite -o`).
pub fn rewrite_raw(graph: &Graph, strategy: Strategy) -> RawGraph<'_> {
    let mut raw = match strategy {
        Strategy::Scatter => to_scatter(graph),
        Strategy::Delayed => to_delayed(graph),
        Strategy::Inline => to_inline(graph),
    };
    raw.header.name = graph
        .name
        .as_ref()
        .map(|name| format!("{name} (rewritten {strategy})"));
    raw.header
        .meta
        .insert("rewritten".into(), serde_json::json!(strategy.name()));
    // A measured wire size belongs to the graph as it was sent, not to the rewrite.
    raw.header.measured = None;
    if strategy == Strategy::Delayed {
        let moved: HashSet<String> = graph
            .contents
            .iter()
            .zip(duplicated_contents(graph))
            .filter(|(_, moved)| *moved)
            .map(|(content, _)| content.digest.to_string())
            .collect();
        if exported_from_dask(graph) {
            // Each moved object is now the value of one data task.
            for info in &mut raw.header.contents {
                if moved.contains(&info.digest) {
                    info.role = Some(PayloadRole::Data);
                }
            }
        } else {
            // The builder tasks carry no payload: a description of a content they replaced
            // would name a digest nothing uses, which the loader refuses.
            raw.header
                .contents
                .retain(|info| !moved.contains(&info.digest));
        }
    }
    raw
}

/// Contents embedded two or more times (payload uses, each copy counted), as `find_duplicates`.
fn duplicated_contents(graph: &Graph) -> Vec<bool> {
    let mut copies = vec![0u64; graph.contents.len()];
    for id in graph.node_ids() {
        if matches!(graph.node(id).kind, NodeKind::Task { .. }) {
            for payload in graph.payloads(id) {
                copies[payload.content as usize] += 1;
            }
        }
    }
    copies.into_iter().map(|count| count >= 2).collect()
}

fn hex(content: &Content, digits: usize) -> String {
    let full = content.digest.to_string();
    let start = full.find(':').map_or(0, |colon| colon + 1);
    full[start..].chars().take(digits).collect()
}

/// The key of the data object a duplicated content becomes: `<type or payload>-<12 hex>`.
pub fn scatter_key(content: &Content) -> Key {
    let name = content.type_name.as_deref().unwrap_or("payload");
    Key::string(&format!("{name}-{}", hex(content, 12)))
}

/// The function a builder task of a content runs: `make_<type lowercased or payload>`.
pub fn builder_function(content: &Content) -> String {
    let name = content
        .type_name
        .as_deref()
        .unwrap_or("payload")
        .to_lowercase();
    format!("make_{name}")
}

/// The prefix of the keys of the data tasks that `delayed` makes in a user's collection
/// (`graphprof.rewrite`'s too).
pub const SHARED_KEY_PREFIX: &str = "graphprof-shared-";

/// The key of the data task a duplicated content of a user's collection becomes:
/// `graphprof-shared-<type or payload>-<32 hex>`.
pub fn shared_key(content: &Content) -> Key {
    let name = content.type_name.as_deref().unwrap_or("payload");
    Key::string(&format!("{SHARED_KEY_PREFIX}{name}-{}", hex(content, 32)))
}

/// The key of the builder task a duplicated content becomes: `make_<type>-<32 hex>`.
pub fn builder_key(content: &Content) -> Key {
    Key::string(&format!(
        "{}-{}",
        builder_function(content),
        hex(content, 32)
    ))
}

/// The new key of each duplicated content, made unique: a key the graph already has, or one
/// given to another content (two digests may share their first hex digits), gets `-2`, `-3`...
fn new_keys(graph: &Graph, key_of: impl Fn(&Content) -> Key) -> Vec<Option<Key>> {
    let mut taken: HashSet<String> = graph
        .node_ids()
        .map(|id| graph.key(id).tagged().to_string())
        .collect();
    duplicated_contents(graph)
        .into_iter()
        .zip(&graph.contents)
        .map(|(duplicated, content)| {
            duplicated.then(|| {
                let wanted = key_of(content);
                let mut key = wanted.clone();
                let mut suffix = 2;
                while !taken.insert(key.tagged().to_string()) {
                    key = Key::string(&format!("{}-{suffix}", wanted.name()));
                    suffix += 1;
                }
                key
            })
        })
        .collect()
}

fn to_scatter(graph: &Graph) -> RawGraph<'_> {
    let keys = new_keys(graph, scatter_key);
    let data: Vec<RawData> = graph
        .contents
        .iter()
        .zip(&keys)
        .filter_map(|(content, key)| {
            let key = key.clone()?;
            let payload = raw_payload(content, None, true);
            Some(RawData {
                key,
                size_bytes: payload.size_bytes,
                digest: payload.digest,
                bytes_b64: payload.bytes_b64,
                type_name: payload.type_name,
            })
        })
        .collect();
    graph_to_raw(graph, data, Vec::new(), move |payload| {
        match &keys[payload.content as usize] {
            Some(key) => RawArg::Ref(key.clone()),
            None => RawArg::Payload(raw_payload(
                &graph.contents[payload.content as usize],
                payload.object_id(),
                payload.sent,
            )),
        }
    })
}

fn to_delayed(graph: &Graph) -> RawGraph<'_> {
    let exported = exported_from_dask(graph);
    let keys = new_keys(graph, if exported { shared_key } else { builder_key });
    let builders: Vec<RawTask> = graph
        .contents
        .iter()
        .zip(&keys)
        .filter_map(|(content, key)| {
            let key = key.clone()?;
            Some(if exported {
                // `dask.delayed(obj)`: the object is the task's one payload, sent once.
                RawTask {
                    key,
                    function: DATA_FUNCTION.to_string(),
                    args: vec![RawArg::Payload(raw_payload(content, None, true))],
                    deps: Vec::new(),
                    output_bytes: None,
                    spec_bytes: None,
                    wire_bytes: None,
                }
            } else {
                RawTask {
                    key,
                    function: builder_function(content),
                    args: Vec::new(),
                    deps: Vec::new(),
                    output_bytes: Some(content.size_bytes),
                    spec_bytes: None,
                    wire_bytes: None,
                }
            })
        })
        .collect();
    graph_to_raw(graph, Vec::new(), builders, move |payload| {
        match &keys[payload.content as usize] {
            Some(key) => RawArg::Ref(key.clone()),
            None => RawArg::Payload(raw_payload(
                &graph.contents[payload.content as usize],
                payload.object_id(),
                payload.sent,
            )),
        }
    })
}

/// A builder task that can be embedded back: `make_*`, no arguments or dependencies, a known
/// result size, and used only through `ref` arguments. Its content is the graph's content whose
/// digest starts with the key's hex (a rewrite's builder); otherwise a content is made up from the
/// key (a generated or exported builder, whose bytes the file does not have).
fn builder_payload(graph: &Graph, id: u32, by_hex: &HashMap<String, usize>) -> Option<RawPayload> {
    let function = graph.function(id)?;
    let type_name = function.strip_prefix("make_")?;
    let node = graph.node(id);
    if !graph.args(id).is_empty() || !graph.extra_deps(id).is_empty() {
        return None;
    }
    let size = node.output_bytes()?;
    let name = graph.key(id).name();
    let hex_part = name.rsplit('-').next().unwrap_or("");
    if let Some(&content) = by_hex.get(hex_part) {
        return Some(raw_payload(&graph.contents[content], None, true));
    }
    let digest = blake3::hash(format!("graphprof-builder:{name}:{size}").as_bytes());
    Some(RawPayload {
        size_bytes: Some(size),
        digest: Some(format!("blake3:{}", digest.to_hex())),
        bytes_b64: None,
        object_id: None,
        type_name: Some(capitalise(type_name)),
        sent: None,
    })
}

/// The payload of a data task that `delayed` made in a user's collection (see [`shared_key`]):
/// its one payload, embedded back. Other data tasks (a collection's input partitions, a user's own
/// `dask.delayed(obj)`) stay as they are.
fn shared_data_payload(graph: &Graph, id: u32) -> Option<RawPayload> {
    if graph.function(id) != Some(DATA_FUNCTION)
        || !graph.key(id).name().starts_with(SHARED_KEY_PREFIX)
        || !graph.extra_deps(id).is_empty()
    {
        return None;
    }
    match graph.args(id) {
        [Arg::Payload(payload)] => Some(raw_payload(
            &graph.contents[payload.content as usize],
            None,
            true,
        )),
        _ => None,
    }
}

fn to_inline(graph: &Graph) -> RawGraph<'_> {
    let by_hex: HashMap<String, usize> = graph
        .contents
        .iter()
        .enumerate()
        .map(|(index, content)| (hex(content, 32), index))
        .collect();
    // Nodes only referenced as extra `deps` cannot become arguments: keep them as they are.
    let mut dep_only: HashSet<u32> = HashSet::new();
    let mut referenced: HashSet<u32> = HashSet::new();
    for id in graph.node_ids() {
        dep_only.extend(graph.extra_deps(id).iter().copied());
        referenced.extend(graph.args(id).iter().filter_map(|arg| match arg {
            Arg::Ref(dep) => Some(*dep),
            Arg::Payload(_) => None,
        }));
    }
    let mut next_object = graph
        .node_ids()
        .flat_map(|id| graph.payloads(id).filter_map(|payload| payload.object_id()))
        .max()
        .map_or(1, |max| max.saturating_add(1));
    let mut embedded: HashMap<Key, RawPayload> = HashMap::new();
    for id in graph.node_ids() {
        if !referenced.contains(&id) || dep_only.contains(&id) {
            continue;
        }
        let payload = match graph.node(id).kind {
            NodeKind::Data { content } => {
                Some(raw_payload(&graph.contents[content as usize], None, true))
            }
            NodeKind::Task { .. } => {
                builder_payload(graph, id, &by_hex).or_else(|| shared_data_payload(graph, id))
            }
        };
        if let Some(mut payload) = payload {
            payload.object_id = Some(next_object);
            next_object = next_object.saturating_add(1);
            embedded.insert(graph.key(id), payload);
        }
    }
    let mut raw = graph_to_raw(graph, Vec::new(), Vec::new(), move |payload| {
        RawArg::Payload(raw_payload(
            &graph.contents[payload.content as usize],
            payload.object_id(),
            payload.sent,
        ))
    });
    raw.data.retain(|data| !embedded.contains_key(&data.key));
    let tasks = std::mem::replace(&mut raw.tasks, Box::new(std::iter::empty()));
    raw.tasks = Box::new(tasks.filter_map(move |mut task| {
        if embedded.contains_key(&task.key) {
            return None;
        }
        for arg in &mut task.args {
            if let RawArg::Ref(key) = arg
                && let Some(payload) = embedded.get(key)
            {
                *arg = RawArg::Payload(payload.clone());
            }
        }
        Some(task)
    }));
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{AnalyzeOptions, analyze, predict::held_bytes, sizes};
    use crate::graph::generate::{GenerateOptions, GeneratorKind, generate_graph};
    use crate::graph::load::read_graph;
    use std::path::Path;

    fn map_blocks(strategy: Strategy) -> Graph {
        generate_graph(&GenerateOptions {
            kind: GeneratorKind::MapBlocks,
            chunks: 64,
            payload_bytes: 64 * 1024,
            strategy,
            ..GenerateOptions::default()
        })
        .unwrap()
    }

    fn data_objects(graph: &Graph) -> usize {
        graph.node_count() - graph.task_count()
    }

    #[test]
    fn inline_to_scatter_matches_the_generated_scatter_graph() {
        let inline = map_blocks(Strategy::Inline);
        let rewritten = rewrite(&inline, Strategy::Scatter).unwrap();
        let generated = map_blocks(Strategy::Scatter);
        assert_eq!(rewritten.task_count(), generated.task_count());
        assert_eq!(data_objects(&rewritten), 1);
        assert_eq!(rewritten.node_count(), generated.node_count());
        let analysis = analyze(&rewritten, "test", &AnalyzeOptions::default());
        assert!(analysis.duplicates.is_empty());
        assert_eq!(held_bytes(&rewritten, 2), held_bytes(&generated, 2));
        let data = rewritten
            .node_ids()
            .find(|&id| matches!(rewritten.node(id).kind, NodeKind::Data { .. }))
            .unwrap();
        assert_eq!(
            rewritten.key_display(data),
            format!("Mapper-{}", &inline.contents[0].digest.to_string()[7..19])
        );
    }

    #[test]
    fn inline_to_delayed_adds_one_builder() {
        let inline = map_blocks(Strategy::Inline);
        let rewritten = rewrite(&inline, Strategy::Delayed).unwrap();
        let generated = map_blocks(Strategy::Delayed);
        assert_eq!(rewritten.task_count(), generated.task_count());
        assert_eq!(data_objects(&rewritten), 0);
        assert!(rewritten.contents.is_empty());
        let builder = rewritten
            .node_ids()
            .find(|&id| rewritten.function(id) == Some("make_mapper"))
            .unwrap();
        assert_eq!(rewritten.dependent_count(builder), 64);
        assert!(rewritten.key_display(builder).starts_with("make_mapper-"));
    }

    #[test]
    fn predictions_equal_the_rewritten_graphs() {
        let inline = map_blocks(Strategy::Inline);
        let options = AnalyzeOptions {
            workers: 2,
            ..AnalyzeOptions::default()
        };
        let analysis = analyze(&inline, "test", &options);
        for strategy in [Strategy::Scatter, Strategy::Delayed] {
            let rewritten = rewrite(&inline, strategy).unwrap();
            let predicted = analysis
                .strategies
                .iter()
                .find(|row| row.strategy == strategy.name())
                .unwrap();
            assert_eq!(
                predicted.held_bytes,
                held_bytes(&rewritten, 2),
                "{strategy}"
            );
            assert_eq!(
                predicted.wire_bytes,
                sizes::totals(&rewritten).wire_bytes,
                "{strategy}"
            );
        }
    }

    #[test]
    fn scatter_and_delayed_rewrite_back_to_inline() {
        let inline = map_blocks(Strategy::Inline);
        for strategy in [Strategy::Scatter, Strategy::Delayed] {
            let generated = map_blocks(strategy);
            let back = rewrite(&generated, Strategy::Inline).unwrap();
            assert_eq!(back.task_count(), inline.task_count(), "{strategy}");
            assert_eq!(data_objects(&back), 0);
            assert_eq!(held_bytes(&back, 2), held_bytes(&inline, 2), "{strategy}");
            assert_eq!(
                sizes::totals(&back).wire_bytes,
                sizes::totals(&inline).wire_bytes,
                "{strategy}: one shared object travels once"
            );
        }
        // A scattered object keeps its content identity when embedded back.
        let back = rewrite(&map_blocks(Strategy::Scatter), Strategy::Inline).unwrap();
        assert_eq!(back.contents[0].digest, inline.contents[0].digest);
    }

    /// A user's collection (an exported graph): `delayed` puts the object in one data task keyed
    /// as `graphprof.rewrite` keys it (what `sample` runs, so its per-layer prediction names the
    /// cluster's layer), the content's description kept; `inline` embeds it back.
    #[test]
    fn an_exported_collections_delayed_rewrite_is_one_data_task() {
        let text = crate::graph::test_graphs::one_payload_in_every_task(
            4,
            "DataFrame",
            5000,
            6000,
            r#", "description": "a table""#,
            r#""generator": "graphprof.export""#,
        );
        let given = read_graph(Path::new("g.json"), text.as_bytes()).unwrap();
        let delayed = rewrite(&given, Strategy::Delayed).unwrap();
        assert_eq!(delayed.task_count(), 5);
        let shared = delayed
            .node_ids()
            .find(|&id| delayed.function(id) == Some(DATA_FUNCTION))
            .unwrap();
        assert!(
            delayed
                .key_display(shared)
                .starts_with("graphprof-shared-DataFrame-abab")
        );
        assert_eq!(delayed.dependent_count(shared), 4);
        assert_eq!(delayed.payloads(shared).count(), 1);
        let content = &delayed.contents[0];
        assert_eq!(content.info.role, Some(PayloadRole::Data));
        assert_eq!(content.info.description.as_deref(), Some("a table"));
        assert_eq!(content.held_bytes(), 6000);
        // Back to one copy per task.
        let back = rewrite(&delayed, Strategy::Inline).unwrap();
        assert_eq!(back.task_count(), 4);
        assert_eq!(
            back.node_ids()
                .map(|id| back.payloads(id).count())
                .sum::<usize>(),
            4
        );
    }

    #[test]
    fn a_graph_without_duplicates_is_unchanged() {
        let scatter = map_blocks(Strategy::Scatter);
        let again = rewrite(&scatter, Strategy::Scatter).unwrap();
        assert_eq!(again.node_count(), scatter.node_count());
        assert_eq!(held_bytes(&again, 3), held_bytes(&scatter, 3));
    }

    #[test]
    fn new_keys_never_collide_with_existing_ones() {
        let payload = |hex: &str| {
            format!(r#"{{"payload": {{"size_bytes": 10, "digest": "sha256:{hex}", "type": "T"}}}}"#)
        };
        let (a, b) = (
            "ab".repeat(32),
            format!("{}{}", "ab".repeat(6), "cd".repeat(26)),
        );
        let text = format!(
            r#"{{"format": "graphprof-graph", "version": 1, "tasks": [
                {{"key": "T-{short}", "function": "f"}},
                {{"key": "x", "function": "f", "args": [{pa}, {pb}]}},
                {{"key": "y", "function": "f", "args": [{pa}, {pb}]}}]}}"#,
            short = &a[..12],
            pa = payload(&a),
            pb = payload(&b)
        );
        let graph = crate::graph::load::read_graph(std::path::Path::new("g.json"), text.as_bytes())
            .expect("loads");
        let scattered = rewrite(&graph, Strategy::Scatter).expect("unique keys");
        assert_eq!(scattered.node_count(), graph.node_count() + 2);
    }
}
