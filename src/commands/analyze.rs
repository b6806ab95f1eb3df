//! `graphprof analyze`: loads (or generates) a graph, analyses it, writes the report.

use crate::cli::AnalyzeArgs;
use anyhow::anyhow;
use graphprof::analyze::{AnalyzeOptions, analyze, analyze_with, order_free_passes};
use graphprof::graph::generate::{GeneratorKind, generate_graph, kind_name};
use graphprof::graph::load::load_graph_while;
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Strategy, load_graph};
use graphprof::output::{Destination, write_to};
use graphprof::report::analysis::render;

pub fn run(args: AnalyzeArgs) -> anyhow::Result<i32> {
    let options = AnalyzeOptions {
        warning_threshold_bytes: args.warning_threshold,
        workers: args.workers,
        top: args.top as usize,
        ..AnalyzeOptions::default()
    };
    let (graph, analysis) = match (&args.graph, args.strategy) {
        // A graph file analysed as given: the passes that need no order run while the loader
        // builds the DAG and the order.
        (Some(path), None) => {
            let (graph, order_free) =
                load_graph_while(path, |graph| order_free_passes(graph, &options))?;
            let analysis = analyze_with(&graph, order_free, &name(path), &options);
            (graph, analysis)
        }
        (path, strategy) => {
            let (graph, source) = rewritten_or_generated(&args, path.as_deref(), strategy)?;
            let analysis = analyze(&graph, &source, &options);
            (graph, analysis)
        }
    };
    let text = render(&analysis, args.format);
    write_to(&Destination::from_arg(args.output.as_deref()), |out| {
        out.write_all(text.as_bytes())
    })?;
    // The process exits next: giving the graph's memory back to the allocator first would
    // only add time (about 10 ms, 4% of the run, for 1,000,000 tasks: docs/BENCHMARKS.md).
    std::mem::forget(analysis);
    std::mem::forget(graph);
    Ok(graphprof::error::EXIT_OK)
}

/// How the report names the graph file at `path`.
fn name(path: &std::path::Path) -> String {
    match path.to_str() {
        Some("-") => "<stdin>".to_string(),
        _ => path.display().to_string(),
    }
}

/// The graph file at `path` rewritten with `strategy`, or (without a file) the generated one.
fn rewritten_or_generated(
    args: &AnalyzeArgs,
    path: Option<&std::path::Path>,
    strategy: Option<Strategy>,
) -> anyhow::Result<(Graph, String)> {
    match (path, strategy) {
        (Some(path), strategy) => {
            let graph = load_graph(path)?;
            let Some(strategy) = strategy else {
                return Ok((graph, name(path)));
            };
            let graph = rewrite(&graph, strategy)
                .map_err(|error| anyhow!("{}: rewriting it ({strategy}): {error}", name(path)))?;
            Ok((graph, format!("{} rewritten: {strategy}", name(path))))
        }
        (None, strategy) => {
            let options = super::generate::generate_options(
                GeneratorKind::MapBlocks,
                &args.generator,
                strategy.unwrap_or(Strategy::Inline),
                false,
            )?;
            let graph = generate_graph(&options).map_err(|message| anyhow!(message))?;
            let source = format!(
                "generated: {} --chunks {} --payload-bytes {} --strategy {}",
                kind_name(options.kind),
                options.chunks,
                options.payload_bytes,
                options.strategy
            );
            Ok((graph, source))
        }
    }
}
