//! The engine against the held-memory model: exact managed bytes per strategy, linear growth of
//! inline, flat scatter and delayed, zero after release, faults, the memory limit, cancellation.

use super::*;
use crate::analyze::predict::held_bytes;
use crate::analyze::{AnalyzeOptions, analyze, sizes};
use crate::graph::generate::{GenerateOptions, GeneratorKind, generate_graph, task};
use crate::graph::held::TASK_OVERHEAD_BYTES;
use crate::graph::key::Key;
use crate::graph::raw::{Header, RawArg, RawPayload, RawTask};
use crate::graph::{RawGraph, Strategy, build_raw, rewrite::rewrite};
use std::time::Duration;

const PAYLOAD: u64 = 64 * 1024;
const RESULT: u64 = 8000;
const SPEC: u64 = 64;
const OVERHEAD: u64 = TASK_OVERHEAD_BYTES;

/// What `analyze` predicts is held (the workers' per-task bookkeeping included).
fn model(graph: &Graph, workers: u32) -> u64 {
    held_bytes(graph, workers)
}

fn options(workers: u32) -> EngineOptions {
    EngineOptions {
        workers,
        hold: Duration::ZERO,
        memory_limit_bytes: None,
        task_overhead_bytes: OVERHEAD,
    }
}

fn seed_graph(kind: GeneratorKind, strategy: Strategy, chunks: u64) -> Graph {
    generate_graph(&GenerateOptions {
        kind,
        chunks,
        payload_bytes: PAYLOAD,
        strategy,
        ..GenerateOptions::default()
    })
    .unwrap()
}

fn run(graph: &Graph, options: &EngineOptions) -> RunOutcome {
    let outcome = run_graph(graph, options, &mut |_| {}).unwrap();
    assert_eq!(outcome.after_release_managed_bytes, 0, "{outcome:?}");
    outcome
}

fn run_complete(graph: &Graph, workers: u32) -> RunOutcome {
    let outcome = run(graph, &options(workers));
    assert!(outcome.complete, "{:?}", outcome.error);
    assert_eq!(outcome.tasks_done, graph.task_count() as u64);
    outcome
}

#[test]
fn held_managed_equals_the_model_for_every_strategy() {
    for strategy in Strategy::ALL {
        for chunks in [64, 128, 256] {
            let graph = seed_graph(GeneratorKind::MapBlocks, strategy, chunks);
            let outcome = run_complete(&graph, 2);
            assert_eq!(
                outcome.held_managed_bytes,
                model(&graph, 2),
                "{strategy} at {chunks} chunks"
            );
            assert_eq!(
                outcome.held_managed_per_worker.iter().sum::<u64>(),
                outcome.held_managed_bytes,
                "while held, only workers hold bytes"
            );
            assert!(outcome.peak_managed_bytes >= outcome.held_managed_bytes);
        }
    }
}

#[test]
fn inline_grows_by_a_payload_per_chunk_and_the_others_stay_flat() {
    let held = |strategy, chunks| {
        let graph = seed_graph(GeneratorKind::MapBlocks, strategy, chunks);
        run_complete(&graph, 2).held_managed_bytes
    };
    let (small, large) = (held(Strategy::Inline, 64), held(Strategy::Inline, 256));
    let slope = (large - small) as f64 / 192.0;
    // Per chunk: the held task's payload copy, result, run_spec and bookkeeping, and the run_spec
    // of its source task, a released ancestor its worker keeps.
    assert_eq!(slope as u64, PAYLOAD + RESULT + 2 * SPEC + OVERHEAD);
    for chunks in [64, 128, 256] {
        let results_and_specs = chunks * (RESULT + 2 * SPEC + OVERHEAD);
        let scatter = held(Strategy::Scatter, chunks);
        assert!(scatter <= 2 * PAYLOAD + results_and_specs, "{scatter}");
        let delayed = held(Strategy::Delayed, chunks);
        // The builder's run_spec stays with the tasks that used it (not its result).
        assert_eq!(delayed, results_and_specs + SPEC);
    }
}

