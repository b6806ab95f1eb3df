//! The in-memory task graph: nodes (tasks and data objects) with interned keys, flat argument and
//! dependency arrays, one record per distinct payload content, and the dependency DAG with a
//! topological order. Built only by [`super::build::GraphBuilder`], so every `Graph` is valid:
//! unique keys, no missing dependencies, no cycles, at least one task.

use super::dag::Dag;
use super::key::{self, Key};
use super::raw::{Measured, PayloadRole};
use std::fmt;
use std::sync::Arc;

/// Index of a node (task or data object), in file order of first mention.
pub type NodeId = u32;

/// Default serialized size of a task without payloads, when the file does not say.
pub const DEFAULT_SPEC_BYTES: u64 = 64;

/// Hash algorithm of a content digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgo {
    /// BLAKE3, what graphprof computes by default.
    Blake3,
    /// SHA-256, what Python's hashlib offers without extra packages.
    Sha256,
}

/// A content digest: two payloads with equal digests hold the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    /// The algorithm.
    pub algo: DigestAlgo,
    /// The 32-byte hash.
    pub hash: [u8; 32],
}

impl Digest {
    /// Hashes bytes with the given algorithm.
    pub fn of(algo: DigestAlgo, bytes: &[u8]) -> Digest {
        let hash = match algo {
            DigestAlgo::Blake3 => *blake3::hash(bytes).as_bytes(),
            DigestAlgo::Sha256 => {
                use sha2::Digest as _;
                sha2::Sha256::digest(bytes).into()
            }
        };
        Digest { algo, hash }
    }

    /// Parses `blake3:HEX` or `sha256:HEX` (64 lowercase or uppercase hex digits).
    pub fn parse(text: &str) -> Result<Digest, String> {
        let (algo, hex) = match text.split_once(':') {
            Some(("blake3", hex)) => (DigestAlgo::Blake3, hex),
            Some(("sha256", hex)) => (DigestAlgo::Sha256, hex),
            _ => {
                return Err(format!(
                    "digest '{}' must be 'blake3:HEX' or 'sha256:HEX'",
                    shorten(text)
                ));
            }
        };
        if hex.len() != 64 {
            return Err(format!(
                "digest '{}' must have 64 hex digits, not {}",
                shorten(text),
                hex.len()
            ));
        }
        let nibble = |digit: u8| match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        };
        let mut hash = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            hash[i] = nibble(pair[0])
                .zip(nibble(pair[1]))
                .map(|(high, low)| high << 4 | low)
                .ok_or_else(|| format!("digest '{}' is not hexadecimal", shorten(text)))?;
        }
        Ok(Digest { algo, hash })
    }

    /// The first 12 hex digits, for tables.
    pub fn short(&self) -> String {
        let full = self.to_string();
        let hex_start = full.find(':').map_or(0, |colon| colon + 1);
        full.chars().take(hex_start + 12).collect()
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algo = match self.algo {
            DigestAlgo::Blake3 => "blake3",
            DigestAlgo::Sha256 => "sha256",
        };
        write!(f, "{algo}:")?;
        for byte in self.hash {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// One distinct payload content (all payloads with this digest).
#[derive(Debug, Clone)]
pub struct Content {
    /// Content identity.
    pub digest: Digest,
    /// Serialized size in bytes.
    pub size_bytes: u64,
    /// Type label from the file, if any.
    pub type_name: Option<String>,
    /// The real bytes, when the file carried them.
    pub bytes: Option<Arc<[u8]>>,
    /// What the file's `contents` list says of it.
    pub info: ContentInfo,
}

/// What is known of a content beyond its pickled size: from the exporter, absent in generated or
/// hand-written graphs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContentInfo {
    /// Bytes one deserialised copy occupies in memory, measured by the exporter.
    pub in_memory_bytes: Option<u64>,
    /// Items distributed serialises one by one when it travels on its own (see
    /// [`super::raw::RawContentInfo::items`]), from the exporter.
    pub items: Option<u64>,
    /// The Python objects those items are (see [`super::raw::RawContentInfo::item_objects`]).
    pub item_objects: Option<u64>,
    /// A pandas object with strings in pyarrow's memory (see
    /// [`super::raw::RawContentInfo::arrow_strings`]).
    pub arrow_strings: bool,
    /// How the tasks carry it.
    pub role: Option<PayloadRole>,
    /// What it is and why it is big.
    pub description: Option<String>,
    /// The user's variable that holds it.
    pub variable: Option<String>,
}

impl Content {
    /// Bytes one copy holds in a worker's memory: the measured in-memory size, else the pickled
    /// size (see [`Content::in_memory_known`]).
    pub fn held_bytes(&self) -> u64 {
        self.info.in_memory_bytes.unwrap_or(self.size_bytes)
    }

    /// Whether [`Content::held_bytes`] is a measured in-memory size rather than the pickle size.
    pub fn in_memory_known(&self) -> bool {
        self.info.in_memory_bytes.is_some()
    }

    /// `(items, item_objects)` when the object travels item by item once a fix sends it on its
    /// own (scattered, or fetched as `dask.delayed(obj)`'s result): a container does; a function
    /// (a closure over a list, a bound method) is pickled whole, whatever it captures: what the
    /// rewrite moves for such a task is the function (measured: closure_list, a closure over a
    /// 100,000-float list, scattered by `sample` held 29.7 MiB where the list sent item by item
    /// held 57.9 MB).
    pub fn travels_item_by_item(&self) -> Option<(u64, Option<u64>)> {
        if self.info.role == Some(super::raw::PayloadRole::Function) {
            return None;
        }
        self.info.items.map(|items| (items, self.info.item_objects))
    }
}

/// A payload embedded in one task's arguments; 16 bytes (an [`Arg`] too), as a graph holds one
/// per embedded copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadUse {
    /// Index into [`Graph::contents`].
    pub content: u32,
    /// Whether the object travels in the client's message (see [`super::raw::RawPayload::sent`]).
    pub sent: bool,
    /// Whether the file gave an object identity: then `object` is it.
    has_object: bool,
    object: u64,
}

