//! The graphprof binary: parse the command line, run the subcommand, print errors on one line and
//! map them to exit codes (0 ok, 1 a failed check, 2 bad input or usage).

mod cli;
mod commands;

use clap::Parser;
use graphprof::error::EXIT_USAGE;

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("graphprof: error: {error:#}");
            EXIT_USAGE
        }
    };
    std::process::exit(code);
}
