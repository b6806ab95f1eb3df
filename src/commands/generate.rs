//! `graphprof generate`: writes a generated graph, streaming its tasks to the file. Also turns
//! the generator arguments `analyze` and `sample` share into the generator's options.

use crate::cli::{GenerateArgs, GeneratorArgs};
use anyhow::anyhow;
use graphprof::graph::Strategy;
use graphprof::graph::generate::{GenerateOptions, GeneratorKind, generate};
use graphprof::graph::write::write_graph;
use graphprof::output::{Destination, write_to};

pub fn run(args: GenerateArgs) -> anyhow::Result<i32> {
    let options = generate_options(args.kind, &args.generator, args.strategy, args.with_bytes)?;
    let graph = generate(&options).map_err(|message| anyhow!(message))?;
    let destination = Destination::from_arg(Some(&args.output));
    write_to(&destination, |out| write_graph(graph, out).map(|_| ()))?;
    Ok(graphprof::error::EXIT_OK)
}

/// Generator options from the shared arguments.
pub fn generate_options(
    kind: GeneratorKind,
    args: &GeneratorArgs,
    strategy: Strategy,
    with_bytes: bool,
) -> anyhow::Result<GenerateOptions> {
    let [chunks] = args.chunks.0[..] else {
        anyhow::bail!(
            "--chunks takes one count here; a list ({}) is for `graphprof sample`",
            args.chunks
                .0
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
    };
    Ok(GenerateOptions {
        kind,
        chunks,
        payload_bytes: args.payload_bytes,
        strategy,
        seed: args.seed,
        with_bytes,
        fan_in: args.fan_in,
        chunk_bytes: args.chunk_bytes,
    })
}
