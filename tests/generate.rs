//! `graphprof generate`: every kind with every strategy writes a graph that `analyze` accepts,
//! `--seed` makes the output deterministic, and `--with-bytes` describes the same content as the
//! digest-only file.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{analyze_json, generate};

const KINDS: [&str; 4] = ["map-blocks", "tree-reduce", "shuffle", "random-dag"];
const STRATEGIES: [&str; 3] = ["inline", "scatter", "delayed"];

#[test]
fn every_kind_with_every_strategy_writes_a_graph_that_analyze_accepts() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        for strategy in STRATEGIES {
            let name = format!("{kind}-{strategy}.json");
            let path = generate(
                dir.path(),
                &name,
                kind,
                &[
                    "--chunks",
                    "16",
                    "--payload-bytes",
                    "4KiB",
                    "--strategy",
                    strategy,
                ],
            );
            let analysis = analyze_json(&path, &[]);
            assert!(analysis.graph.tasks >= 16, "{name}: {:?}", analysis.graph);
            assert!(analysis.structure.edges > 0, "{name}");
            assert!(analysis.structure.depth >= 2, "{name}");
            let copies: u64 = analysis.duplicates.iter().map(|d| d.copies).sum();
            match strategy {
                // inline embeds the shared object in every task that uses it; random-dag embeds
                // one of a few objects in some tasks
                "inline" if kind == "random-dag" => {
                    assert!(!analysis.duplicates.is_empty(), "{name}");
                    assert!(copies >= 2, "{name}: {:?}", analysis.duplicates);
                }
                "inline" => assert!(copies >= 16, "{name}: {:?}", analysis.duplicates),
                _ => assert!(
                    analysis.duplicates.is_empty(),
                    "{name}: {:?}",
                    analysis.duplicates
                ),
            }
            if strategy == "scatter" {
                assert!(analysis.graph.data_objects >= 1, "{name}");
            }
        }
    }
}

#[test]
fn the_seed_makes_generators_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let args =
            |seed: &'static str| ["--chunks", "32", "--seed", seed, "--payload-bytes", "1KiB"];
        let a = std::fs::read(generate(dir.path(), "a.json", kind, &args("7"))).unwrap();
        let b = std::fs::read(generate(dir.path(), "b.json", kind, &args("7"))).unwrap();
        let c = std::fs::read(generate(dir.path(), "c.json", kind, &args("8"))).unwrap();
        assert!(a == b, "{kind}: the same seed gave different files");
        assert!(a != c, "{kind}: a different seed gave the same file");
    }
}

#[test]
fn with_bytes_gives_the_same_digest_as_without() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--chunks", "8", "--payload-bytes", "3000", "--seed", "3"];
    let digests = generate(dir.path(), "digests.json", "map-blocks", &args);
    let mut with = args.to_vec();
    with.push("--with-bytes");
    let bytes = generate(dir.path(), "bytes.json", "map-blocks", &with);

    let text = std::fs::read_to_string(&bytes).unwrap();
    assert!(
        text.contains("\"bytes_b64\""),
        "--with-bytes wrote no bytes"
    );
    assert!(
        !std::fs::read_to_string(&digests)
            .unwrap()
            .contains("bytes_b64")
    );

    let without = analyze_json(&digests, &[]);
    let with = analyze_json(&bytes, &[]);
    assert_eq!(with.duplicates.len(), 1);
    assert_eq!(with.duplicates[0].digest, without.duplicates[0].digest);
    assert_eq!(with.duplicates[0].size_bytes, 3000);
    assert_eq!(with.sizes, without.sizes);
}
