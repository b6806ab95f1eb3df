//! The fast loader and the serde loader must agree on every input: the same graph, or the same
//! error. A differential test: every valid fixture, mutated thousands of ways (bytes deleted,
//! inserted, replaced, the file truncated, a span repeated), is loaded by `load_graph` (fast path,
//! falling back to serde) and by `read_graph` (serde only).

use graphprof::analyze::{AnalyzeOptions, analyze};
use graphprof::graph::generate::SplitMix64;
use graphprof::graph::load::{load_graph, read_graph};
use std::path::{Path, PathBuf};

const MUTATIONS_PER_FIXTURE: u64 = 250;
const INSERTED: &[u8] = b",{}[]\":0123456789-.eE\\ \nanulltrue";

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for dir in [
        root.clone(),
        root.join("analyze"),
        root.join("check/graphs"),
        root.join("bad"),
    ] {
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn mutate(bytes: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return out;
    }
    let at = rng.below(out.len() as u64) as usize;
    match rng.below(5) {
        0 => {
            out.remove(at);
        }
        1 => out.insert(at, INSERTED[rng.below(INSERTED.len() as u64) as usize]),
        2 => out[at] = INSERTED[rng.below(INSERTED.len() as u64) as usize],
        3 => out.truncate(at),
        _ => {
            let len = (rng.below(40) as usize).min(out.len() - at);
            let span: Vec<u8> = out[at..at + len].to_vec();
            out.splice(at..at, span);
        }
    }
    out
}

fn outcome(result: Result<graphprof::graph::Graph, graphprof::error::InputError>) -> String {
    match result {
        Ok(graph) => {
            let analysis = analyze(&graph, "x", &AnalyzeOptions::default());
            format!("ok {}", serde_json::to_string(&analysis).expect("json"))
        }
        Err(error) => format!("error {error}"),
    }
}

#[test]
fn fast_and_serde_loaders_agree_on_mutated_fixtures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.json");
    let mut rng = SplitMix64::new(2026);
    let mut checked = 0;
    let mut accepted = 0;
    for fixture in fixtures() {
        let original = std::fs::read(&fixture).expect("fixture");
        // Keep large fixtures fast: mutate within the first 64 KiB.
        let original = &original[..original.len().min(64 * 1024)];
        for round in 0..MUTATIONS_PER_FIXTURE {
            let bytes = if round == 0 {
                original.to_vec()
            } else {
                mutate(original, &mut rng)
            };
            std::fs::write(&path, &bytes).expect("write");
            let fast = outcome(load_graph(&path));
            let serde = outcome(read_graph(
                &path,
                std::io::BufReader::new(std::fs::File::open(&path).expect("open")),
            ));
            assert_eq!(
                fast,
                serde,
                "{} mutation {round} disagrees; input: {}",
                fixture.display(),
                String::from_utf8_lossy(&bytes)
            );
            checked += 1;
            accepted += usize::from(fast.starts_with("ok"));
        }
    }
    assert!(checked > 10_000, "{checked}");
    assert!(accepted > 100, "too few mutations load at all: {accepted}");
}

/// A graph of several thousand tasks, so mutations land in every batch the fast path hands from
/// its reading thread to its building thread (and at their boundaries).
#[test]
fn fast_and_serde_loaders_agree_across_batches() {
    use graphprof::graph::generate::{GenerateOptions, GeneratorKind, generate};
    use graphprof::graph::write::write_graph;
    let options = GenerateOptions {
        kind: GeneratorKind::RandomDag,
        chunks: 6000,
        payload_bytes: 4096,
        ..GenerateOptions::default()
    };
    let mut original = Vec::new();
    write_graph(generate(&options).expect("generates"), &mut original).expect("writes");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.json");
    let mut rng = SplitMix64::new(7);
    for round in 0..100u64 {
        let bytes = if round == 0 {
            original.clone()
        } else {
            mutate(&original, &mut rng)
        };
        std::fs::write(&path, &bytes).expect("write");
        let fast = outcome(load_graph(&path));
        let serde = outcome(read_graph(
            &path,
            std::io::BufReader::new(std::fs::File::open(&path).expect("open")),
        ));
        assert_eq!(fast, serde, "mutation {round} disagrees");
        if round == 0 {
            assert!(fast.starts_with("ok"), "{fast}");
        }
    }
}

/// The fast path alone, with read buffers so small that tasks are cut everywhere and read again
/// whole: on a generated map-blocks graph, written compact and with spaces, and its mutations, it
/// must decline or give exactly the graph the serde path gives.
#[test]
fn fast_path_with_small_buffers_agrees_with_serde() {
    use graphprof::graph::generate::{GenerateOptions, GeneratorKind, generate};
    use graphprof::graph::load::read_fast_bytes;
    use graphprof::graph::write::write_graph;
    let options = GenerateOptions {
        kind: GeneratorKind::MapBlocks,
        chunks: 40,
        ..GenerateOptions::default()
    };
    let mut compact = Vec::new();
    write_graph(generate(&options).expect("generates"), &mut compact).expect("writes");
    let value: serde_json::Value = serde_json::from_slice(&compact).expect("JSON");
    let spaced = serde_json::to_vec_pretty(&value).expect("JSON");
    let mut rng = SplitMix64::new(23);
    let mut taken = 0;
    for original in [compact, spaced] {
        for round in 0..300u64 {
            let bytes = if round == 0 {
                original.clone()
            } else {
                mutate(&original, &mut rng)
            };
            let serde = read_graph(Path::new("g.json"), bytes.as_slice()).map(|g| format!("{g:?}"));
            for capacity in [64, 97, 256, 1000, bytes.len() + 1] {
                let Some(fast) = read_fast_bytes(&bytes, capacity) else {
                    assert!(round > 0, "the unmutated graph takes the fast path");
                    continue;
                };
                taken += 1;
                assert_eq!(
                    Ok(format!("{fast:?}")),
                    serde.as_ref().map_err(ToString::to_string).cloned(),
                    "round {round}, buffer {capacity}"
                );
            }
        }
    }
    assert!(taken > 300, "too few inputs take the fast path: {taken}");
}
