//! One file per subcommand: typed options in, library calls, reports out. The only place where
//! the stages (graph, analysis, run, samples, report) are wired together.

mod analyze;
mod calibrate;
mod check;
mod completions;
mod dask;
mod diff;
mod generate;
mod man;
mod progress;
mod render;
mod rewrite;
mod sample;
mod sample_builtin;
mod sample_dask;
mod sample_output;
mod sample_plan;
mod sample_sweep;
mod watch;

use crate::cli::{Cli, Command};

/// Runs a subcommand and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    progress::set_quiet(cli.quiet);
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Dask(args) => dask::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Check(args) => check::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Sample(args) => sample::run(*args),
        Command::Rewrite(args) => rewrite::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Render(args) => render::run(args),
    }
}
