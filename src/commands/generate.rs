//! `graphprof generate`: writes a generated graph, streaming its tasks to the file.

use crate::cli::GenerateArgs;
use anyhow::anyhow;
use graphprof::graph::generate::generate;
use graphprof::graph::write::write_graph;
use graphprof::output::{Destination, write_to};

pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let options =
        super::generate_options(args.kind, &args.generator, args.strategy, args.with_bytes)?;
    let graph = generate(&options).map_err(|message| anyhow!(message))?;
    let destination = Destination::from_arg(Some(&args.output));
    write_to(&destination, |out| write_graph(graph, out).map(|_| ()))?;
    Ok(graphprof::error::EXIT_OK)
}
