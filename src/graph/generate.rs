//! Deterministic graph generators: `map-blocks` (the seed case), `tree-reduce`, `shuffle` and
//! `random-dag`. Each yields a [`RawGraph`] whose tasks are produced lazily, so a million-task
//! graph can be written without being held. Payload bytes are pseudo-random from the seed; the
//! digest is always of those bytes, so `--with-bytes` changes the file, not the identities.

use super::key::Key;
use super::raw::{Header, RawArg, RawData, RawPayload, RawTask};
use super::strategy::Strategy;
use super::write::RawGraph;
use base64::Engine as _;
use serde_json::json;

/// Which generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorKind {
    /// N source chunks and N mapped tasks that each use one shared object: the seed case.
    MapBlocks,
    /// N chunks mapped with the object, then summed pairwise in a tree of the given fan-in.
    TreeReduce,
    /// N chunks split with the object, then an all-to-all exchange into N outputs.
    Shuffle,
    /// N tasks with random earlier dependencies; some embed one of a few shared objects.
    RandomDag,
}

/// Largest task count a generator accepts.
pub const MAX_GENERATED_TASKS: u64 = 50_000_000;

/// Parameters of a generator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenerateOptions {
    /// Which generator.
    pub kind: GeneratorKind,
    /// Number of chunks (tasks per layer).
    pub chunks: u64,
    /// Size of the shared object, in bytes; 0 for none.
    pub payload_bytes: u64,
    /// How the shared object reaches its tasks.
    pub strategy: Strategy,
    /// Seed for tokens, bytes and random structure.
    pub seed: u64,
    /// Embed real payload bytes (base64) instead of digests only.
    pub with_bytes: bool,
    /// Fan-in of tree-reduce; dependencies per task of random-dag.
    pub fan_in: u64,
    /// Size of each chunk's result, in bytes.
    pub chunk_bytes: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            kind: GeneratorKind::MapBlocks,
            chunks: 1024,
            payload_bytes: 240 * 1024,
            strategy: Strategy::Inline,
            seed: 0,
            with_bytes: false,
            fan_in: 8,
            chunk_bytes: 8000,
        }
    }
}

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// Pseudo-random bytes of the given length, determined by `seed`.
pub fn payload_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    extend_payload_bytes(seed, len, &mut bytes);
    bytes
}

