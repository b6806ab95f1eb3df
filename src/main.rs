//! The graphprof binary: parse the command line, run the subcommand, print errors on one line and
//! map them to exit codes (0 ok, 1 a failed check or run, 2 bad input or usage).

mod cli;
mod commands;

use clap::Parser;
use clap::error::ErrorKind;
use graphprof::error::EXIT_USAGE;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => usage_error(error),
    };
    let code = match commands::run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("graphprof: error: {error:#}");
            EXIT_USAGE
        }
    };
    std::process::exit(code);
}

/// Help and version print as clap prints them; a usage error becomes one line and exit code 2.
fn usage_error(error: clap::Error) -> ! {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let text = error.render().to_string();
    let first = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("invalid arguments");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("graphprof: error: {message} (see graphprof --help)");
    std::process::exit(EXIT_USAGE);
}
