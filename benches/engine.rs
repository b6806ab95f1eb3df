//! Engine benchmarks (prints figures; `cargo bench --bench engine`): the engine's overhead per
//! task on 100,000 small tasks with 2 workers (target <= 20 us), and the seed comparison of the
//! three strategies (map-blocks, 240 KiB payload, 2048 chunks, 2 workers; target well under 10 s).

use graphprof::analyze::predict::held_bytes;
use graphprof::engine::{EngineEvent, EngineOptions, RunOutcome, run_graph};
use graphprof::graph::generate::{GenerateOptions, GeneratorKind, generate_graph};
use graphprof::graph::{Graph, Strategy};
use graphprof::units::Bytes;
use std::time::{Duration, Instant};

/// Resident set size of this process, from /proc (0 where there is none).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Runs the graph; returns the outcome and the process RSS while the results were held.
fn run(graph: &Graph, workers: u32) -> (RunOutcome, u64) {
    let options = EngineOptions {
        workers,
        hold: Duration::ZERO,
        memory_limit_bytes: None,
        ..EngineOptions::default()
    };
    let mut held_rss = 0;
    let outcome = run_graph(graph, &options, &mut |event| {
        if event == EngineEvent::Phase("held") {
            held_rss = rss_bytes();
        }
    })
    .expect("2 workers is a valid option");
    assert!(outcome.complete, "{:?}", outcome.error);
    (outcome, held_rss)
}

fn small_tasks() {
    let graph = generate_graph(&GenerateOptions {
        kind: GeneratorKind::MapBlocks,
        chunks: 50_000,
        payload_bytes: 0,
        chunk_bytes: 8,
        ..GenerateOptions::default()
    })
    .expect("valid generator options");
    let tasks = graph.task_count() as f64;
    let mut per_task: Vec<(f64, f64)> = (0..5)
        .map(|_| {
            let (outcome, _) = run(&graph, 2);
            let compute = outcome.phases.compute.as_secs_f64() * 1e6 / tasks;
            let wall = outcome.wall_time.as_secs_f64() * 1e6 / tasks;
            (compute, wall)
        })
        .collect();
    per_task.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (compute, wall) = per_task[per_task.len() / 2];
    println!(
        "small tasks: {} tasks, 2 workers: {wall:.2} us/task wall (submit to release), {compute:.2} us/task in compute (median of 5; target <= 20 us)",
        tasks
    );
}

fn seed_comparison() {
    let chunks = 2048;
    let payload = 240 * 1024;
    let started = Instant::now();
    println!(
        "seed comparison: map-blocks, {chunks} chunks, {} payload, 2 workers",
        Bytes(payload)
    );
    println!(
        "{:<8} {:>10} {:>12} {:>12} {:>12} {:>10} {:>12} {:>12} {:>9}",
        "strategy",
        "wire",
        "held",
        "predicted",
        "peak",
        "released",
        "RSS held",
        "RSS after",
        "wall"
    );
    for strategy in Strategy::ALL {
        let graph = generate_graph(&GenerateOptions {
            kind: GeneratorKind::MapBlocks,
            chunks,
            payload_bytes: payload,
            strategy,
            ..GenerateOptions::default()
        })
        .expect("valid generator options");
        let (outcome, held_rss) = run(&graph, 2);
        println!(
            "{:<8} {:>10} {:>12} {:>12} {:>12} {:>10} {:>12} {:>12} {:>8.3}s",
            strategy.name(),
            Bytes(outcome.wire_bytes).to_string(),
            Bytes(outcome.held_managed_bytes).to_string(),
            Bytes(held_bytes(&graph, 2)).to_string(),
            Bytes(outcome.peak_managed_bytes).to_string(),
            Bytes(outcome.after_release_managed_bytes).to_string(),
            Bytes(held_rss).to_string(),
            Bytes(rss_bytes()).to_string(),
            outcome.wall_time.as_secs_f64()
        );
    }
    println!(
        "three strategies: {:.2} s including graph generation (target well under 10 s)",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too, so keep it quick there.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    small_tasks();
    seed_comparison();
}