impl PayloadUse {
    /// A use of `content` with the object identity from the file, if any.
    pub fn new(content: u32, object_id: Option<u64>, sent: bool) -> Self {
        PayloadUse {
            content,
            sent,
            has_object: object_id.is_some(),
            object: object_id.unwrap_or(0),
        }
    }

    /// Object identity from the file, if any.
    pub fn object_id(&self) -> Option<u64> {
        self.has_object.then_some(self.object)
    }
}

/// One argument of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// The result of another node.
    Ref(NodeId),
    /// An embedded payload.
    Payload(PayloadUse),
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A task running the function with this index in [`Graph::functions`].
    Task { function: u32 },
    /// A shared data object with this content.
    Data { content: u32 },
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Task or data object.
    pub kind: NodeKind,
    /// Size of the result (tasks), [`NO_OUTPUT`] when unknown: see [`Node::output_bytes`].
    pub(super) output: u64,
    /// Serialized size of the task without its payloads, shipped on its own (0 for data objects).
    pub spec_bytes: u64,
    /// The task's share of the client's message, payloads excepted (0 for data objects).
    pub wire_bytes: u64,
    pub(super) args: (u32, u32),
}

/// [`Node::output`] of a result whose size is unknown (sizes are at most 1 TiB).
pub(super) const NO_OUTPUT: u64 = u64::MAX;

impl Node {
    /// Size of the result (tasks) when known.
    pub fn output_bytes(&self) -> Option<u64> {
        (self.output != NO_OUTPUT).then_some(self.output)
    }
}

/// Marks a [`KeyArena`] entry that is a chunk key: name number << 32 | index.
const CHUNK_ENTRY: u64 = 1 << 63;

/// Most chunk names a [`KeyArena`] numbers (31 bits of an entry); keys of any further names are
/// kept as text.
pub const MAX_CHUNK_NAMES: usize = 1 << 31;

