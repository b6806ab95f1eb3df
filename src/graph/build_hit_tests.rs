//! Tests that tasks built from a template's numbers give what the full path gives, kept beside
//! `build_hit.rs` (it includes this file as its `differential_tests` module): the same graph and
//! the same error on every task, on random graphs and on cases at the edges, and the same graph
//! as the serde path and as the loader's readers.

use crate::graph::GraphBuilder;
use crate::graph::build::BuildError;
use crate::graph::load::{read_fast_bytes, read_graph};
use crate::graph::parts::TaskParts;
use crate::graph::raw::{RawData, RawTask};
use crate::graph::scan::{Cursor, Stop};
use crate::graph::split::{Plan, read_split};
use crate::graph::visit::{Recent, task};
use crate::units::MAX_SIZE_BYTES;
use std::path::Path;

const HEAD: &str = r#"{"format":"graphprof-graph","version":1,"tasks":["#;
const DIGEST: &str = "blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5";
/// The largest size (1 TiB, 13 digits): one more is absurd.
const LIMIT: u64 = MAX_SIZE_BYTES;

/// The random graphs are those of the seeds `0..RANDOM_SEEDS`, or of as many as
/// `GRAPHPROF_HIT_SEEDS` says when it says more. The default keeps the test to a few seconds in
/// the debug profile. 20,000 seeds were run once, all agreeing: about 4.9 million tasks read as a
/// template's copy, 466,462 of them built from numbers alone. To run them again:
/// `GRAPHPROF_HIT_SEEDS=20000 cargo test --release --lib graph::build::hit` (about five minutes).
const RANDOM_SEEDS: u64 = 120;
const SEEDS_VARIABLE: &str = "GRAPHPROF_HIT_SEEDS";

