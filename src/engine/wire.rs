//! The engine's binary framing: the one message the client sends (function names, each payload
//! object once per distinct object id, then one record per task), the scheduler's reading of it,
//! and the per-task frame the scheduler sends a worker (the task's record followed by a copy of
//! each payload it embeds, so each inline task carries its own copy).
//!
//! Message: `GPG1`, `u32` function count and `u16`-prefixed names, `u32` object count and
//! `u64`-prefixed objects, `u32` task count and the records. A record is
//! `u32 len, u32 node, u16 function, u16 args, u64 output_bytes, u16 deps, u16 0`, one `u32` per
//! argument (a node id, or `PAYLOAD_FLAG | object index`), one `u32` per extra dependency, then
//! zeros up to `len = max(spec_bytes, 24 + 4 x (args + deps))`: a record is the task's
//! `spec_bytes` unless its arguments do not fit (more than 10 with the default 64 bytes). Keys are
//! not written: the graph's spec size stands for them, and the scheduler names keys from the graph.

use super::ledger::{Account, LimitExceeded, Tracked};
use crate::graph::generate::extend_payload_bytes;
use crate::graph::{Arg, Graph, NodeKind};
use std::collections::HashMap;

const MAGIC: &[u8; 4] = b"GPG1";
const RECORD_HEADER_BYTES: usize = 24;
/// Marks an argument word as a payload (object index) rather than a node id.
pub const PAYLOAD_FLAG: u32 = 1 << 31;

/// Why a message could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The memory limit refused a buffer.
    Limit(LimitExceeded),
    /// The graph does not fit the framing, or a message is malformed.
    Format(String),
}

impl From<LimitExceeded> for WireError {
    fn from(limit: LimitExceeded) -> Self {
        WireError::Limit(limit)
    }
}

/// The bytes of a content: the file's real bytes, else pseudo-random bytes of the recorded size
/// seeded by the digest.
pub fn content_bytes(
    graph: &Graph,
    content: u32,
    account: &Account,
) -> Result<Tracked, LimitExceeded> {
    let content = &graph.contents[content as usize];
    match &content.bytes {
        Some(bytes) => account.copy_of(bytes),
        None => {
            let mut seed = [0u8; 8];
            seed.copy_from_slice(&content.digest.hash[..8]);
            let len = content.size_bytes as usize;
            account.filled(len, |out| {
                extend_payload_bytes(u64::from_le_bytes(seed), len, out)
            })
        }
    }
}

/// An unsigned field of the framing, with the largest value it holds.
trait Field: TryFrom<usize> {
    const MAX: u64;
}

impl Field for u16 {
    const MAX: u64 = u16::MAX as u64;
}

impl Field for u32 {
    const MAX: u64 = u32::MAX as u64;
}

/// Most distinct functions a graph may have: a record names its function by a `u16` index.
const MAX_FUNCTIONS: usize = 1 << 16;

/// `value` as the framing's field `T`, or an error naming what overflows it and the limit.
fn small<T: Field>(value: usize, what: &str) -> Result<T, WireError> {
    T::try_from(value).map_err(|_| too_many(value, what, T::MAX))
}

fn too_many(value: usize, what: &str, limit: u64) -> WireError {
    WireError::Format(format!(
        "too many {what} ({}; the built-in engine takes at most {})",
        crate::units::count(value as u64),
        crate::units::count(limit)
    ))
}

fn word(value: u32, what: &str) -> Result<u32, WireError> {
    if value & PAYLOAD_FLAG != 0 {
        return Err(WireError::Format(format!("{what} {value} is too large")));
    }
    Ok(value)
}

