//! The in-memory task graph: nodes (tasks and data objects) with interned keys, flat argument and
//! dependency arrays, one record per distinct payload content, and the petgraph DAG with a
//! topological order. Built only by [`super::build::GraphBuilder`], so every `Graph` is valid:
//! unique keys, no missing dependencies, no cycles, at least one task.

use super::key::{self, Key};
use super::raw::{Measured, PayloadRole};
use petgraph::graph::{DiGraph, NodeIndex};
use std::fmt;
use std::sync::Arc;

/// Index of a node (task or data object); equal to its petgraph `NodeIndex`.
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
}

/// A payload embedded in one task's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadUse {
    /// Index into [`Graph::contents`].
    pub content: u32,
    /// Object identity from the file, if any.
    pub object_id: Option<u64>,
    /// Whether the object travels in the client's message (see [`super::raw::RawPayload::sent`]).
    pub sent: bool,
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
    /// Size of the result (tasks) when known.
    pub output_bytes: Option<u64>,
    /// Serialized size of the task without its payloads, shipped on its own (0 for data objects).
    pub spec_bytes: u64,
    /// The task's share of the client's message, payloads excepted (0 for data objects).
    pub wire_bytes: u64,
    pub(super) args: (u32, u32),
    pub(super) extra_deps: (u32, u32),
}

/// Tagged keys (see [`Key::tagged`]) stored end to end in one string: one allocation for all
/// keys instead of one per key, and neighbouring ids are neighbours in memory.
#[derive(Debug, Clone, Default)]
pub struct KeyArena {
    text: String,
    ends: Vec<usize>,
}

impl KeyArena {
    /// Appends a tagged key; its id is the previous length.
    pub fn push(&mut self, tagged: &str) {
        self.text.push_str(tagged);
        self.ends.push(self.text.len());
    }

    /// The tagged key with this id.
    pub fn get(&self, id: NodeId) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.text[start..self.ends[id]]
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Frees unused capacity once no more keys come.
    pub fn shrink_to_fit(&mut self) {
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
    pub(super) dag: DiGraph<(), (), u32>,
    pub(super) topo_order: Vec<NodeId>,
}

impl Graph {
    /// Number of nodes (tasks and data objects).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of tasks.
    pub fn task_count(&self) -> usize {
        self.nodes
            .iter()
            .filter(|node| matches!(node.kind, NodeKind::Task { .. }))
            .count()
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
        Key::from_tagged(self.keys.get(id))
    }

    /// The tagged form of a node's key (see [`Key::tagged`]), without allocating.
    pub fn tagged_key(&self, id: NodeId) -> &str {
        self.keys.get(id)
    }

    /// The key of a node as Python prints it.
    pub fn key_display(&self, id: NodeId) -> String {
        key::display_key(self.keys.get(id))
    }

    /// The layer of a node (Dask's `key_split`).
    pub fn layer(&self, id: NodeId) -> String {
        key::layer_of_name(&key::key_name(self.keys.get(id)))
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
        let (start, end) = self.node(id).extra_deps;
        &self.extra_deps[start as usize..end as usize]
    }

    /// Every dependency of a node, without repeats.
    pub fn dependencies(&self, id: NodeId) -> Vec<NodeId> {
        let mut deps: Vec<NodeId> = self
            .dag
            .neighbors_directed(NodeIndex::new(id as usize), petgraph::Direction::Incoming)
            .map(|index| index.index() as NodeId)
            .collect();
        deps.sort_unstable();
        deps
    }

    /// The distinct dependents of a node.
    pub fn dependents(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.dag
            .neighbors_directed(NodeIndex::new(id as usize), petgraph::Direction::Outgoing)
            .map(|index| index.index() as NodeId)
    }

    /// Number of distinct dependents of a node.
    pub fn dependent_count(&self, id: NodeId) -> usize {
        self.dag
            .neighbors_directed(NodeIndex::new(id as usize), petgraph::Direction::Outgoing)
            .count()
    }

    /// The dependency DAG: an edge from each dependency to its dependent.
    pub fn dag(&self) -> &DiGraph<(), (), u32> {
        &self.dag
    }

    /// Node ids in an order where every dependency comes before its dependents.
    pub fn topological_order(&self) -> &[NodeId] {
        &self.topo_order
    }
}
