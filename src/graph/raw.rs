//! The graph file format, version 1, as plain serde structs: what is read from and written to
//! JSON, before validation. `docs/FORMAT.md` documents every field; `docs/graph.schema.json` is the
//! JSON Schema. The loader streams tasks through these one at a time.

use super::key::Key;
use serde::{Deserialize, Serialize};

/// The value of the `format` field.
pub const FORMAT_NAME: &str = "graphprof-graph";
/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// One task, as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    /// The task's key.
    pub key: Key,
    /// Name of the function the task runs (a label only; never executed).
    pub function: String,
    /// Arguments in order: references to other keys, or embedded payloads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<RawArg>,
    /// Dependencies not already named by a `ref` argument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<Key>,
    /// Size of the task's result in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    /// Serialized size of the task without its payloads, as it is shipped to a worker on its
    /// own; 64 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_bytes: Option<u64>,
    /// The task's share of the client's one message, payloads excepted; `spec_bytes` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_bytes: Option<u64>,
}

/// One argument of a task: `{"ref": KEY}` or `{"payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "ArgFields")]
pub enum RawArg {
    /// The result of another task, or a data object: a dependency.
    Ref(Key),
    /// An object embedded in the task.
    Payload(RawPayload),
}

/// An argument as read, before checking that it has exactly one of `ref` and `payload`; serde's
/// externally tagged enum would only say "expected value" for `{"ref": .., "payload": ..}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgFields {
    #[serde(rename = "ref")]
    reference: Option<Key>,
    payload: Option<RawPayload>,
}

impl TryFrom<ArgFields> for RawArg {
    type Error = &'static str;

    fn try_from(fields: ArgFields) -> Result<RawArg, Self::Error> {
        match (fields.reference, fields.payload) {
            (Some(key), None) => Ok(RawArg::Ref(key)),
            (None, Some(payload)) => Ok(RawArg::Payload(payload)),
            _ => Err("an argument is exactly one of {\"ref\": KEY} or {\"payload\": {...}}"),
        }
    }
}

/// An embedded object: its size and content identity, optionally its bytes and object identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayload {
    /// Serialized (pickled) size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Content digest `blake3:HEX` or `sha256:HEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The serialized bytes, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_b64: Option<String>,
    /// Object identity: payloads with the same id are the same Python object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<u64>,
    /// A label such as the Python type name.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Whether the object travels in the client's message as itself (true when absent); false
    /// for objects the scheduler creates when it materialises the graph (a partition sliced from
    /// a frame that the message holds once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<bool>,
}

/// What a payload content is, given once per digest in the file's `contents` list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContentInfo {
    /// The content this describes: a digest that payloads in the file use.
    pub digest: String,
    /// Bytes one deserialised copy occupies in a worker's memory, as measured by the exporter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_memory_bytes: Option<u64>,
    /// Items distributed serialises one by one when the object (or the container a function
    /// carries) travels on its own, as a scattered object or a fetched result: a list's, tuple's
    /// or set's items, a dict's entries. Absent when it travels as one pickle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
    /// The Python objects those items are: one per item of a sequence, a key and a value per
    /// entry of a dict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_objects: Option<u64>,
    /// Whether it is a pandas object holding strings in pyarrow's memory (pandas' `str` dtype,
    /// or an `ArrowDtype` string), which a worker that sends it copies: see
    /// `crate::graph::held::PANDAS_FIRST_SEND_RATIO`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub arrow_strings: bool,
    /// How the tasks carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<PayloadRole>,
    /// What it is and why it is big, for people ("bound method Model.predict, carries its Model
    /// instance").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the user's code holds it: a global or attribute of their script (`mapper in
    /// pipeline.py`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
}

/// How tasks carry a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadRole {
    /// An argument of the task's function (or of a partial).
    Argument,
    /// The function itself, pickled by value: a closure, a lambda, a bound method.
    Function,
    /// A literal data node: input data embedded in the graph.
    Data,
}

impl PayloadRole {
    /// The name the format uses.
    pub fn name(self) -> &'static str {
        match self {
            PayloadRole::Argument => "argument",
            PayloadRole::Function => "function",
            PayloadRole::Data => "data",
        }
    }
}

/// A shared data object already on the cluster (scattered), referenced by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// The data object's key.
    pub key: Key,
    /// Serialized size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Content digest `blake3:HEX` or `sha256:HEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The serialized bytes, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_b64: Option<String>,
    /// A label such as the Python type name.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

impl RawData {
    /// The data object's content description, in the shape payloads use.
    pub fn payload(&self) -> RawPayload {
        RawPayload {
            size_bytes: self.size_bytes,
            digest: self.digest.clone(),
            bytes_b64: self.bytes_b64.clone(),
            object_id: None,
            type_name: self.type_name.clone(),
            sent: None,
        }
    }
}

/// Figures measured outside graphprof, e.g. by the Dask exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// Bytes distributed reported sending for this graph.
    pub wire_bytes: u64,
    /// Where the figure comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Everything in a graph file except its tasks and data objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// A label for reports.
    pub name: Option<String>,
    /// Free-form provenance, shown and never interpreted.
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Figures measured outside graphprof.
    pub measured: Option<Measured>,
    /// What is known of payload contents beyond their size (in-memory size, role, names).
    pub contents: Vec<RawContentInfo>,
}