/// The file of `data` and `tasks`.
fn file(data: &[String], tasks: &[String]) -> String {
    let head = if data.is_empty() {
        HEAD.to_string()
    } else {
        HEAD.replace(
            r#""tasks":["#,
            &format!(r#""data":[{}],"tasks":["#, data.join(",")),
        )
    };
    format!("{head}\n{}\n]}}", tasks.join(",\n"))
}

/// The file of `data` and `tasks` read by the serde path, which reads every task in full: the
/// graph as its debug text, or the error.
fn serde(data: &[String], tasks: &[String]) -> Result<String, String> {
    read_graph(Path::new("g.json"), file(data, tasks).as_bytes())
        .map(|graph| format!("{graph:?}"))
        .map_err(|error| error.to_string())
}

/// Reads `tasks` with `readers` readers taking blocks of `block` tasks in turn (as the split
/// reader does: each reader keeps its own templates) and builds each task twice: from the
/// template's numbers when it can (`add_parts`, as the loader does; `add_hit` first, to count
/// them), and from the parts that the template and the numbers make (`add_read_parts`, the full
/// path). Asserts that
/// the two agree on every task, that the finished graph (or the error) is the serde path's, and
/// gives how many tasks were built from numbers alone.
fn differential(
    data: &[String],
    tasks: &[String],
    readers: usize,
    block: usize,
    serde: &Result<String, String>,
) -> u64 {
    let mut hit = GraphBuilder::new();
    let mut full = GraphBuilder::new();
    let mut outcome = Ok(());
    for text in data {
        let raw: RawData = serde_json::from_str(text).expect("a data object");
        outcome = hit.add_data(raw.clone());
        assert_eq!(outcome, full.add_data(raw), "{text}");
        if outcome.is_err() {
            break;
        }
    }
    let mut recents: Vec<Recent> = (0..readers).map(|_| Recent::default()).collect();
    let mut parts = TaskParts::default();
    let mut from_numbers = 0;
    for (n, text) in tasks.iter().enumerate() {
        if outcome.is_err() {
            break;
        }
        let recent = &mut recents[(n / block) % readers];
        match task(&mut Cursor::new(text.as_bytes()), &mut parts, recent) {
            Ok(()) => {}
            Err(Stop::Bail) => panic!("bails on {text}"),
            Err(Stop::Short) => panic!("short on {text}"),
        }
        let mut plain = TaskParts::default();
        let plain = match &parts.hit {
            Some(plan) => {
                plan.materialize(&parts.numbers, &mut plain);
                &plain
            }
            None => &parts,
        };
        // `add_hit` changes nothing when it says no, and `add_parts` then asks it again.
        outcome = match &parts.hit {
            Some(plan) if hit.add_hit(plan, &parts.numbers) => {
                from_numbers += 1;
                Ok(())
            }
            _ => hit.add_parts(&parts),
        };
        assert_eq!(outcome, full.add_read_parts(plain), "task {n}: {text}");
    }
    let graph = |outcome: Result<(), BuildError>, builder: GraphBuilder| {
        outcome
            .and_then(|()| builder.finish())
            .map(|graph| format!("{graph:?}"))
    };
    let from_hit = graph(outcome.clone(), hit);
    assert_eq!(from_hit, graph(outcome, full));
    match (from_hit, serde) {
        (Ok(graph), Ok(serde)) => assert_eq!(&graph, serde),
        (Err(error), Err(serde)) => assert!(serde.ends_with(&error.message), "{serde}"),
        (built, serde) => panic!("built {built:?}, serde {serde:?}"),
    }
    from_numbers
}

/// Reads the file of `data` and `tasks` with the loader's fast path and its split reader (one
/// and two readers), with buffers of each of `capacities` bytes: each read that does not bail
/// gives the serde path's graph.
fn readers_agree(data: &[String], tasks: &[String], capacities: [usize; 2], what: &str) {
    let text = file(data, tasks);
    let serde = serde(data, tasks);
    for capacity in capacities.into_iter().chain([text.len() + 1]) {
        if let Some(fast) = read_fast_bytes(text.as_bytes(), capacity) {
            assert_eq!(
                Ok(format!("{fast:?}")),
                serde,
                "{what}, capacity {capacity}"
            );
        }
        for readers in [1, 2] {
            let plan = Plan {
                segment_bytes: capacity as u64,
                buffer_bytes: capacity.max(64),
                readers,
            };
            if let Some(split) = read_split(text.as_bytes(), plan) {
                assert_eq!(
                    Ok(format!("{split:?}")),
                    serde,
                    "{what}, split at {capacity} with {readers} readers"
                );
            }
        }
    }
}

/// A xorshift generator (the same graphs on every run) and how many unusual numbers to mix in:
/// 0 none, 1 some (duplicate keys, sizes past the limit), 2 more (keys of another width).
struct Random {
    state: u64,
    noise: u64,
}

impl Random {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A number of `digits` digits.
    fn width(&mut self, digits: u32) -> u64 {
        let low = if digits == 1 {
            0
        } else {
            10u64.pow(digits - 1)
        };
        low + self.below(10u64.pow(digits) - low)
    }
}

/// The names of the keys. A key is `(name, index)`: `["name",index]` for a name below 100, the
/// string `"s{name}-{index}"` for 100 + name, `["name",index,0]` for 200 + name.
const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
const STRING_KEY: usize = 100;
const TRIPLE_KEY: usize = 200;

/// The payloads' digests and sizes: two ordinary sizes, the 1 TiB limit, a tiny one. The second
/// is given with a type, the third as not sent.
const DIGESTS: [(&str, u64); 4] = [
    (DIGEST, 245760),
    (
        "blake3:0000000000000000000000000000000000000000000000000000000000000001",
        100000,
    ),
    (
        "blake3:0000000000000000000000000000000000000000000000000000000000000002",
        LIMIT,
    ),
    (
        "blake3:0000000000000000000000000000000000000000000000000000000000000003",
        7,
    ),
];

/// How a layer's tasks name a key they refer to.
#[derive(Clone)]
enum RefMode {
    /// The string key `"s{name}-{index}"`, always the same.
    Str(u64),
    /// `["name", index]` with a space, always the same index: its text is not the template's.
    Spaced(u64),
    /// `["name",own+offset,0]`: not a chunk key.
    Triple(i64),
    /// The task's own index plus an offset, kept to the layer's width.
    Same(i64),
    /// An index of that many digits drawn for each task.
    Random(u32),
    /// Always the same index.
    Fixed(u64),
}

/// An argument of a layer's tasks.
#[derive(Clone)]
enum ArgSpec {
    /// A reference to a key of that name.
    Ref(usize, RefMode),
    /// A payload of `DIGESTS[digest]` with an object id of that many digits, given with another
    /// size `mismatch` times in a hundred.
    Payload {
        digest: usize,
        object_id: Option<u32>,
        mismatch: u64,
    },
}

/// Tasks of one shape, the copies of one template: keys of one name with indices of one width,
/// counting up.
struct Layer {
    name: usize,
    width: u32,
    function: &'static str,
    args: Vec<ArgSpec>,
    deps: Vec<(usize, RefMode)>,
    /// The digits of `output_bytes`, `spec_bytes` and `wire_bytes` when given.
    sizes: [Option<u32>; 3],
    next: u64,
}

fn key_text(name: usize, index: u64) -> String {
    format!(r#"["{}",{index}]"#, NAMES[name])
}

/// The text of a reference to `(name, index)` as `mode` writes it, noted in `referenced`.
fn ref_text(name: usize, index: u64, mode: &RefMode, referenced: &mut Vec<(usize, u64)>) -> String {
    match mode {
        RefMode::Str(value) => {
            referenced.push((STRING_KEY + name, *value));
            format!(r#""s{}-{value}""#, NAMES[name])
        }
        RefMode::Spaced(_) => {
            referenced.push((name, index));
            format!(r#"["{}", {index}]"#, NAMES[name])
        }
        RefMode::Triple(_) => {
            referenced.push((TRIPLE_KEY + name, index));
            format!(r#"["{}",{index},0]"#, NAMES[name])
        }
        _ => {
            referenced.push((name, index));
            key_text(name, index)
        }
    }
}

/// The text of any key noted in `referenced`.
fn any_key_text(name: usize, index: u64) -> String {
    match name {
        TRIPLE_KEY.. => format!(r#"["{}",{index},0]"#, NAMES[name - TRIPLE_KEY]),
        STRING_KEY.. => format!(r#""s{}-{index}""#, NAMES[name - STRING_KEY]),
        _ => key_text(name, index),
    }
}

/// A size of `digits` digits; with 13 digits, often the limit or next to it.
fn size_value(r: &mut Random, digits: u32) -> u64 {
    if digits == 13 {
        match r.below(4) {
            0 => LIMIT,
            1 if r.noise > 0 => LIMIT + 1,
            2 => LIMIT - 1,
            _ if r.noise > 1 => r.width(13),
            _ => 1_000_000_000_000 + r.below(LIMIT - 1_000_000_000_000),
        }
    } else {
        r.width(digits)
    }
}

fn ref_index(r: &mut Random, own: u64, width: u32, mode: &RefMode) -> u64 {
    match *mode {
        RefMode::Same(offset) => {
            let low = if width == 1 { 0 } else { 10i64.pow(width - 1) };
            let high = 10i64.pow(width) - 1;
            (own as i64 + offset).clamp(low, high) as u64
        }
        RefMode::Random(digits) => r.width(digits),
        RefMode::Fixed(value) | RefMode::Str(value) | RefMode::Spaced(value) => value,
        RefMode::Triple(offset) => (own as i64 + offset).max(0) as u64,
    }
}

/// A new layer; when `acyclic`, it refers only to names before its own.
fn new_layer(r: &mut Random, acyclic: bool) -> Layer {
    let name = if acyclic {
        1 + r.below(7) as usize
    } else {
        r.below(8) as usize
    };
    let width = [1, 2, 2, 3, 3, 4, 9, 10][r.below(8) as usize];
    let pick_ref = |r: &mut Random| -> (usize, RefMode) {
        let to = if acyclic {
            r.below(name as u64) as usize
        } else {
            r.below(8) as usize
        };
        let mode = match r.below(8) {
            5 => RefMode::Str(r.below(5)),
            6 => RefMode::Spaced(r.below(50)),
            7 => RefMode::Triple(r.below(3) as i64),
            0 | 1 => RefMode::Same(r.below(5) as i64 - 2),
            2 => RefMode::Random([1, 2, 3, 9, 10][r.below(5) as usize]),
            _ => RefMode::Fixed(r.below(200)),
        };
        (to, mode)
    };
    let mut args = Vec::new();
    for _ in 0..r.below(4) {
        if r.chance(60) {
            let (to, mode) = pick_ref(r);
            args.push(ArgSpec::Ref(to, mode));
        } else {
            args.push(ArgSpec::Payload {
                digest: r.below(4) as usize,
                object_id: r.chance(60).then(|| 1 + r.below(20) as u32),
                mismatch: if r.noise == 0 || r.chance(70) {
                    0
                } else {
                    1 + r.below(30 * r.noise)
                },
            });
        }
    }
    // Sometimes two references to the same key.
    if r.chance(20)
        && let Some(first) = args
            .iter()
            .find(|arg| matches!(arg, ArgSpec::Ref(..)))
            .cloned()
    {
        args.push(first.clone());
    }
    let deps = (0..r.below(3)).map(|_| pick_ref(r)).collect();
    let mut sizes = [None; 3];
    for size in &mut sizes {
        if r.chance(50) {
            *size = Some([1, 3, 4, 13, 13][r.below(5) as usize]);
        }
    }
    Layer {
        name,
        width,
        function: ["f", "g", "h"][r.below(3) as usize],
        args,
        deps,
        sizes,
        next: if width == 1 { 0 } else { 10u64.pow(width - 1) },
    }
}

/// The layer's next task, its key noted in `defined` and the keys it refers to in `referenced`:
/// mostly the next index (now and then one further on), with noise a key defined before or of
/// another width.
fn layer_task(
    r: &mut Random,
    layer: &mut Layer,
    defined: &mut Vec<(usize, u64)>,
    referenced: &mut Vec<(usize, u64)>,
) -> String {
    let own = match r.below(100) {
        0..=1 if r.noise > 0 => defined.last().map_or(layer.next, |&(_, index)| index),
        2..=4 if r.noise > 0 => r.width(layer.width),
        5..=6 if r.noise > 1 => r.width(layer.width + 1),
        _ => {
            let own = layer.next;
            layer.next += 1 + match r.below(100) {
                0..=9 => r.below(100),
                10..=11 => r.below(1_000_000),
                _ => 0,
            };
            own
        }
    };
    defined.push((layer.name, own));
    let mut text = format!(
        r#"{{"key":{},"function":"{}""#,
        key_text(layer.name, own),
        layer.function
    );
    if !layer.args.is_empty() || r.chance(10) {
        let args: Vec<String> = layer
            .args
            .iter()
            .map(|arg| match arg {
                ArgSpec::Ref(to, mode) => {
                    let index = ref_index(r, own, layer.width, mode);
                    format!(r#"{{"ref":{}}}"#, ref_text(*to, index, mode, referenced))
                }
                ArgSpec::Payload {
                    digest,
                    object_id,
                    mismatch,
                } => {
                    let (hash, mut size) = DIGESTS[*digest];
                    if *mismatch > 0 && r.chance(*mismatch) {
                        size = if size == LIMIT && r.chance(50) {
                            LIMIT + 1
                        } else {
                            size + 1
                        };
                    }
                    let object_id = object_id
                        .map(|digits| format!(r#","object_id":{}"#, r.width(digits.min(19))))
                        .unwrap_or_default();
                    let extra = match *digest {
                        1 => r#","type":"T""#,
                        2 => r#","sent":false"#,
                        _ => "",
                    };
                    let payload =
                        format!(r#"{{"size_bytes":{size},"digest":"{hash}"{object_id}{extra}}}"#);
                    format!(r#"{{"payload":{payload}}}"#)
                }
            })
            .collect();
        text.push_str(&format!(r#","args":[{}]"#, args.join(",")));
    }
    if !layer.deps.is_empty() {
        let deps: Vec<String> = layer
            .deps
            .iter()
            .map(|(to, mode)| {
                let index = ref_index(r, own, layer.width, mode);
                ref_text(*to, index, mode, referenced)
            })
            .collect();
        text.push_str(&format!(r#","deps":[{}]"#, deps.join(",")));
    }
    for (field, digits) in ["output_bytes", "spec_bytes", "wire_bytes"]
        .iter()
        .zip(layer.sizes)
    {
        if let Some(digits) = digits {
            text.push_str(&format!(r#","{field}":{}"#, size_value(r, digits)));
        }
    }
    text.push('}');
    text
}

/// The data objects and tasks of the random graph of `seed`: 5 to 304 tasks in layers, mostly
/// acyclic, the keys they refer to mostly defined at the end.
fn random_graph(seed: u64) -> (Vec<String>, Vec<String>) {
    let mut r = Random {
        state: seed.wrapping_mul(0x9E3779B97F4A7C15) | 1,
        noise: 0,
    };
    for _ in 0..4 {
        r.next();
    }
    let acyclic = r.chance(70);
    r.noise = [0, 0, 0, 1, 2][r.below(5) as usize];
    let mut layers: Vec<Layer> = (0..1 + r.below(4))
        .map(|_| new_layer(&mut r, acyclic))
        .collect();
    let (mut defined, mut referenced) = (Vec::new(), Vec::new());
    let mut data = Vec::new();
    if r.chance(30) {
        for _ in 0..1 + r.below(4) {
            let name = r.below(8) as usize;
            let index = [0, 1, 10, 11, 100, 101, 5, 50][r.below(8) as usize];
            if defined.contains(&(name, index)) {
                continue;
            }
            defined.push((name, index));
            let (digest, size) = DIGESTS[r.below(2) as usize];
            data.push(format!(
                r#"{{"key":{},"size_bytes":{size},"digest":"{digest}"}}"#,
                key_text(name, index)
            ));
        }
    }
    let total = 5 + r.below(300);
    let mut tasks = Vec::new();
    let mut current = 0;
    while (tasks.len() as u64) < total {
        if r.chance(8) {
            current = r.below(layers.len() as u64) as usize;
        }
        if r.chance(2) {
            layers.push(new_layer(&mut r, acyclic));
            current = layers.len() - 1;
        }
        tasks.push(layer_task(
            &mut r,
            &mut layers[current],
            &mut defined,
            &mut referenced,
        ));
    }
    if r.chance(75) {
        let mut missing: Vec<(usize, u64)> = referenced
            .into_iter()
            .filter(|key| !defined.contains(key))
            .collect();
        missing.sort();
        missing.dedup();
        for (name, index) in missing {
            tasks.push(format!(
                r#"{{"key":{},"function":"src","output_bytes":8}}"#,
                any_key_text(name, index)
            ));
        }
    }
    (data, tasks)
}

/// Random graphs of layered tasks (copies of a few templates, with references of every kind,
/// payloads, sizes at the 1 TiB limit, duplicate keys, hashed indices, cycles) read by one and
/// two readers: each task built from numbers gives what the full path gives, and the graph or
/// the error is the serde path's and the loader's. The hit path must never be told apart.
#[test]
fn copies_built_from_numbers_give_the_full_paths_graph_and_errors() {
    let seeds = std::env::var(SEEDS_VARIABLE).map_or(RANDOM_SEEDS, |seeds| {
        let seeds: u64 = seeds.parse().expect("GRAPHPROF_HIT_SEEDS is a number");
        seeds.max(RANDOM_SEEDS)
    });
    let (mut from_numbers, mut built, mut refused) = (0, 0, 0);
    for seed in 0..seeds {
        let (data, tasks) = random_graph(seed);
        let serde = serde(&data, &tasks);
        for (readers, block) in [(1, 1), (2, 7), (2, 1)] {
            from_numbers += differential(&data, &tasks, readers, block, &serde);
        }
        readers_agree(&data, &tasks, [64, 300], &format!("seed {seed}"));
        if serde.is_ok() {
            built += 1;
        } else {
            refused += 1;
        }
    }
    // The graphs test something: many tasks built from numbers, graphs built and refused.
    assert!(from_numbers > 10 * seeds, "{from_numbers} from numbers");
    assert!(
        built > seeds / 8 && refused > seeds / 2,
        "{built} built, {refused} refused"
    );
}

fn t(key: &str, rest: &str) -> String {
    format!(r#"{{"key":{key},"function":"f"{rest}}}"#)
}

fn x(index: u64, rest: &str) -> String {
    t(&format!(r#"["x",{index}]"#), rest)
}

fn source(name: &str, index: u64) -> String {
    format!(r#"{{"key":["{name}",{index}],"function":"src"}}"#)
}

/// The cases at the edges, each a name, its data objects and its tasks.
fn edge_cases() -> Vec<(&'static str, Vec<String>, Vec<String>)> {
    let mut cases = Vec::new();
    let mut tasks: Vec<String> = (10..40)
        .map(|i| {
            let rest =
                format!(r#","args":[{{"ref":["y",{i}]}},{{"ref":["y",{i}]}}],"deps":[["y",{i}]]"#);
            x(i, &rest)
        })
        .collect();
    tasks.extend((10..40).map(|i| source("y", i)));
    cases.push(("two references to the same new key", vec![], tasks));
    let tasks = (10..20)
        .map(|i| x(i, &format!(r#","args":[{{"ref":["x",{i}]}}]"#)))
        .collect();
    cases.push(("an argument referring to its own task", vec![], tasks));
    let tasks = (10..20)
        .map(|i| x(i, &format!(r#","deps":[["x",{i}]]"#)))
        .collect();
    cases.push(("a dependency on its own task", vec![], tasks));
    let mut tasks: Vec<String> = (10..40)
        .map(|i| x(i, &format!(r#","deps":[["x",{}]]"#, i + 1)))
        .collect();
    tasks.push(source("x", 40));
    cases.push(("the next key of the same name", vec![], tasks));
    // Nine-digit indices, then three-digit ones past the dense table's bound (hashed).
    let mut tasks: Vec<String> = (100_000_000..100_000_030).map(|i| source("x", i)).collect();
    tasks.extend(
        (100..110)
            .chain([283, 110, 111, 633, 634, 112])
            .map(|i| source("x", i)),
    );
    tasks.push(source("x", 283));
    cases.push(("hashed indices and a duplicate", vec![], tasks));
    let mut tasks: Vec<String> = (100..110).map(|i| source("x", i)).collect();
    tasks.extend([283u64, 284, 632, 633, 110].map(|i| {
        t(
            &format!(r#"["z",{i}]"#),
            &format!(r#","args":[{{"ref":["x",{i}]}}]"#),
        )
    }));
    tasks.extend([283u64, 284, 632, 633].map(|i| source("x", i)));
    cases.push(("references past the dense table's bound", vec![], tasks));
    let payload = |i: u64, size: u64| {
        let payload = format!(r#"{{"size_bytes":{size},"digest":"{DIGEST}","object_id":{i}}}"#);
        x(i, &format!(r#","args":[{{"payload":{payload}}}]"#))
    };
    let tasks = vec![
        payload(10, LIMIT),
        payload(11, LIMIT),
        payload(12, LIMIT + 1),
    ];
    cases.push(("a payload past the limit", vec![], tasks));
    let tasks = vec![
        payload(10, LIMIT),
        payload(11, LIMIT),
        payload(12, LIMIT - 1),
    ];
    cases.push(("a payload given with another size", vec![], tasks));
    let object = |i: u64, object_id: u64| {
        let payload = format!(r#"{{"size_bytes":5,"digest":"{DIGEST}","object_id":{object_id}}}"#);
        x(i, &format!(r#","args":[{{"payload":{payload}}}]"#))
    };
    let tasks = vec![
        object(10, 10_000_000_000_000_000_000),
        object(11, u64::MAX),
        object(12, 12_345_678_901_234_567_890),
    ];
    cases.push(("object ids up to the largest", vec![], tasks));
    let size = |i: u64, field: &str, value: u64| x(i, &format!(r#","{field}":{value}"#));
    for field in ["output_bytes", "spec_bytes", "wire_bytes"] {
        let tasks = vec![
            size(10, field, LIMIT),
            size(11, field, LIMIT),
            size(12, field, LIMIT + 1),
        ];
        cases.push(("a task's size past the limit", vec![], tasks));
    }
    let tasks = vec![
        size(10, "spec_bytes", LIMIT),
        size(11, "spec_bytes", LIMIT),
        size(10, "spec_bytes", LIMIT + 1),
    ];
    cases.push(("a duplicate key with a size past the limit", vec![], tasks));
    let both = |i: u64, size: u64| {
        let payload = format!(r#"{{"size_bytes":{size},"digest":"{DIGEST}"}}"#);
        x(
            i,
            &format!(r#","args":[{{"payload":{payload}}}],"spec_bytes":{size}"#),
        )
    };
    let tasks = vec![both(10, LIMIT), both(11, LIMIT), both(12, LIMIT + 1)];
    cases.push(("a payload and a task's size past the limit", vec![], tasks));
    let mut tasks = vec![x(12, r#","output_bytes":1"#)];
    tasks.extend((10..14).map(|i| source("x", i)));
    cases.push(("a duplicate of a key of another shape", vec![], tasks));
    let data = vec![format!(
        r#"{{"key":["x",12],"size_bytes":5,"digest":"{DIGEST}"}}"#
    )];
    let tasks = (10..14).map(|i| source("x", i)).collect();
    cases.push(("a duplicate of a data object", data.clone(), tasks));
    let tasks = (20..24)
        .map(|i| x(i, r#","args":[{"ref":["x",12]}]"#))
        .collect();
    cases.push(("a reference to a data object", data, tasks));
    let mut tasks = vec![
        r#"{"key":"s","function":"src"}"#.to_string(),
        r#"{"key":["q",1,2],"function":"src"}"#.to_string(),
        source("w", 5),
    ];
    let rest = r#","args":[{"ref":"s"},{"ref":["w", 5]}],"deps":[["q",1,2]]"#;
    tasks.extend((10..20).map(|i| x(i, rest)));
    cases.push(("fixed references of every kind", vec![], tasks));
    // Three templates in turn: each evicts a plan; the last one's function changes.
    let mut tasks = Vec::new();
    for i in 10..60u64 {
        tasks.push(source("a", i));
        tasks.push(t(
            &format!(r#"["b",{i}]"#),
            &format!(r#","args":[{{"ref":["a",{i}]}}]"#),
        ));
        tasks.push(format!(
            r#"{{"key":["c",{i}],"function":"g{}","deps":[["b",{i}]]}}"#,
            i % 3
        ));
    }
    cases.push(("templates in turn", vec![], tasks));
    cases
}

/// Cases at the edges that random graphs reach only rarely (references to the task's own key or
/// twice to one new key, indices past the dense table, sizes and payloads at the 1 TiB limit,
/// object ids up to the largest, duplicates of other shapes and of data objects, plans evicted),
/// read with readers taking blocks of several sizes: built from numbers or not, each gives the
/// full path's, the serde path's and the loader's graph or error.
#[test]
fn copies_at_the_edges_give_the_full_paths_graph_and_errors() {
    let mut from_numbers = 0;
    for (name, data, tasks) in edge_cases() {
        let serde = serde(&data, &tasks);
        for (readers, block) in [(1, 1), (2, 1), (2, 2), (2, 3), (1, 2)] {
            from_numbers += differential(&data, &tasks, readers, block, &serde);
        }
        readers_agree(&data, &tasks, [64, 100], name);
    }
    // The edges are reached with tasks built from numbers (614 of them as written).
    assert!(from_numbers > 300, "{from_numbers} from numbers");
}

/// A task read in full and learnt as a template, then read again (as a reader does after a
/// short read) is its own template's copy: built from its numbers, it gives the full path's graph.
#[test]
fn a_task_read_again_as_its_own_templates_copy_gives_the_full_paths_graph() {
    let first = r#"{"key":["x",10],"function":"f","args":[{"ref":["y",10]}]}"#;
    let second = r#"{"key":["x",11],"function":"f","args":[{"ref":["y",11]}],"deps":[["y",12]]}"#;
    let mut recent = Recent::default();
    let mut parts = TaskParts::default();
    let mut hit = GraphBuilder::new();
    let mut full = GraphBuilder::new();
    task(&mut Cursor::new(first.as_bytes()), &mut parts, &mut recent).expect("reads");
    hit.add_parts(&parts).expect("builds");
    full.add_parts(&parts).expect("builds");
    task(&mut Cursor::new(second.as_bytes()), &mut parts, &mut recent).expect("reads");
    assert!(parts.hit.is_none(), "another shape: read in full");
    task(&mut Cursor::new(second.as_bytes()), &mut parts, &mut recent).expect("reads");
    let plan = parts.hit.clone().expect("its own template's copy");
    let mut plain = TaskParts::default();
    plan.materialize(&parts.numbers, &mut plain);
    assert!(hit.add_hit(&plan, &parts.numbers), "built from numbers");
    full.add_read_parts(&plain).expect("builds");
    for builder in [&mut hit, &mut full] {
        for i in 10..13 {
            let raw: RawTask = serde_json::from_str(&source("y", i)).expect("a task");
            builder.add_task(raw).expect("builds");
        }
    }
    assert_eq!(
        format!("{:?}", hit.finish()),
        format!("{:?}", full.finish())
    );
}
