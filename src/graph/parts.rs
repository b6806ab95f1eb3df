//! One task as the loader's fast path reads it: the tagged key, the function name and the
//! arguments held in buffers that are cleared and reused for every task, so that reading a task
//! allocates nothing. [`super::build::GraphBuilder::add_parts`] adds it to the graph.

use super::model::Digest;
use std::ops::Range;

/// An embedded payload given by digest and size (the fast path leaves `bytes_b64` to serde).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPayload {
    /// Content identity.
    pub digest: Digest,
    /// Serialized size in bytes.
    pub size_bytes: u64,
    /// Object identity, if given.
    pub object_id: Option<u64>,
    /// Whether it travels in the client's message (`sent`, true when absent).
    pub sent: bool,
    /// The type label: a range of [`TaskParts::types`].
    pub type_name: Option<Range<usize>>,
}

/// A chunk key `t["name",index]` as the reader split it, so the interner need not: exactly what
/// the interner's own split gives for the same tagged key (an index under 10^9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSplit {
    /// Length of the name with its quotes, which starts after `t[` (a key whose name is longer
    /// than a u32 counts is left for the interner to split).
    pub name_token: u32,
    /// The index.
    pub index: u32,
}

/// A tagged key in one of [`TaskParts`]' buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartKey {
    /// Where its text is.
    pub range: Range<usize>,
    /// Its name and index, for a chunk key.
    pub split: Option<ChunkSplit>,
}

/// One argument: a reference (a key in [`TaskParts::refs`]) or a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartArg {
    /// A tagged key in `refs`.
    Ref(PartKey),
    /// An embedded payload.
    Payload(PartPayload),
}

/// A task's fields, in reusable buffers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskParts {
    /// The tagged key (see [`super::key::Key::tagged`]).
    pub key: String,
    /// The key's name and index, for a chunk key.
    pub key_split: Option<ChunkSplit>,
    /// The function name.
    pub function: String,
    /// Arguments in order.
    pub args: Vec<PartArg>,
    /// Extra dependencies: keys in `refs`.
    pub deps: Vec<PartKey>,
    /// Tagged keys of references and dependencies, end to end.
    pub refs: String,
    /// Payload type labels, end to end.
    pub types: String,
    /// Size of the task's result, when given.
    pub output_bytes: Option<u64>,
    /// Serialized size without payloads, when given.
    pub spec_bytes: Option<u64>,
    /// Share of the client's message, when given.
    pub wire_bytes: Option<u64>,
    /// The generation of the template these parts are a copy of (but for their numbers), 0 for
    /// none: see `visit_template`. A reader's hint to itself, not part of the task.
    pub from_template: u64,
}

impl TaskParts {
    /// Empties every buffer, keeping their capacity.
    pub fn clear(&mut self) {
        self.key.clear();
        self.key_split = None;
        self.function.clear();
        self.args.clear();
        self.deps.clear();
        self.refs.clear();
        self.types.clear();
        self.output_bytes = None;
        self.spec_bytes = None;
        self.wire_bytes = None;
        self.from_template = 0;
    }
}