/// The client's serialization of the whole graph: one message, each payload object once.
pub fn serialize_graph(graph: &Graph, account: &Account) -> Result<Tracked, WireError> {
    // A limit of the whole graph, said once (not by the task that first passes it).
    if graph.functions.len() > MAX_FUNCTIONS {
        let limit = MAX_FUNCTIONS as u64;
        return Err(too_many(graph.functions.len(), "distinct functions", limit));
    }
    // Pass 1: the object table (payload uses with the same content and object id are one object;
    // a use without an object id is its own object) and the message size.
    let mut object_of: HashMap<(u32, u64), u32> = HashMap::new();
    let mut objects: Vec<u32> = Vec::new();
    let mut use_objects: Vec<u32> = Vec::new();
    let mut tasks = 0usize;
    let mut records = 0usize;
    for &id in graph.topological_order() {
        let NodeKind::Task { .. } = graph.node(id).kind else {
            continue;
        };
        tasks += 1;
        for payload in graph.payloads(id) {
            let fresh = objects.len() as u32;
            let object = match payload.object_id() {
                Some(object_id) => *object_of
                    .entry((payload.content, object_id))
                    .or_insert(fresh),
                None => fresh,
            };
            if object == fresh {
                objects.push(payload.content);
            }
            use_objects.push(object);
        }
        records += record_len(graph, id);
    }
    let names: usize = graph.functions.iter().map(|name| 2 + name.len()).sum();
    let object_bytes: usize = objects
        .iter()
        .map(|&content| 8 + graph.contents[content as usize].size_bytes as usize)
        .sum();
    let total = MAGIC.len() + 4 + names + 4 + object_bytes + 4 + records;
    let mut contents: Vec<Option<Tracked>> = (0..graph.contents.len()).map(|_| None).collect();
    for &content in &objects {
        if contents[content as usize].is_none() {
            contents[content as usize] = Some(content_bytes(graph, content, account)?);
        }
    }
    // Pass 2: write.
    let mut failure = None;
    let message = account.filled(total, |out| {
        out.extend_from_slice(MAGIC);
        let result = (|| {
            out.extend_from_slice(&small::<u32>(graph.functions.len(), "functions")?.to_le_bytes());
            for name in &graph.functions {
                out.extend_from_slice(&small::<u16>(name.len(), "name bytes")?.to_le_bytes());
                out.extend_from_slice(name.as_bytes());
            }
            out.extend_from_slice(&small::<u32>(objects.len(), "objects")?.to_le_bytes());
            for &content in &objects {
                let bytes = contents[content as usize]
                    .as_deref()
                    .expect("every object's content was made in pass 1");
                out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                out.extend_from_slice(bytes);
            }
            out.extend_from_slice(&small::<u32>(tasks, "tasks")?.to_le_bytes());
            let mut uses = use_objects.iter();
            for &id in graph.topological_order() {
                if let NodeKind::Task { function } = graph.node(id).kind {
                    write_record(graph, id, function, &mut uses, out)
                        .map_err(|error| of_task(graph, id, error))?;
                }
            }
            Ok(())
        })();
        failure = result.err();
    })?;
    match failure {
        Some(error) => Err(error),
        None => Ok(message),
    }
}

fn record_len(graph: &Graph, id: u32) -> usize {
    let words = graph.args(id).len() + graph.extra_deps(id).len();
    (RECORD_HEADER_BYTES + 4 * words).max(graph.node(id).spec_bytes as usize)
}

/// A framing error of task `id`'s record, with the task named.
fn of_task(graph: &Graph, id: u32, error: WireError) -> WireError {
    match error {
        WireError::Format(message) => WireError::Format(format!(
            "task {}: {message}",
            crate::escape::quote(&graph.key_display(id))
        )),
        limit => limit,
    }
}

fn write_record<'a>(
    graph: &Graph,
    id: u32,
    function: u32,
    uses: &mut impl Iterator<Item = &'a u32>,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let len = record_len(graph, id);
    let start = out.len();
    let args = graph.args(id);
    let deps = graph.extra_deps(id);
    out.extend_from_slice(&small::<u32>(len, "record bytes")?.to_le_bytes());
    out.extend_from_slice(&word(id, "node id")?.to_le_bytes());
    // Below MAX_FUNCTIONS, checked before the first record.
    out.extend_from_slice(&small::<u16>(function as usize, "function index")?.to_le_bytes());
    out.extend_from_slice(&small::<u16>(args.len(), "arguments")?.to_le_bytes());
    let output = graph.node(id).output_bytes().unwrap_or(0);
    out.extend_from_slice(&output.to_le_bytes());
    out.extend_from_slice(&small::<u16>(deps.len(), "dependencies")?.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    for arg in args {
        let value = match *arg {
            Arg::Ref(dep) => word(dep, "node id")?,
            Arg::Payload(_) => {
                let object = *uses.next().expect("pass 1 recorded every payload use");
                word(object, "object index")? | PAYLOAD_FLAG
            }
        };
        out.extend_from_slice(&value.to_le_bytes());
    }
    for &dep in deps {
        out.extend_from_slice(&word(dep, "node id")?.to_le_bytes());
    }
    out.resize(start + len, 0);
    Ok(())
}

/// One task as the scheduler read it from the message.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    /// Where the record starts in the message, and its length.
    pub offset: usize,
    /// Record length in bytes.
    pub len: usize,
    /// The task's node id.
    pub node: u32,
    /// Index into [`GraphMessage::functions`].
    pub function: u16,
    /// Size of the result.
    pub output_bytes: u64,
    /// Argument words (node ids, or `PAYLOAD_FLAG | object`), in order.
    pub args: Vec<u32>,
    /// Extra dependencies.
    pub deps: Vec<u32>,
}

/// The scheduler's copy of the graph: the message bytes and an index into them.
#[derive(Debug)]
pub struct GraphMessage {
    /// The received message (counted while the scheduler holds it).
    pub bytes: Tracked,
    /// Function names.
    pub functions: Vec<String>,
    /// Each object's position and length in `bytes`.
    pub objects: Vec<(usize, usize)>,
    /// The tasks in message order (a topological order).
    pub tasks: Vec<TaskRecord>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| WireError::Format("truncated message".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_le_bytes)
    }
}

