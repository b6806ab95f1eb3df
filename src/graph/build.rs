//! Builds a validated [`Graph`] from raw tasks and data objects, one at a time, so the loader can
//! stream a file and the generators can feed tasks without writing JSON. Keys are interned as they
//! appear (a dependency may be named before it is defined); `finish` checks what can only be
//! checked at the end: missing dependencies, an empty graph, cycles.

use super::intern::KeyInterner;
use super::key::display_key;
use super::model::{
    Arg, Content, ContentInfo, DEFAULT_SPEC_BYTES, Digest, DigestAlgo, Graph, NO_OUTPUT, Node,
    NodeId, NodeKind, PayloadUse,
};
use super::parts::{ChunkSplit, PartArg, TaskParts, TemplatePlan};
use super::raw::{Header, RawArg, RawContentInfo, RawData, RawPayload, RawTask};
use crate::units::{Bytes, MAX_SIZE_BYTES};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Arc;

#[path = "build_hit.rs"]
mod hit;
use hit::{ArgUse, HitPlan, KeyUse};
#[path = "order.rs"]
mod order;
use order::{build_dag, topological_order};

/// A problem found while building, with the key it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    /// The key the problem is about, displayed as Python prints it (whole: displays bound it).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl BuildError {
    fn at(key: &str, message: impl Into<String>) -> Self {
        BuildError {
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    fn whole(message: impl Into<String>) -> Self {
        BuildError {
            key: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "key {}: {}", crate::escape::quote(key), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BuildError {}

/// `referrer` value of a node that is defined.
const DEFINED: NodeId = NodeId::MAX;

/// A node that is only named so far; replaced when it is defined.
const PLACEHOLDER: Node = Node {
    kind: NodeKind::Task { function: u32::MAX },
    output: NO_OUTPUT,
    spec_bytes: 0,
    wire_bytes: 0,
    args: (0, 0),
};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Accumulates tasks and data objects into a [`Graph`].
#[derive(Default)]
pub struct GraphBuilder {
    header: Header,
    keys: KeyInterner,
    nodes: Vec<Node>,
    /// Per node: [`DEFINED`], or the first node that named it as a dependency (itself until one
    /// does), for the "missing key" message.
    referrer: Vec<NodeId>,
    args: Vec<Arg>,
    extra_deps: Vec<NodeId>,
    /// Tasks with extra dependencies, with their range of `extra_deps`, in file order.
    extra_dep_ranges: Vec<(NodeId, u32, u32)>,
    functions: Vec<String>,
    function_ids: FastMap<String, u32>,
    contents: Vec<Content>,
    content_ids: FastMap<Digest, u32>,
    /// The function most recently interned.
    last_function: Option<u32>,
    /// The content most recently interned: payloads tend to repeat one object.
    last_content: Option<(Digest, u32)>,
    /// Templates resolved for building their copies (see [`hit`]), by generation; `None` in a
    /// pair: their copies go the full way.
    hit_plans: [Option<(u64, Option<Box<HitPlan>>)>; hit::PLANS],
    /// Where the next template's plan goes.
    next_hit_plan: usize,
    /// The parts of a template's copy that goes the full way (kept for reuse).
    scratch: TaskParts,
    /// The numbers of a copy in a run (kept for reuse).
    run_numbers: Vec<u64>,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name, provenance and measured figures.
    pub fn set_header(&mut self, header: Header) {
        self.header = header;
    }

    /// Interns a tagged key (see [`super::key::Key::tagged`]).
    fn intern_key(&mut self, tagged: &str) -> NodeId {
        let (id, new) = self.keys.intern(tagged);
        if new {
            self.nodes.push(PLACEHOLDER);
            self.referrer.push(id);
        }
        id
    }

    /// Interns a key of a task's parts, split already when it is a chunk key.
    fn intern_part_key(&mut self, tagged: &str, split: Option<ChunkSplit>) -> NodeId {
        let Some(split) = split else {
            return self.intern_key(tagged);
        };
        let name = &tagged[2..2 + split.name_token as usize];
        let (id, new) = self.keys.intern_split(tagged, name, split.index as usize);
        if new {
            self.nodes.push(PLACEHOLDER);
            self.referrer.push(id);
        }
        id
    }

    /// Interns a key that is being defined; refuses a key defined twice.
    fn define_key(&mut self, tagged: &str) -> Result<NodeId, BuildError> {
        self.define_part_key(tagged, None)
    }

    /// [`Self::define_key`] for a key of a task's parts.
    fn define_part_key(
        &mut self,
        tagged: &str,
        split: Option<ChunkSplit>,
    ) -> Result<NodeId, BuildError> {
        if self.keys.len() >= u32::MAX as usize - 1 {
            return Err(BuildError::whole("more than 4 billion keys"));
        }
        let id = self.intern_part_key(tagged, split);
        if self.referrer[id as usize] == DEFINED {
            return Err(BuildError::at(&display_key(tagged), "duplicate key"));
        }
        Ok(id)
    }

    fn intern_function(&mut self, name: &str) -> u32 {
        if let Some(&last) = self.last_function.as_ref()
            && self.functions[last as usize] == name
        {
            return last;
        }
        let id = self.lookup_function(name);
        self.last_function = Some(id);
        id
    }

    fn lookup_function(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.function_ids.get(name) {
            return id;
        }
        let id = self.functions.len() as u32;
        self.function_ids.insert(name.to_string(), id);
        self.functions.push(name.to_string());
        id
    }

    fn intern_content(&mut self, payload: RawPayload) -> Result<u32, String> {
        let RawPayload {
            size_bytes,
            digest,
            bytes_b64,
            type_name,
            ..
        } = payload;
        let stated = digest.as_deref().map(Digest::parse).transpose()?;
        let (digest, size_bytes, bytes) = match bytes_b64 {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|error| format!("bad base64 in bytes_b64: {error}"))?;
                let algo = stated.map_or(DigestAlgo::Blake3, |digest| digest.algo);
                let computed = Digest::of(algo, &bytes);
                if let Some(stated) = stated
                    && stated != computed
                {
                    return Err(format!(
                        "digest mismatch: the file says {stated} but the bytes hash to {computed}"
                    ));
                }
                let actual = bytes.len() as u64;
                if let Some(size) = size_bytes
                    && size != actual
                {
                    return Err(format!(
                        "size_bytes is {size} but bytes_b64 holds {actual} bytes"
                    ));
                }
                (computed, actual, Some(Arc::<[u8]>::from(bytes)))
            }
            None => {
                let digest =
                    stated.ok_or("a payload needs a digest or bytes_b64 (content identity)")?;
                let size = size_bytes.ok_or("a payload without bytes_b64 needs size_bytes")?;
                (digest, size, None)
            }
        };
        self.intern_known(digest, size_bytes, type_name.as_deref(), bytes)
    }

    /// Interns a content whose digest and size are settled; the first type label given stays.
    fn intern_known(
        &mut self,
        digest: Digest,
        size_bytes: u64,
        type_name: Option<&str>,
        bytes: Option<Arc<[u8]>>,
    ) -> Result<u32, String> {
        if size_bytes > MAX_SIZE_BYTES {
            return Err(format!(
                "size_bytes {size_bytes} is absurd (over the 1 TiB limit, {})",
                Bytes(MAX_SIZE_BYTES)
            ));
        }
        let known_id = match self.last_content {
            Some((last, id)) if last == digest => Some(id),
            _ => self.content_ids.get(&digest).copied(),
        };
        if let Some(id) = known_id {
            let known = &mut self.contents[id as usize];
            if known.size_bytes != size_bytes {
                return Err(format!(
                    "digest {} was given with size {} before and {} here",
                    digest.short(),
                    known.size_bytes,
                    size_bytes
                ));
            }
            if known.bytes.is_none() {
                known.bytes = bytes;
            }
            self.last_content = Some((digest, id));
            return Ok(id);
        }
        let id = self.contents.len() as u32;
        self.content_ids.insert(digest, id);
        self.contents.push(Content {
            digest,
            size_bytes,
            type_name: type_name.map(str::to_string),
            bytes,
            info: ContentInfo::default(),
        });
        self.last_content = Some((digest, id));
        Ok(id)
    }

    /// Adds one task.
    pub fn add_task(&mut self, task: RawTask) -> Result<(), BuildError> {
        let id = self.define_key(task.key.tagged())?;
        let with_key = |message: String| BuildError::at(&task.key.to_string(), message);
        let sizes =
            check_sizes(task.spec_bytes, task.wire_bytes, task.output_bytes).map_err(with_key)?;
        let args_start = self.args.len() as u32;
        for arg in task.args {
            let arg = match arg {
                RawArg::Ref(dep) => Arg::Ref(self.intern_key(dep.tagged())),
                RawArg::Payload(payload) => {
                    let object_id = payload.object_id;
                    let sent = payload.sent.unwrap_or(true);
                    let content = self.intern_content(payload).map_err(with_key)?;
                    Arg::Payload(PayloadUse::new(content, object_id, sent))
                }
            };
            self.args.push(arg);
        }
        let deps_start = self.extra_deps.len() as u32;
        for dep in &task.deps {
            let dep_id = self.intern_key(dep.tagged());
            self.extra_deps.push(dep_id);
        }
        let function = self.intern_function(&task.function);
        self.define_task(
            id,
            function,
            task.output_bytes,
            sizes,
            args_start,
            deps_start,
        );
        Ok(())
    }

    /// Adds one task from the loader's reusable parts, exactly as [`Self::add_task`] would add
    /// the same task, without allocating.
    pub fn add_parts(&mut self, task: &TaskParts) -> Result<(), BuildError> {
        let Some(plan) = &task.hit else {
            return self.add_read_parts(task);
        };
        // The plan is found (or resolved) once for the task and all its run: the copies of a
        // run come one after another, so each would find the same.
        let at = self.hit_plan(plan);
        let kept = self.hit_plans[at].take();
        let hit = kept.as_ref().and_then(|(_, hit)| hit.as_deref());
        let mut numbers = std::mem::take(&mut self.run_numbers);
        let mut added = Ok(());
        for copy in 0..=task.run {
            let numbers = if task.run == 0 {
                &task.numbers
            } else {
                task.run_numbers(copy, &mut numbers);
                &numbers
            };
            if hit.is_some_and(|hit| self.build_hit(hit, numbers)) {
                continue;
            }
            let mut parts = std::mem::take(&mut self.scratch);
            plan.materialize(numbers, &mut parts);
            added = self.add_read_parts(&parts);
            self.scratch = parts;
            if added.is_err() {
                break;
            }
        }
        self.run_numbers = numbers;
        self.hit_plans[at] = kept;
        added
    }

    /// Builds a task read as `plan`'s copy with `numbers` from its numbers alone (see [`hit`]);
    /// `false`, with nothing changed, when it must go the full way: for tests, which count them.
    #[cfg(test)]
    fn add_hit(&mut self, plan: &TemplatePlan, numbers: &[u64]) -> bool {
        let at = self.hit_plan(plan);
        let kept = self.hit_plans[at].take();
        let hit = kept.as_ref().and_then(|(_, hit)| hit.as_deref());
        let built = hit.is_some_and(|hit| self.build_hit(hit, numbers));
        self.hit_plans[at] = kept;
        built
    }

    /// Where the plan of `plan`'s copies (see [`hit`]) is kept: resolved when it is not kept
    /// yet; `None` in the pair when its copies must go the full way.
    fn hit_plan(&mut self, plan: &TemplatePlan) -> usize {
        let kept = self
            .hit_plans
            .iter()
            .position(|kept| kept.as_ref().is_some_and(|(g, _)| *g == plan.generation));
        kept.unwrap_or_else(|| {
            let at = self.next_hit_plan;
            self.next_hit_plan = (at + 1) % hit::PLANS;
            let resolved = HitPlan::resolve(
                plan,
                &self.keys,
                |name| self.function_ids.get(name).copied(),
                |digest| self.content_ids.get(digest).copied(),
            );
            self.hit_plans[at] = Some((plan.generation, resolved.map(Box::new)));
            at
        })
    }

    /// Builds one copy of `hit` with `numbers` as [`Self::add_parts`] builds its parts: the own
    /// key, the arguments, the dependencies, in that order; `false`, with nothing changed, when
    /// [`HitPlan::check`] or the sizes refuse it.
    fn build_hit(&mut self, hit: &HitPlan, numbers: &[u64]) -> bool {
        let (referrer, contents) = (&self.referrer, &self.contents);
        let Some(task) = hit.check(
            numbers,
            &self.keys,
            |id| referrer[id as usize] == DEFINED,
            |content| contents.get(content as usize).map(|c| c.size_bytes),
        ) else {
            return false;
        };
        let Ok(sizes) = check_sizes(task.spec, task.wire, task.output) else {
            return false;
        };
        let id = self.intern_probed(hit.own_slot, task.own_index);
        let args_start = self.args.len() as u32;
        for arg in &hit.args {
            let arg = match *arg {
                ArgUse::Ref(key) => Arg::Ref(self.intern_use(key, numbers)),
                ArgUse::Payload {
                    content,
                    object_id,
                    sent,
                    ..
                } => Arg::Payload(PayloadUse::new(
                    content,
                    object_id.of(numbers).flatten(),
                    sent,
                )),
            };
            self.args.push(arg);
        }
        let deps_start = self.extra_deps.len() as u32;
        for &key in &hit.deps {
            let dep = self.intern_use(key, numbers);
            self.extra_deps.push(dep);
        }
        self.define_task(id, hit.function, task.output, sizes, args_start, deps_start);
        true
    }

    /// The id of a referenced key of a copy that [`HitPlan::check`] passed.
    fn intern_use(&mut self, key: KeyUse, numbers: &[u64]) -> NodeId {
        match key {
            KeyUse::Fixed(id) => id,
            KeyUse::Chunk { slot, number } => {
                let index = numbers.get(number).copied().unwrap_or_default();
                self.intern_probed(slot, index as usize)
            }
        }
    }

    /// Interns a chunk key that [`HitPlan::check`] probed, with a placeholder node when new.
    fn intern_probed(&mut self, slot: u32, index: usize) -> NodeId {
        let (id, new) = self.keys.intern_probed(slot, index);
        if new {
            self.nodes.push(PLACEHOLDER);
            self.referrer.push(id);
        }
        id
    }

    /// [`Self::add_parts`] of parts that hold the task (not a template's copy).
    fn add_read_parts(&mut self, task: &TaskParts) -> Result<(), BuildError> {
        let id = self.define_part_key(&task.key, task.key_split)?;
        let with_key = |message: String| BuildError::at(&display_key(&task.key), message);
        let sizes =
            check_sizes(task.spec_bytes, task.wire_bytes, task.output_bytes).map_err(with_key)?;
        let args_start = self.args.len() as u32;
        for arg in &task.args {
            let arg = match arg {
                PartArg::Ref(dep) => {
                    Arg::Ref(self.intern_part_key(&task.refs[dep.range.clone()], dep.split))
                }
                PartArg::Payload(payload) => {
                    let type_name = payload.type_name.clone().map(|range| &task.types[range]);
                    let content = self
                        .intern_known(payload.digest, payload.size_bytes, type_name, None)
                        .map_err(with_key)?;
                    Arg::Payload(PayloadUse::new(content, payload.object_id, payload.sent))
                }
            };
            self.args.push(arg);
        }
        let deps_start = self.extra_deps.len() as u32;
        for dep in &task.deps {
            let dep_id = self.intern_part_key(&task.refs[dep.range.clone()], dep.split);
            self.extra_deps.push(dep_id);
        }
        let function = self.intern_function(&task.function);
        self.define_task(
            id,
            function,
            task.output_bytes,
            sizes,
            args_start,
            deps_start,
        );
        Ok(())
    }

    /// Records the task whose arguments and extra dependencies were just pushed.
    fn define_task(
        &mut self,
        id: NodeId,
        function: u32,
        output_bytes: Option<u64>,
        (spec_bytes, wire_bytes): (u64, u64),
        args_start: u32,
        deps_start: u32,
    ) {
        for index in args_start as usize..self.args.len() {
            if let Arg::Ref(dep) = self.args[index] {
                self.note_reference(dep, id);
            }
        }
        for index in deps_start as usize..self.extra_deps.len() {
            self.note_reference(self.extra_deps[index], id);
        }
        self.nodes[id as usize] = Node {
            kind: NodeKind::Task { function },
            output: output_bytes.unwrap_or(NO_OUTPUT),
            spec_bytes,
            wire_bytes,
            args: (args_start, self.args.len() as u32),
        };
        let deps_end = self.extra_deps.len() as u32;
        if deps_end > deps_start {
            self.extra_dep_ranges.push((id, deps_start, deps_end));
        }
        self.referrer[id as usize] = DEFINED;
    }

    fn note_reference(&mut self, dep: NodeId, by: NodeId) {
        let first = &mut self.referrer[dep as usize];
        if *first == dep {
            *first = by;
        }
    }

    /// Adds one shared data object.
    pub fn add_data(&mut self, data: RawData) -> Result<(), BuildError> {
        let id = self.define_key(data.key.tagged())?;
        let content = self
            .intern_content(data.payload())
            .map_err(|message| BuildError::at(&data.key.to_string(), message))?;
        let at = self.args.len() as u32;
        self.nodes[id as usize] = Node {
            kind: NodeKind::Data { content },
            output: self.contents[content as usize].size_bytes,
            spec_bytes: 0,
            wire_bytes: 0,
            args: (at, at),
        };
        self.referrer[id as usize] = DEFINED;
        Ok(())
    }

    /// Attaches what the file's `contents` list says to the contents the payloads named.
    fn describe_contents(&mut self, infos: Vec<RawContentInfo>) -> Result<(), BuildError> {
        for raw in infos {
            let digest = Digest::parse(&raw.digest)
                .map_err(|message| BuildError::whole(format!("contents: {message}")))?;
            let Some(&id) = self.content_ids.get(&digest) else {
                return Err(BuildError::whole(format!(
                    "contents: digest {} is not used by any payload or data object",
                    digest.short()
                )));
            };
            if let Some(size) = raw.in_memory_bytes
                && size > MAX_SIZE_BYTES
            {
                return Err(BuildError::whole(format!(
                    "contents: in_memory_bytes {size} of {} is absurd (over the 1 TiB limit)",
                    digest.short()
                )));
            }
            for (field, value) in [("items", raw.items), ("item_objects", raw.item_objects)] {
                if let Some(count) = value
                    && count > MAX_SIZE_BYTES
                {
                    return Err(BuildError::whole(format!(
                        "contents: {field} {count} of {} is absurd (over 2^40)",
                        digest.short()
                    )));
                }
            }
            self.contents[id as usize].info = ContentInfo {
                in_memory_bytes: raw.in_memory_bytes,
                items: raw.items,
                item_objects: raw.item_objects,
                arrow_strings: raw.arrow_strings,
                role: raw.role,
                description: raw.description,
                variable: raw.variable,
            };
        }
        Ok(())
    }

    /// Checks dependencies and cycles and returns the graph.
    pub fn finish(mut self) -> Result<Graph, BuildError> {
        let infos = std::mem::take(&mut self.header.contents);
        self.describe_contents(infos)?;
        if let Some((id, &by)) = self
            .referrer
            .iter()
            .enumerate()
            .find(|(_, by)| **by != DEFINED)
        {
            return Err(BuildError::at(
                &display_key(&self.keys.get(by)),
                format!(
                    "depends on missing key {}",
                    crate::escape::quote(&display_key(&self.keys.get(id as NodeId)))
                ),
            ));
        }
        // Free the builder's tables before the DAG is built: the peak of a load is here.
        drop(std::mem::take(&mut self.referrer));
        drop(std::mem::take(&mut self.function_ids));
        drop(std::mem::take(&mut self.content_ids));
        let nodes = self.nodes;
        let task_count = nodes
            .iter()
            .filter(|node| matches!(node.kind, NodeKind::Task { .. }))
            .count();
        if task_count == 0 {
            return Err(BuildError::whole("the graph has no tasks"));
        }
        let alias_function = self
            .functions
            .iter()
            .position(|name| name == super::held::ALIAS_FUNCTION)
            .map(|index| index as u32);
        let mut graph = Graph {
            name: self.header.name,
            meta: self.header.meta,
            measured: self.header.measured,
            functions: self.functions,
            contents: self.contents,
            keys: self.keys.into_keys(),
            nodes,
            args: self.args,
            extra_deps: self.extra_deps,
            extra_dep_ranges: {
                // Ids are unique (each node is defined once): sorted, a range is found by id.
                let mut ranges = self.extra_dep_ranges;
                ranges.sort_unstable_by_key(|&(node, _, _)| node);
                ranges
            },
            dag: Default::default(),
            topo_order: Vec::new(),
            alias_function,
            task_count,
        };
        graph.dag = build_dag(&graph)
            .map_err(|_| BuildError::whole("the graph has more than 4,294,967,295 dependencies"))?;
        graph.topo_order =
            topological_order(&graph).map_err(|cycle| BuildError::at(&cycle.key, cycle.message))?;
        Ok(graph)
    }
}

/// The spec and wire sizes (defaults when absent), after refusing absurd sizes.
fn check_sizes(
    spec_bytes: Option<u64>,
    wire_bytes: Option<u64>,
    output_bytes: Option<u64>,
) -> Result<(u64, u64), String> {
    let spec_bytes = spec_bytes.unwrap_or(DEFAULT_SPEC_BYTES);
    let wire_bytes = wire_bytes.unwrap_or(spec_bytes);
    for size in [Some(spec_bytes), Some(wire_bytes), output_bytes]
        .into_iter()
        .flatten()
    {
        if size > MAX_SIZE_BYTES {
            return Err(format!("size {size} is absurd (over the 1 TiB limit)"));
        }
    }
    Ok((spec_bytes, wire_bytes))
}
