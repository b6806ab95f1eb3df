//! Graph files for unit tests.

/// The text of a graph file whose `tasks` tasks `["f", i]` each embed one copy of one payload of
/// `size_bytes` pickled bytes and type `type_name`, with a result of 8,000 bytes; the content's
/// `in_memory_bytes` and `content_fields` (`, "items": 10`), and the header's `meta` fields
/// (`"generator": "graphprof.export"`), as given.
pub(crate) fn one_payload_in_every_task(
    tasks: usize,
    type_name: &str,
    size_bytes: u64,
    in_memory_bytes: u64,
    content_fields: &str,
    meta: &str,
) -> String {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let tasks: Vec<String> = (0..tasks)
        .map(|i| {
            format!(
                r#"{{"key": ["f", {i}], "function": "f", "output_bytes": 8000, "args": [
                    {{"payload": {{"size_bytes": {size_bytes}, "digest": "{digest}",
                    "object_id": 1, "type": "{type_name}"}}}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"format": "graphprof-graph", "version": 1, "meta": {{{meta}}}, "tasks": [{}],
            "contents": [{{"digest": "{digest}", "in_memory_bytes": {in_memory_bytes}
            {content_fields}}}]}}"#,
        tasks.join(",")
    )
}