#[test]
fn measured_held_equals_analyze_predictions_for_rewrites() {
    let inline = seed_graph(GeneratorKind::MapBlocks, Strategy::Inline, 128);
    let analysis = analyze(
        &inline,
        "test",
        &AnalyzeOptions {
            workers: 3,
            ..AnalyzeOptions::default()
        },
    );
    for row in &analysis.strategies {
        let graph = match row.strategy.as_str() {
            "scatter" => rewrite(&inline, Strategy::Scatter).unwrap(),
            "delayed" => rewrite(&inline, Strategy::Delayed).unwrap(),
            _ => inline.clone(),
        };
        let outcome = run_complete(&graph, 3);
        assert_eq!(
            outcome.held_managed_bytes, row.held_bytes,
            "{}",
            row.strategy
        );
    }
}

#[test]
fn held_managed_bytes_include_the_bookkeeping_of_every_chunk() {
    for strategy in [Strategy::Scatter, Strategy::Delayed] {
        for chunks in [64, 200] {
            let graph = seed_graph(GeneratorKind::MapBlocks, strategy, chunks);
            let without = run_complete_with(&graph, 0);
            let with = run_complete_with(&graph, OVERHEAD);
            assert_eq!(
                with.held_managed_bytes - without.held_managed_bytes,
                chunks * OVERHEAD,
                "{strategy} at {chunks} chunks"
            );
            // The bookkeeping lives with the results, on the workers, and goes with them.
            assert_eq!(
                with.held_managed_per_worker.iter().sum::<u64>(),
                with.held_managed_bytes
            );
            assert_eq!(with.after_release_managed_bytes, 0);
        }
    }
    // An override is held as given: 1,000 chunks x 100 B.
    let graph = seed_graph(GeneratorKind::MapBlocks, Strategy::Scatter, 1000);
    let (small, large) = (run_complete_with(&graph, 0), run_complete_with(&graph, 100));
    assert_eq!(large.held_managed_bytes - small.held_managed_bytes, 100_000);
}

fn run_complete_with(graph: &Graph, task_overhead_bytes: u64) -> RunOutcome {
    let outcome = run(
        graph,
        &EngineOptions {
            task_overhead_bytes,
            ..options(2)
        },
    );
    assert!(outcome.complete, "{:?}", outcome.error);
    outcome
}

#[test]
fn wire_bytes_are_the_model_plus_framing() {
    for strategy in Strategy::ALL {
        let graph = seed_graph(GeneratorKind::MapBlocks, strategy, 64);
        let outcome = run_complete(&graph, 2);
        let modelled = sizes::totals(&graph).wire_bytes;
        assert!(outcome.wire_bytes >= modelled, "{strategy}");
        assert!(outcome.wire_bytes - modelled < 200, "{strategy}");
    }
    // The shared object travels once: inline's message is scatter's plus one payload.
    let inline = run_complete(
        &seed_graph(GeneratorKind::MapBlocks, Strategy::Inline, 64),
        2,
    );
    let scatter = run_complete(
        &seed_graph(GeneratorKind::MapBlocks, Strategy::Scatter, 64),
        2,
    );
    let extra = inline.wire_bytes - scatter.wire_bytes;
    assert!((PAYLOAD..PAYLOAD + 100).contains(&extra), "{extra}");
}

#[test]
fn other_generators_run_and_match_the_model() {
    for kind in [GeneratorKind::TreeReduce, GeneratorKind::RandomDag] {
        for strategy in Strategy::ALL {
            let graph = seed_graph(kind, strategy, 100);
            let outcome = run_complete(&graph, 3);
            assert_eq!(
                outcome.held_managed_bytes,
                model(&graph, 3),
                "{kind:?} {strategy}"
            );
        }
    }
    // Shuffle tasks have 16 arguments: their records outgrow the 64-byte spec (documented).
    let graph = seed_graph(GeneratorKind::Shuffle, Strategy::Inline, 16);
    let outcome = run_complete(&graph, 2);
    let record_excess = 16 * (24 + 4 * 16 - SPEC);
    assert_eq!(outcome.held_managed_bytes, model(&graph, 2) + record_excess);
}

