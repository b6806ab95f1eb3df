//! `graphprof completions SHELL`: the shell completion script, generated from the clap
//! definitions so it always knows every subcommand and option.

use crate::cli::{Cli, CompletionsArgs};
use clap::CommandFactory;
use graphprof::output::{Destination, write_to};

pub fn run(args: CompletionsArgs) -> anyhow::Result<i32> {
    let mut command = Cli::command();
    write_to(&Destination::Stdout, |out| {
        clap_complete::generate(args.shell, &mut command, "graphprof", out);
        Ok(())
    })?;
    Ok(graphprof::error::EXIT_OK)
}
