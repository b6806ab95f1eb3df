//! The one factory for progress bars: tasks done out of total, per run, on stderr; indicatif hides
//! them when stderr is not a terminal, and `--quiet` hides them, the tables and the notes.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the whole run (once, before the subcommand starts).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given: no bars, no tables on stdout, no notes on stderr.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints an informational note on stderr (`graphprof: NOTE`) unless `--quiet`; its text is
/// escaped as every message is.
pub fn note(text: &str) {
    if !quiet() {
        eprintln!("graphprof: {}", graphprof::escape::control(text));
    }
}

/// A bar for one labelled run of `total` tasks; hidden with `--quiet`.
pub fn task_bar(label: &str, total: u64) -> ProgressBar {
    if quiet() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} tasks {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
