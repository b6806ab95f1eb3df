//! `graphprof analyze`: loads (or generates) a graph, analyses it, writes the report.

use crate::cli::AnalyzeArgs;
use anyhow::anyhow;
use graphprof::analyze::{AnalyzeOptions, analyze};
use graphprof::graph::generate::{GeneratorKind, generate_graph, kind_name};
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Strategy, load_graph};
use graphprof::output::{Destination, write_to};
use graphprof::report::analysis::render;

pub fn run(args: AnalyzeArgs) -> anyhow::Result<i32> {
    let (graph, source) = load_or_generate(&args)?;
    let options = AnalyzeOptions {
        warning_threshold_bytes: args.warning_threshold,
        workers: args.workers,
        top: args.top as usize,
        ..AnalyzeOptions::default()
    };
    let analysis = analyze(&graph, &source, &options);
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

fn load_or_generate(args: &AnalyzeArgs) -> anyhow::Result<(Graph, String)> {
    let name = |path: &std::path::Path| match path.to_str() {
        Some("-") => "<stdin>".to_string(),
        _ => path.display().to_string(),
    };
    match (&args.graph, args.strategy) {
        (Some(path), None) => Ok((load_graph(path)?, name(path))),
        (Some(path), Some(strategy)) => {
            let graph = rewrite(&load_graph(path)?, strategy)
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