/// Appends the `len` bytes of [`payload_bytes`] to `out`, without a temporary copy.
pub fn extend_payload_bytes(seed: u64, len: usize, out: &mut Vec<u8>) {
    let mut rng = SplitMix64::new(seed);
    let end = out.len() + len;
    while out.len() + 8 <= end {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    let rest = end - out.len();
    out.extend_from_slice(&rng.next_u64().to_le_bytes()[..rest]);
}

/// The BLAKE3 digest of [`payload_bytes`], computed in blocks: a payload of any accepted size
/// is hashed without being held in memory.
fn payload_digest(seed: u64, len: u64) -> blake3::Hash {
    const BLOCK: usize = 1 << 16;
    let mut rng = SplitMix64::new(seed);
    let mut hasher = blake3::Hasher::new();
    let mut block = Vec::with_capacity(BLOCK);
    let mut left = len;
    while left > 0 {
        block.clear();
        let take = left.min(BLOCK as u64) as usize;
        while block.len() + 8 <= take {
            block.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        let rest = take - block.len();
        if rest > 0 {
            block.extend_from_slice(&rng.next_u64().to_le_bytes()[..rest]);
        }
        hasher.update(&block);
        left -= take as u64;
    }
    hasher.finalize()
}

/// Largest payload `--with-bytes` embeds (base64 in every task that uses it).
pub const MAX_WITH_BYTES_PAYLOAD: u64 = 64 << 20;

fn token(seed: u64, name: &str) -> String {
    let hash = blake3::hash(format!("{seed}/{name}").as_bytes());
    hash.to_hex()[..32].to_string()
}

fn uuid(seed: u64, name: &str) -> String {
    let hex = token(seed ^ 0x5555, name);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// One large object used by many tasks, and how it reaches them under a strategy.
#[derive(Debug, Clone)]
struct SharedObject {
    payload: RawPayload,
    data_key: Key,
    builder_key: Key,
    builder_function: String,
}

impl SharedObject {
    fn new(name: &str, index: u64, size: u64, options: &GenerateOptions) -> Self {
        let content_seed = options.seed.wrapping_mul(1_000_003).wrapping_add(index);
        // Bytes that can be written are hashed; larger payloads (never written: --with-bytes
        // refuses them) get the digest of their description, so that any size is instant.
        let digest = if size <= MAX_WITH_BYTES_PAYLOAD {
            payload_digest(content_seed, size)
        } else {
            blake3::hash(format!("graphprof payload seed={content_seed} len={size}").as_bytes())
        };
        let payload = RawPayload {
            size_bytes: Some(size),
            digest: Some(format!("blake3:{}", digest.to_hex())),
            bytes_b64: options.with_bytes.then(|| {
                base64::engine::general_purpose::STANDARD
                    .encode(payload_bytes(content_seed, size as usize))
            }),
            object_id: Some(index + 1),
            type_name: Some(capitalise(name)),
            sent: None,
        };
        SharedObject {
            payload,
            data_key: Key::string(&format!("{name}-{}", token(options.seed, name))),
            builder_key: Key::string(&format!("make_{name}-{}", uuid(options.seed, name))),
            builder_function: format!("make_{name}"),
        }
    }

    fn arg(&self, strategy: Strategy) -> RawArg {
        match strategy {
            Strategy::Inline => RawArg::Payload(self.payload.clone()),
            Strategy::Scatter => RawArg::Ref(self.data_key.clone()),
            Strategy::Delayed => RawArg::Ref(self.builder_key.clone()),
        }
    }

    fn data(&self, strategy: Strategy) -> Option<RawData> {
        (strategy == Strategy::Scatter).then(|| RawData {
            key: self.data_key.clone(),
            size_bytes: self.payload.size_bytes,
            digest: self.payload.digest.clone(),
            bytes_b64: self.payload.bytes_b64.clone(),
            type_name: self.payload.type_name.clone(),
        })
    }

    fn builder(&self, strategy: Strategy) -> Option<RawTask> {
        (strategy == Strategy::Delayed).then(|| RawTask {
            key: self.builder_key.clone(),
            function: self.builder_function.clone(),
            args: Vec::new(),
            deps: Vec::new(),
            output_bytes: self.payload.size_bytes,
            spec_bytes: None,
            wire_bytes: None,
        })
    }
}

/// `mapper` -> `Mapper`: a type label from a name.
pub(crate) fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A task of `function` over `args`, with a result of `output_bytes` and no other sizes given.
pub(crate) fn task(key: Key, function: &str, args: Vec<RawArg>, output_bytes: u64) -> RawTask {
    RawTask {
        key,
        function: function.to_string(),
        args,
        deps: Vec::new(),
        output_bytes: Some(output_bytes),
        spec_bytes: None,
        wire_bytes: None,
    }
}

/// Checks the options and builds the generator's graph.
pub fn generate(options: &GenerateOptions) -> Result<RawGraph<'static>, String> {
    if options.chunks == 0 {
        return Err("--chunks must be at least 1".into());
    }
    if options.chunks > MAX_GENERATED_TASKS / 2 {
        return Err(format!(
            "--chunks {} is absurd (at most {})",
            options.chunks,
            MAX_GENERATED_TASKS / 2
        ));
    }
    if options.kind == GeneratorKind::Shuffle && options.chunks > 4096 {
        return Err("shuffle has chunks x chunks edges: use at most 4096 chunks".into());
    }
    if options.payload_bytes > crate::units::MAX_SIZE_BYTES {
        return Err("--payload-bytes is over the 1 TiB limit".into());
    }
    if options.with_bytes && options.payload_bytes > MAX_WITH_BYTES_PAYLOAD {
        return Err(format!(
            "--with-bytes embeds the payload in every task: use it with at most {} (or drop --with-bytes: digests describe any size)",
            crate::units::Bytes(MAX_WITH_BYTES_PAYLOAD)
        ));
    }
    if options.fan_in < 2 && options.kind == GeneratorKind::TreeReduce {
        return Err("--fan-in must be at least 2".into());
    }
    let mut meta = serde_json::Map::new();
    meta.insert(
        "generator".into(),
        serde_json::to_value(options).unwrap_or(json!(null)),
    );
    let header = Header {
        name: Some(format!(
            "{} {} x {} chunks",
            kind_name(options.kind),
            options.strategy,
            options.chunks
        )),
        meta,
        measured: None,
        contents: Vec::new(),
    };
    let graph = match options.kind {
        GeneratorKind::MapBlocks => layered(options, header, Tail::None),
        GeneratorKind::TreeReduce => layered(options, header, Tail::TreeReduce),
        GeneratorKind::Shuffle => layered(options, header, Tail::Shuffle),
        GeneratorKind::RandomDag => random_dag(options, header),
    };
    Ok(graph)
}

/// The generator's name as users type it.
pub fn kind_name(kind: GeneratorKind) -> &'static str {
    match kind {
        GeneratorKind::MapBlocks => "map-blocks",
        GeneratorKind::TreeReduce => "tree-reduce",
        GeneratorKind::Shuffle => "shuffle",
        GeneratorKind::RandomDag => "random-dag",
    }
}

enum Tail {
    None,
    TreeReduce,
    Shuffle,
}

/// Sources, a mapped layer that uses the shared object, then an optional reduction or shuffle.
fn layered(options: &GenerateOptions, header: Header, tail: Tail) -> RawGraph<'static> {
    let chunks = options.chunks;
    let chunk_bytes = options.chunk_bytes;
    let seed = options.seed;
    let strategy = options.strategy;
    let shared = (options.payload_bytes > 0)
        .then(|| SharedObject::new("mapper", 0, options.payload_bytes, options));
    let source = format!("arange-{}", token(seed, "arange"));
    let mapped = format!("f-{}", token(seed, "f"));
    let data: Vec<RawData> = shared.iter().filter_map(|s| s.data(strategy)).collect();
    let builders: Vec<RawTask> = shared.iter().filter_map(|s| s.builder(strategy)).collect();
    let sources = {
        let source = source.clone();
        (0..chunks).map(move |i| task(Key::chunk(&source, i), "arange", Vec::new(), chunk_bytes))
    };
    let maps = {
        let mapped = mapped.clone();
        (0..chunks).map(move |i| {
            let mut args = vec![RawArg::Ref(Key::chunk(&source, i))];
            args.extend(shared.as_ref().map(|s| s.arg(strategy)));
            task(Key::chunk(&mapped, i), "f", args, chunk_bytes)
        })
    };
    let tail: Box<dyn Iterator<Item = RawTask>> = match tail {
        Tail::None => Box::new(std::iter::empty()),
        Tail::TreeReduce => Box::new(tree_reduce_tail(mapped, chunks, options.fan_in, seed)),
        Tail::Shuffle => Box::new(shuffle_tail(mapped, chunks, chunk_bytes, seed)),
    };
    RawGraph {
        header,
        data,
        tasks: Box::new(builders.into_iter().chain(sources).chain(maps).chain(tail)),
    }
}

