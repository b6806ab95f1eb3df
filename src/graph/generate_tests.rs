//! Tests of `generate.rs`, kept beside it (it includes this file as its `tests` module).

use super::*;

fn options(kind: GeneratorKind, strategy: Strategy) -> GenerateOptions {
    GenerateOptions {
        kind,
        chunks: 16,
        payload_bytes: 1000,
        strategy,
        ..GenerateOptions::default()
    }
}

#[test]
fn map_blocks_strategies_have_the_expected_shape() {
    let inline = generate_graph(&options(GeneratorKind::MapBlocks, Strategy::Inline)).unwrap();
    assert_eq!(inline.task_count(), 32);
    assert_eq!(inline.contents.len(), 1);
    let scatter = generate_graph(&options(GeneratorKind::MapBlocks, Strategy::Scatter)).unwrap();
    assert_eq!(scatter.task_count(), 32);
    assert_eq!(scatter.node_count(), 33);
    let delayed = generate_graph(&options(GeneratorKind::MapBlocks, Strategy::Delayed)).unwrap();
    assert_eq!(delayed.task_count(), 33);
    assert_eq!(delayed.contents.len(), 0);
}

#[test]
fn generators_are_deterministic_and_seed_sensitive() {
    let render = |seed| {
        let mut opts = options(GeneratorKind::RandomDag, Strategy::Inline);
        opts.seed = seed;
        let mut out = Vec::new();
        super::super::write::write_graph(generate(&opts).unwrap(), &mut out).unwrap();
        out
    };
    assert_eq!(render(1), render(1));
    assert_ne!(render(1), render(2));
}

#[test]
fn every_generator_builds_a_valid_graph() {
    for kind in [
        GeneratorKind::MapBlocks,
        GeneratorKind::TreeReduce,
        GeneratorKind::Shuffle,
        GeneratorKind::RandomDag,
    ] {
        for strategy in Strategy::ALL {
            let graph = generate_graph(&options(kind, strategy)).unwrap();
            assert!(graph.task_count() >= 16, "{kind:?} {strategy:?}");
        }
    }
    let tree = generate_graph(&options(GeneratorKind::TreeReduce, Strategy::Inline)).unwrap();
    // 16 sources + 16 mapped + 2 partial sums + 1 final sum
    assert_eq!(tree.task_count(), 35);
}

#[test]
fn streamed_digest_and_bytes_agree() {
    for len in [0, 1, 7, 8, 9, 65_535, 65_536, 65_537, 200_003] {
        let bytes = payload_bytes(42, len);
        assert_eq!(bytes.len(), len);
        assert_eq!(
            payload_digest(42, len as u64),
            blake3::hash(&bytes),
            "{len}"
        );
    }
}

#[test]
fn with_bytes_keeps_the_same_digest() {
    let mut opts = options(GeneratorKind::MapBlocks, Strategy::Inline);
    let plain = generate_graph(&opts).unwrap();
    opts.with_bytes = true;
    let with_bytes = generate_graph(&opts).unwrap();
    assert_eq!(plain.contents[0].digest, with_bytes.contents[0].digest);
    assert_eq!(
        with_bytes.contents[0].bytes.as_ref().map(|b| b.len()),
        Some(1000)
    );
}
