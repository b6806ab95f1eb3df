//! The graphprof binary: parse the command line, run the subcommand, print errors on one line and
//! map them to exit codes (0 ok, 1 a failed check or run, 2 bad input or usage).

mod cli;
mod commands;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use graphprof::error::EXIT_USAGE;

fn main() {
    log::set_logger(&STDERR_LOGGER).expect("the only logger");
    log::set_max_level(if verbose() {
        log::LevelFilter::Info
    } else {
        log::LevelFilter::Warn
    });
    let matches = match cli::Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => usage_error(error),
    };
    if let Some(message) = cli::seed_options_with_a_file(&matches) {
        let name = matches.subcommand_name().unwrap_or_default();
        eprintln!("graphprof: error: {message} (see graphprof {name} --help)");
        std::process::exit(EXIT_USAGE);
    }
    let mut cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => usage_error(error),
    };
    cli::note_given(&matches, &mut cli);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            let message = format!("{error:#}");
            eprintln!("graphprof: error: {}", graphprof::escape::control(&message));
            EXIT_USAGE
        }
    };
    std::process::exit(code);
}

/// `GRAPHPROF_VERBOSE=1` (set, not empty, not 0): the library's informational lines are printed too.
fn verbose() -> bool {
    std::env::var_os(graphprof::dask::embed::VERBOSE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// What the library reports while it runs (`log::warn!`, e.g. a live CSV that stopped growing)
/// reaches the user as `graphprof: warning: ...`, one line, escaped: the library never prints.
struct StderrLogger;

static STDERR_LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                log::Level::Error => "error: ",
                log::Level::Warn => "warning: ",
                _ => "",
            };
            let message = record.args().to_string();
            eprintln!("graphprof: {level}{}", graphprof::escape::control(&message));
        }
    }

    fn flush(&self) {}
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
    let message = one_line(&text);
    let usage = usage_command(&text);
    let suggested: Vec<String> = match error.get(ContextKind::SuggestedSubcommand) {
        Some(ContextValue::String(name)) => vec![name.clone()],
        Some(ContextValue::Strings(names)) => names.clone(),
        _ => Vec::new(),
    };
    let hint = match suggested.as_slice() {
        [name] => format!("did you mean '{name}'?; see {usage} {name} --help"),
        [] => {
            let mut parts = tips(&text);
            parts.push(format!("see {usage} --help"));
            parts.join("; ")
        }
        names => {
            let names: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
            format!("did you mean {}?; see {usage} --help", names.join(" or "))
        }
    };
    let hint = graphprof::escape::control(&hint);
    eprintln!("graphprof: error: {message} ({hint})");
    std::process::exit(EXIT_USAGE);
}

/// The command whose usage clap shows (`graphprof analyze`, `graphprof dask export`), from its
/// `Usage:` line: the words before the first placeholder or option.
fn usage_command(text: &str) -> String {
    let words: Vec<&str> = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '<', '-']))
                .collect()
        })
        .unwrap_or_default();
    if words.first() == Some(&"graphprof") {
        words.join(" ")
    } else {
        "graphprof".to_string()
    }
}

/// clap's tips (`a similar argument exists: '--format'`), escaped, in the order it gives them.
fn tips(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("tip: "))
        .map(|tip| graphprof::escape::control(tip).into_owned())
        .collect()
}

/// clap's message on one line: its first line, and when that ends with `:` (as "the following
/// required arguments were not provided:" does) the indented lines that follow it, joined.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().skip_while(|line| line.trim().is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if message.ends_with(':') {
        let items: Vec<&str> = lines
            .take_while(|line| line.starts_with(' ') && !line.trim().is_empty())
            .map(str::trim)
            .collect();
        if !items.is_empty() {
            message.push(' ');
            message.push_str(&items.join(" "));
        }
    }
    graphprof::escape::control(&message).into_owned()
}
