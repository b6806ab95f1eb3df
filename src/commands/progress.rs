//! The one factory for progress bars: tasks done out of total, per run, on stderr; indicatif hides
//! them when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar for one labelled run of `total` tasks.
pub fn task_bar(label: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} tasks {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