/// Tagged keys (see [`Key::tagged`]), compactly: a Dask chunk key `t["name",index]` (nearly every
/// key of a large graph) as its name's number and its index in one 8-byte entry, written out
/// when asked for; any other key's text end to end in one string (one allocation for all keys).
#[derive(Debug, Clone, Default)]
pub struct KeyArena {
    /// Per key: [`CHUNK_ENTRY`] | name << 32 | index for a chunk key, else its number among the
    /// text keys.
    entries: Vec<u64>,
    /// Chunk names as JSON strings (quoted, as in the key), by number.
    names: Vec<Box<str>>,
    text: String,
    ends: Vec<usize>,
}

impl KeyArena {
    /// Appends a tagged key as text; its id is the previous length.
    pub fn push(&mut self, tagged: &str) {
        self.text.push_str(tagged);
        self.ends.push(self.text.len());
        self.entries.push((self.ends.len() - 1) as u64);
    }

    /// Numbers a chunk name (a JSON string, quoted) for [`Self::push_chunk`]; `None` past
    /// [`MAX_CHUNK_NAMES`].
    pub fn add_name(&mut self, name: &str) -> Option<u32> {
        if self.names.len() >= MAX_CHUNK_NAMES {
            return None;
        }
        self.names.push(name.into());
        Some((self.names.len() - 1) as u32)
    }

    /// Appends the chunk key `t[NAME,index]` of a name numbered by [`Self::add_name`]; its id is
    /// the previous length.
    pub fn push_chunk(&mut self, name: u32, index: u32) {
        self.entries
            .push(CHUNK_ENTRY | u64::from(name) << 32 | u64::from(index));
    }

    /// The name and index of a chunk key, `None` for a key kept as text.
    fn chunk(&self, id: NodeId) -> Option<(&str, u32)> {
        let entry = self.entries[id as usize];
        (entry & CHUNK_ENTRY != 0).then(|| {
            let name = ((entry & !CHUNK_ENTRY) >> 32) as usize;
            (&*self.names[name], entry as u32)
        })
    }