/// In a graph of Dask's own tasks (exported from a collection), a released ancestor kept with a
/// held task keeps its bookkeeping too; the engine keeps it, as the model counts it.
#[test]
fn kept_ancestors_keep_their_bookkeeping_in_an_exported_graph() {
    use crate::graph::held::{Kept, has_own_result, retention};
    let generated = seed_graph(GeneratorKind::TreeReduce, Strategy::Inline, 64);
    let mut exported = generated.clone();
    exported.meta.insert(
        "generator".to_string(),
        serde_json::Value::from("graphprof.export"),
    );
    let kept = retention(&exported, 2);
    let kept_tasks = exported
        .node_ids()
        .filter(|&id| kept.kept[id as usize] == Kept::RunSpec && has_own_result(&exported, id))
        .count() as u64;
    assert!(kept_tasks > 0, "a tree keeps some of its ancestors");
    assert_eq!(
        model(&exported, 2) - model(&generated, 2),
        kept_tasks * OVERHEAD
    );
    for graph in [&generated, &exported] {
        assert_eq!(run_complete(graph, 2).held_managed_bytes, model(graph, 2));
    }
}

#[test]
fn real_bytes_from_the_file_are_used() {
    let graph = generate_graph(&GenerateOptions {
        chunks: 8,
        payload_bytes: 4096,
        with_bytes: true,
        ..GenerateOptions::default()
    })
    .unwrap();
    let outcome = run_complete(&graph, 1);
    assert_eq!(outcome.held_managed_bytes, model(&graph, 1));
}