fn tree_reduce_tail(
    mapped: String,
    chunks: u64,
    fan_in: u64,
    seed: u64,
) -> impl Iterator<Item = RawTask> {
    let partial = format!("sum-partial-{}", token(seed, "sum-partial"));
    let mut level_inputs: Vec<Key> = (0..chunks).map(|i| Key::chunk(&mapped, i)).collect();
    let mut tasks = Vec::new();
    let mut level = 0u64;
    while level_inputs.len() > 1 {
        let mut next = Vec::new();
        for (i, group) in level_inputs.chunks(fan_in as usize).enumerate() {
            let key = Key::chunk(&partial, level * 1_000_000_000 + i as u64);
            let args = group.iter().cloned().map(RawArg::Ref).collect();
            tasks.push(task(key.clone(), "sum", args, 8));
            next.push(key);
        }
        level_inputs = next;
        level += 1;
    }
    tasks.into_iter()
}

fn shuffle_tail(
    mapped: String,
    chunks: u64,
    chunk_bytes: u64,
    seed: u64,
) -> impl Iterator<Item = RawTask> {
    let output = format!("shuffle-{}", token(seed, "shuffle"));
    (0..chunks).map(move |i| {
        let args = (0..chunks)
            .map(|j| RawArg::Ref(Key::chunk(&mapped, j)))
            .collect();
        task(Key::chunk(&output, i), "shuffle", args, chunk_bytes)
    })
}

const RANDOM_FUNCTIONS: [&str; 4] = ["load", "clean", "join", "aggregate"];
const RANDOM_SHARED_OBJECTS: u64 = 3;

fn random_dag(options: &GenerateOptions, header: Header) -> RawGraph<'static> {
    let strategy = options.strategy;
    let chunks = options.chunks;
    let fan_in = options.fan_in.max(1);
    let chunk_bytes = options.chunk_bytes;
    let seed = options.seed;
    let shared: Vec<SharedObject> = if options.payload_bytes == 0 {
        Vec::new()
    } else {
        (0..RANDOM_SHARED_OBJECTS)
            .map(|i| {
                let size = options.payload_bytes / (i + 1);
                SharedObject::new(&format!("table{i}"), i, size, options)
            })
            .collect()
    };
    let data: Vec<RawData> = shared.iter().filter_map(|s| s.data(strategy)).collect();
    let builders: Vec<RawTask> = shared.iter().filter_map(|s| s.builder(strategy)).collect();
    let names: Vec<String> = RANDOM_FUNCTIONS
        .iter()
        .map(|function| format!("{function}-{}", token(seed, function)))
        .collect();
    let mut rng = SplitMix64::new(seed);
    let mut chosen: Vec<u8> = Vec::new();
    let tasks = (0..chunks).map(move |i| {
        let function = rng.below(RANDOM_FUNCTIONS.len() as u64) as usize;
        chosen.push(function as u8);
        let mut args = Vec::new();
        if i > 0 {
            let count = 1 + rng.below(fan_in);
            let mut deps: Vec<u64> = (0..count).map(|_| rng.below(i)).collect();
            deps.sort_unstable();
            deps.dedup();
            args.extend(deps.into_iter().map(|dep| {
                let name = &names[chosen[dep as usize] as usize];
                RawArg::Ref(Key::chunk(name, dep))
            }));
        }
        if !shared.is_empty() && rng.below(4) == 0 {
            let object = &shared[rng.below(shared.len() as u64) as usize];
            args.push(object.arg(strategy));
        }
        task(
            Key::chunk(&names[function], i),
            RANDOM_FUNCTIONS[function],
            args,
            chunk_bytes,
        )
    });
    RawGraph {
        header,
        data,
        tasks: Box::new(builders.into_iter().chain(tasks)),
    }
}

/// Builds a generator's graph in memory, without a file.
pub fn generate_graph(options: &GenerateOptions) -> Result<super::Graph, String> {
    let raw = generate(options)?;
    super::build_raw(raw).map_err(|error| error.to_string())
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