    /// The tagged key with this id: borrowed for a key kept as text, written out for a chunk key.
    pub fn get(&self, id: NodeId) -> std::borrow::Cow<'_, str> {
        let Some((name, index)) = self.chunk(id) else {
            return std::borrow::Cow::Borrowed(self.text_key(id));
        };
        let mut digits = [0u8; 20];
        let digits = key::itoa_u64(u64::from(index), &mut digits);
        let mut tagged = String::with_capacity(name.len() + digits.len() + 4);
        tagged.push_str("t[");
        tagged.push_str(name);
        tagged.push(',');
        tagged.push_str(digits);
        tagged.push(']');
        std::borrow::Cow::Owned(tagged)
    }

    /// The text of a key kept as text (see [`Self::push`]).
    fn text_key(&self, id: NodeId) -> &str {
        let number = self.entries[id as usize] as usize;
        let start = if number == 0 {
            0
        } else {
            self.ends[number - 1]
        };
        &self.text[start..self.ends[number]]
    }

    /// Whether the key with this id, kept as text, is `tagged`; `false` for a chunk key.
    pub fn text_is(&self, id: NodeId, tagged: &str) -> bool {
        self.entries[id as usize] & CHUNK_ENTRY == 0 && self.text_key(id) == tagged
    }

    /// The name token of a key ([`key::key_name_token`]), without writing out a chunk key.
    pub fn name_token(&self, id: NodeId) -> &str {
        match self.chunk(id) {
            Some((name, _)) => name,
            None => key::key_name_token(self.text_key(id)),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frees unused capacity once no more keys come.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        self.names.shrink_to_fit();
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// A validated task graph.
#[derive(Debug, Clone)]
pub struct Graph {
    /// A label for reports.
    pub name: Option<String>,
    /// Free-form provenance from the file.
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Figures measured outside graphprof.
    pub measured: Option<Measured>,
    /// Function names, indexed by `NodeKind::Task::function`.
    pub functions: Vec<String>,
    /// Distinct payload contents.
    pub contents: Vec<Content>,
    pub(super) keys: KeyArena,
    pub(super) nodes: Vec<Node>,
    pub(super) args: Vec<Arg>,
    pub(super) extra_deps: Vec<NodeId>,
    /// The nodes that have extra dependencies (few do), by id, with their range of `extra_deps`:
    /// kept beside the nodes rather than in each.
    pub(super) extra_dep_ranges: Vec<(NodeId, u32, u32)>,
    pub(super) dag: Dag,
    pub(super) topo_order: Vec<NodeId>,
    /// The index in `functions` of `alias`, if any task runs it.
    pub(super) alias_function: Option<u32>,
    /// Number of tasks (the other nodes are data objects), counted once when built.
    pub(super) task_count: usize,
}

impl Graph {
    /// Whether a task runs function `function` (an index in `functions`) and it is `alias`.
    pub fn runs_alias(&self, function: u32) -> bool {
        self.alias_function == Some(function)
    }

    /// Whether any task runs `alias`.
    pub fn has_alias(&self) -> bool {
        self.alias_function.is_some()
    }

    /// Number of nodes (tasks and data objects).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of tasks.
    pub fn task_count(&self) -> usize {
        self.task_count
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// All node ids, in file order of first mention.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        0..self.nodes.len() as NodeId
    }

    /// The key of a node.
    pub fn key(&self, id: NodeId) -> Key {
        Key::from_tagged(&self.keys.get(id))
    }

    /// The tagged form of a node's key (see [`Key::tagged`]); a chunk key is written out.
    pub fn tagged_key(&self, id: NodeId) -> std::borrow::Cow<'_, str> {
        self.keys.get(id)
    }

    /// The name token of a node's key ([`key::key_name_token`]), without allocating.
    pub fn key_name_token(&self, id: NodeId) -> &str {
        self.keys.name_token(id)
    }

    /// The key of a node as Python prints it.
    pub fn key_display(&self, id: NodeId) -> String {
        key::display_key(&self.keys.get(id))
    }

    /// The layer of a node (Dask's `key_split`).
    pub fn layer(&self, id: NodeId) -> String {
        key::layer_of_name(&key::key_name(&self.keys.get(id)))
    }

    /// The function name of a task, or `None` for a data object.
    pub fn function(&self, id: NodeId) -> Option<&str> {
        match self.node(id).kind {
            NodeKind::Task { function } => Some(&self.functions[function as usize]),
            NodeKind::Data { .. } => None,
        }
    }

    /// A task's arguments in order (empty for a data object).
    pub fn args(&self, id: NodeId) -> &[Arg] {
        let (start, end) = self.node(id).args;
        &self.args[start as usize..end as usize]
    }

    /// A task's embedded payloads.
    pub fn payloads(&self, id: NodeId) -> impl Iterator<Item = PayloadUse> + '_ {
        self.args(id).iter().filter_map(|arg| match arg {
            Arg::Payload(payload) => Some(*payload),
            Arg::Ref(_) => None,
        })
    }

    /// Dependencies that are not `ref` arguments.
    pub fn extra_deps(&self, id: NodeId) -> &[NodeId] {
        match (self.extra_dep_ranges).binary_search_by_key(&id, |&(node, _, _)| node) {
            Ok(at) => {
                let (_, start, end) = self.extra_dep_ranges[at];
                &self.extra_deps[start as usize..end as usize]
            }
            Err(_) => &[],
        }
    }

    /// Every dependency of a node, without repeats.
    pub fn dependencies(&self, id: NodeId) -> Vec<NodeId> {
        self.dag.dependencies(id).iter().rev().copied().collect()
    }

    /// The distinct dependents of a node.
    pub fn dependents(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.dag.dependents(id).iter().copied()
    }

    /// Number of distinct dependents of a node.
    pub fn dependent_count(&self, id: NodeId) -> usize {
        self.dag.dependents(id).len()
    }

    /// Number of distinct dependencies of a node.
    pub fn dependency_count(&self, id: NodeId) -> usize {
        self.dag.dependencies(id).len()
    }

    /// The dependency DAG: each node's distinct dependencies and dependents.
    pub fn dag(&self) -> &Dag {
        &self.dag
    }

    /// Node ids in an order where every dependency comes before its dependents.
    pub fn topological_order(&self) -> &[NodeId] {
        &self.topo_order
    }
}