#[test]
fn events_mark_the_phases_in_order() {
    let graph = seed_graph(GeneratorKind::MapBlocks, Strategy::Delayed, 32);
    let mut phases = Vec::new();
    let mut last_done = (0, 0);
    let mut engine = Engine::new(EngineOptions {
        hold: Duration::from_millis(30),
        ..options(2)
    })
    .unwrap();
    let gauges = engine.gauges();
    let outcome = engine.run(&graph, &mut |event| match event {
        EngineEvent::Phase(name) => phases.push(name),
        EngineEvent::TaskDone { done, total } => last_done = (done, total),
    });
    assert_eq!(phases, PHASES);
    assert_eq!(last_done, (65, 65));
    assert!(outcome.phases.held >= Duration::from_millis(30));
    assert_eq!(
        gauges.tasks_done.load(std::sync::atomic::Ordering::Relaxed),
        65
    );
    assert_eq!(
        gauges
            .managed_total
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // The same engine runs again, from zero.
    let again = engine.run(&graph, &mut |_| {});
    assert_eq!(again.held_managed_bytes, outcome.held_managed_bytes);
}

/// The graph of `tasks`, built as a file's would be.
fn graph_of(tasks: Vec<RawTask>) -> Graph {
    build_raw(RawGraph {
        header: Header::default(),
        data: Vec::new(),
        tasks: Box::new(tasks.into_iter()),
    })
    .unwrap()
}

fn faulty_graph(function: &str) -> Graph {
    let payload = RawArg::Payload(RawPayload {
        size_bytes: Some(1000),
        digest: Some(format!("blake3:{}", "ab".repeat(32))),
        ..RawPayload::default()
    });
    graph_of(vec![
        task(Key::chunk("load-1", 0), "load", vec![payload], 100),
        task(
            Key::chunk("bad-2", 0),
            function,
            vec![RawArg::Ref(Key::chunk("load-1", 0))],
            100,
        ),
        task(
            Key::chunk("after-3", 0),
            "sum",
            vec![RawArg::Ref(Key::chunk("bad-2", 0))],
            100,
        ),
    ])
}

#[test]
fn a_failing_or_panicking_task_stops_the_run_naming_its_key() {
    for (function, verb) in [("fail", "failed"), ("panic", "panicked")] {
        let outcome = run(&faulty_graph(function), &options(2));
        assert!(!outcome.complete);
        let error = outcome.error.unwrap();
        assert!(error.contains("('bad-2', 0)"), "{error}");
        assert!(error.contains(verb), "{error}");
        assert_eq!(outcome.tasks_done, 1);
    }
}

#[test]
fn a_task_with_more_arguments_than_the_framing_takes_is_refused_by_name() {
    for (args, refused) in [(65_535, false), (65_536, true)] {
        let gathered = RawArg::Ref(Key::chunk("load-1", 0));
        let graph = graph_of(vec![
            task(Key::chunk("load-1", 0), "f", Vec::new(), 100),
            task(Key::chunk("gather-2", 0), "f", vec![gathered; args], 100),
        ]);
        let outcome = run_graph(&graph, &options(1), &mut |_| {}).unwrap();
        assert_eq!(outcome.complete, !refused, "{args}: {:?}", outcome.error);
        if refused {
            let error = outcome.error.unwrap();
            assert!(
                error.contains("task ('gather-2', 0): too many arguments (65,536; the built-in engine takes at most 65,535)"),
                "{error}"
            );
        }
    }
}

#[test]
fn more_distinct_functions_than_the_framing_names_are_refused_once_for_the_graph() {
    let ledger = ledger::Ledger::new(1, None);
    for (functions, refused) in [(65_536, false), (65_537, true)] {
        let graph = graph_of(
            (0..functions)
                .map(|i| task(Key::chunk("x", i), &format!("f{i}"), Vec::new(), 8))
                .collect(),
        );
        assert_eq!(graph.functions.len(), functions as usize);
        let sent = wire::serialize_graph(&graph, &ledger::Account::engine(&ledger));
        match sent {
            Ok(_) => assert!(!refused, "{functions} functions sent"),
            Err(error) => {
                assert!(refused, "{functions} functions: {error:?}");
                assert_eq!(
                    error,
                    wire::WireError::Format(
                        "too many distinct functions (65,537; the built-in engine takes at most \
                         65,536)"
                            .to_string()
                    )
                );
            }
        }
    }
}

#[test]
fn the_memory_limit_stops_the_run_before_it_is_exceeded() {
    let graph = seed_graph(GeneratorKind::MapBlocks, Strategy::Inline, 256);
    let limit = 8 << 20;
    let outcome = run(
        &graph,
        &EngineOptions {
            memory_limit_bytes: Some(limit),
            ..options(2)
        },
    );
    assert!(!outcome.complete);
    assert!(outcome.error.unwrap().contains("memory limit"));
    assert!(outcome.peak_managed_bytes <= limit);
    assert!(outcome.tasks_done < 512);
    // The same graph scattered fits.
    let scatter = seed_graph(GeneratorKind::MapBlocks, Strategy::Scatter, 256);
    let outcome = run(
        &scatter,
        &EngineOptions {
            memory_limit_bytes: Some(limit),
            ..options(2)
        },
    );
    assert!(outcome.complete, "{:?}", outcome.error);
}

#[test]
fn cancellation_stops_the_run_cleanly() {
    let graph = seed_graph(GeneratorKind::MapBlocks, Strategy::Inline, 64);
    let mut engine = Engine::new(options(2)).unwrap();
    let cancel = engine.cancel_flag();
    let outcome = engine.run(&graph, &mut |event| {
        if let EngineEvent::TaskDone { done: 10, .. } = event {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(!outcome.complete);
    assert_eq!(outcome.error.as_deref(), Some("cancelled"));
    assert_eq!(outcome.after_release_managed_bytes, 0);
}

#[test]
fn worker_counts_are_checked() {
    assert!(Engine::new(options(0)).is_err());
    assert!(Engine::new(options(257)).is_err());
    assert!(Engine::new(options(256)).is_ok());
}
