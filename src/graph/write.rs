//! Writes graph files in format version 1: the header, the data objects, then one task per line,
//! streamed from an iterator so a million-task graph is never held as JSON in memory. Also turns a
//! loaded [`Graph`] back into raw tasks (for `rewrite`).

use super::key::Key;
use super::model::{Arg, Content, Graph, NodeId, NodeKind, PayloadUse};
use super::raw::{
    FORMAT_NAME, FORMAT_VERSION, Header, Measured, RawArg, RawContentInfo, RawData, RawPayload,
    RawTask,
};
use base64::Engine as _;
use serde::Serialize;
use std::io::{self, Write};

/// A graph as raw parts, ready to be written or built.
pub struct RawGraph<'a> {
    /// Name, provenance, measured figures.
    pub header: Header,
    /// Shared data objects.
    pub data: Vec<RawData>,
    /// Tasks, produced one at a time.
    pub tasks: Box<dyn Iterator<Item = RawTask> + 'a>,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    format: &'static str,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    meta: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured: Option<&'a Measured>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    contents: &'a [RawContentInfo],
}

/// Writes the graph as JSON, one data object or task per line. Returns the task count.
pub fn write_graph<W: Write + ?Sized>(graph: RawGraph<'_>, out: &mut W) -> io::Result<u64> {
    let header = HeaderOut {
        format: FORMAT_NAME,
        version: FORMAT_VERSION,
        name: graph.header.name.as_deref(),
        meta: &graph.header.meta,
        measured: graph.header.measured.as_ref(),
        contents: &graph.header.contents,
    };
    let header_json = serde_json::to_string(&header).map_err(io::Error::other)?;
    // Drop the closing brace: data and tasks follow in the same object.
    out.write_all(&header_json.as_bytes()[..header_json.len() - 1])?;
    if !graph.data.is_empty() {
        out.write_all(b",\n\"data\": [")?;
        write_items(graph.data.into_iter(), out)?;
        out.write_all(b"]")?;
    }
    out.write_all(b",\n\"tasks\": [")?;
    let count = write_items(graph.tasks, out)?;
    out.write_all(b"]}\n")?;
    Ok(count)
}

fn write_items<T: Serialize, W: Write + ?Sized>(
    items: impl Iterator<Item = T>,
    out: &mut W,
) -> io::Result<u64> {
    let mut count = 0u64;
    for item in items {
        out.write_all(if count == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &item).map_err(io::Error::from)?;
        count += 1;
    }
    if count > 0 {
        out.write_all(b"\n")?;
    }
    Ok(count)
}

/// A content as it is written in a payload or data object.
pub fn raw_payload(content: &Content, object_id: Option<u64>, sent: bool) -> RawPayload {
    RawPayload {
        size_bytes: Some(content.size_bytes),
        digest: Some(content.digest.to_string()),
        bytes_b64: content
            .bytes
            .as_ref()
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
        object_id,
        type_name: content.type_name.clone(),
        sent: (!sent).then_some(false),
    }
}

/// The `contents` list that keeps what is known of each content beyond its size.
pub fn raw_content_infos(graph: &Graph) -> Vec<RawContentInfo> {
    graph
        .contents
        .iter()
        .filter(|content| content.info != Default::default())
        .map(|content| RawContentInfo {
            digest: content.digest.to_string(),
            in_memory_bytes: content.info.in_memory_bytes,
            items: content.info.items,
            item_objects: content.info.item_objects,
            arrow_strings: content.info.arrow_strings,
            role: content.info.role,
            description: content.info.description.clone(),
            variable: content.info.variable.clone(),
        })
        .collect()
}

/// A data node's raw form; `None` for a task.
pub(super) fn raw_data(graph: &Graph, id: NodeId) -> Option<RawData> {
    let NodeKind::Data { content } = graph.node(id).kind else {
        return None;
    };
    let payload = raw_payload(&graph.contents[content as usize], None, true);
    Some(RawData {
        key: graph.key(id),
        size_bytes: payload.size_bytes,
        digest: payload.digest,
        bytes_b64: payload.bytes_b64,
        type_name: payload.type_name,
    })
}

/// A task's raw form, each payload use passed through `map_payload`; `None` for a data node.
pub(super) fn raw_task(
    graph: &Graph,
    id: NodeId,
    map_payload: impl Fn(PayloadUse) -> RawArg,
) -> Option<RawTask> {
    let function = graph.function(id)?.to_string();
    let node = graph.node(id);
    let args = graph
        .args(id)
        .iter()
        .map(|arg| match *arg {
            Arg::Ref(dep) => RawArg::Ref(graph.key(dep)),
            Arg::Payload(payload) => map_payload(payload),
        })
        .collect();
    let deps: Vec<Key> = graph
        .extra_deps(id)
        .iter()
        .map(|&dep| graph.key(dep))
        .collect();
    Some(RawTask {
        key: graph.key(id),
        function,
        args,
        deps,
        output_bytes: node.output_bytes(),
        spec_bytes: Some(node.spec_bytes),
        wire_bytes: (node.wire_bytes != node.spec_bytes).then_some(node.wire_bytes),
    })
}

/// The raw form of a loaded graph, with each payload use passed through `map_payload` (which
/// may turn it into a reference), so rewrites share this walk.
pub fn graph_to_raw<'a>(
    graph: &'a Graph,
    data: Vec<RawData>,
    extra_tasks: Vec<RawTask>,
    map_payload: impl Fn(PayloadUse) -> RawArg + 'a,
) -> RawGraph<'a> {
    let mut all_data: Vec<RawData> = graph
        .node_ids()
        .filter_map(|id| raw_data(graph, id))
        .collect();
    all_data.extend(data);
    let tasks = graph
        .topological_order()
        .iter()
        .copied()
        .filter_map(move |id| raw_task(graph, id, &map_payload));
    RawGraph {
        header: Header {
            name: graph.name.clone(),
            meta: graph.meta.clone(),
            measured: graph.measured.clone(),
            contents: raw_content_infos(graph),
        },
        data: all_data,
        tasks: Box::new(extra_tasks.into_iter().chain(tasks)),
    }
}
