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

/// One argument: a reference (a range of [`TaskParts::refs`]) or a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartArg {
    /// A tagged key in `refs`.
    Ref(Range<usize>),
    /// An embedded payload.
    Payload(PartPayload),
}

/// A task's fields, in reusable buffers.
#[derive(Debug, Clone, Default)]
pub struct TaskParts {
    /// The tagged key (see [`super::key::Key::tagged`]).
    pub key: String,
    /// The function name.
    pub function: String,
    /// Arguments in order.
    pub args: Vec<PartArg>,
    /// Extra dependencies: ranges of `refs`.
    pub deps: Vec<Range<usize>>,
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
    /// The digest text parsed last and its value, kept across tasks: most payloads repeat it.
    last_digest: Option<(Vec<u8>, Digest)>,
}

impl TaskParts {
    /// Empties every buffer, keeping their capacity.
    pub fn clear(&mut self) {
        self.key.clear();
        self.function.clear();
        self.args.clear();
        self.deps.clear();
        self.refs.clear();
        self.types.clear();
        self.output_bytes = None;
        self.spec_bytes = None;
        self.wire_bytes = None;
    }

    /// Parses a digest's text (see [`Digest::parse`]); `None` when it is not one.
    pub fn digest(&mut self, text: &[u8]) -> Option<Digest> {
        if let Some((last_text, digest)) = &self.last_digest
            && last_text.as_slice() == text
        {
            return Some(*digest);
        }
        let digest = Digest::parse(std::str::from_utf8(text).ok()?).ok()?;
        self.last_digest = Some((text.to_vec(), digest));
        Some(digest)
    }
}