/// Reads a message the client sent (the scheduler's deserialisation).
pub fn read_graph(bytes: Tracked) -> Result<GraphMessage, WireError> {
    let mut reader = Reader {
        bytes: &bytes,
        at: 0,
    };
    if reader.take(4)? != MAGIC {
        return Err(WireError::Format("not a graph message".into()));
    }
    let mut functions = Vec::new();
    for _ in 0..reader.u32()? {
        let len = reader.u16()? as usize;
        functions.push(String::from_utf8_lossy(reader.take(len)?).into_owned());
    }
    let mut objects = Vec::new();
    for _ in 0..reader.u32()? {
        let len = usize::try_from(reader.u64()?)
            .map_err(|_| WireError::Format("object too large".into()))?;
        objects.push((reader.at, len));
        reader.take(len)?;
    }
    let count = reader.u32()? as usize;
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let offset = reader.at;
        let mut record = Reader {
            bytes: reader.take(RECORD_HEADER_BYTES)?,
            at: 0,
        };
        let len = record.u32()? as usize;
        let node = record.u32()?;
        let function = record.u16()?;
        let arg_count = record.u16()? as usize;
        let output_bytes = record.u64()?;
        let dep_count = record.u16()? as usize;
        let args = (0..arg_count)
            .map(|_| reader.u32())
            .collect::<Result<Vec<_>, _>>()?;
        let deps = (0..dep_count)
            .map(|_| reader.u32())
            .collect::<Result<Vec<_>, _>>()?;
        let used = reader.at - offset;
        reader.take(len.checked_sub(used).ok_or_else(|| {
            WireError::Format(format!("record of node {node} overruns its length"))
        })?)?;
        if usize::from(function) >= functions.len()
            || args.iter().any(|&arg| {
                arg & PAYLOAD_FLAG != 0 && (arg & !PAYLOAD_FLAG) as usize >= objects.len()
            })
        {
            return Err(WireError::Format(format!(
                "record of node {node} is invalid"
            )));
        }
        tasks.push(TaskRecord {
            offset,
            len,
            node,
            function,
            output_bytes,
            args,
            deps,
        });
    }
    Ok(GraphMessage {
        bytes,
        functions,
        objects,
        tasks,
    })
}

impl GraphMessage {
    /// The bytes of one object.
    pub fn object(&self, index: u32) -> &[u8] {
        let (start, len) = self.objects[index as usize];
        &self.bytes[start..start + len]
    }

    /// The frame the scheduler sends a worker for one task: its record, then each embedded
    /// payload as a `u64` length and a copy of the bytes.
    pub fn task_frame(
        &self,
        task: &TaskRecord,
        account: &Account,
    ) -> Result<Tracked, LimitExceeded> {
        let payloads = task.args.iter().filter(|&&arg| arg & PAYLOAD_FLAG != 0);
        let len = task.len
            + payloads
                .clone()
                .map(|&arg| 8 + self.objects[(arg & !PAYLOAD_FLAG) as usize].1)
                .sum::<usize>();
        account.filled(len, |out| {
            out.extend_from_slice(&self.bytes[task.offset..task.offset + task.len]);
            for &arg in payloads {
                let object = self.object(arg & !PAYLOAD_FLAG);
                out.extend_from_slice(&(object.len() as u64).to_le_bytes());
                out.extend_from_slice(object);
            }
        })
    }
}

/// A worker's deserialisation of a task frame: the spec (the record) and one copy per payload.
/// A copy holds `held[i]` bytes when that is known and larger than its pickle (the in-memory size
/// of a deserialised Python container: its pickle's bytes, repeated to fill), else the pickle.
pub fn read_frame(
    frame: &[u8],
    account: &Account,
    held: &[u64],
) -> Result<Vec<Tracked>, WireError> {
    let mut reader = Reader {
        bytes: frame,
        at: 0,
    };
    let len = reader.u32()? as usize;
    reader.at = 0;
    let mut parts = vec![account.copy_of(reader.take(len)?)?];
    while reader.at < frame.len() {
        let len = usize::try_from(reader.u64()?)
            .map_err(|_| WireError::Format("payload too large".into()))?;
        let pickled = reader.take(len)?;
        let in_memory = held.get(parts.len() - 1).copied().unwrap_or(0) as usize;
        if in_memory > pickled.len() && !pickled.is_empty() {
            parts.push(account.filled(in_memory, |out| {
                while out.len() + pickled.len() <= in_memory {
                    out.extend_from_slice(pickled);
                }
                out.extend_from_slice(&pickled[..in_memory - out.len()]);
            })?);
        } else {
            parts.push(account.copy_of(pickled)?);
        }
    }
    Ok(parts)
}
