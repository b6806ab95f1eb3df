//! `graphprof rewrite`: writes a graph file rewritten for a strategy.

use crate::cli::RewriteArgs;
use graphprof::graph::load_graph;
use graphprof::graph::rewrite::rewrite_raw;
use graphprof::graph::write::write_graph;
use graphprof::output::{Destination, write_to};

pub fn run(args: RewriteArgs) -> anyhow::Result<i32> {
    let graph = load_graph(&args.graph)?;
    let rewritten = rewrite_raw(&graph, args.strategy);
    write_to(&Destination::from_arg(Some(&args.output)), |out| {
        write_graph(rewritten, out).map(|_| ())
    })?;
    Ok(graphprof::error::EXIT_OK)
}
