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

/// Progress of a real-Dask run as plain lines on stderr (`--progress-lines`), for a caller that
/// is not a terminal: the driver starting, the workers, each run's start, its compute and held
/// phases, a quarter of its tasks when a second has passed since the last line, and its end,
/// every line with the seconds since the command started. A few lines per run, never one per task.
pub struct ProgressLines {
    start: std::time::Instant,
    /// Per label, the last quarter of its tasks printed (1 to 4).
    quarters: std::collections::HashMap<String, u64>,
    /// When the last line was printed.
    last_line: std::time::Instant,
    runs: usize,
}

impl ProgressLines {
    /// Lines for `runs` labelled runs, timed from now.
    pub fn new(runs: usize) -> Self {
        ProgressLines {
            start: std::time::Instant::now(),
            quarters: std::collections::HashMap::new(),
            last_line: std::time::Instant::now(),
            runs,
        }
    }

    /// The line `event` deserves, if any (escaped, without the `graphprof: ` prefix).
    pub fn line(&mut self, event: &graphprof::dask::DriverEvent) -> Option<String> {
        use graphprof::dask::DriverEvent;
        use graphprof::sample::Phase;
        let text = match event {
            DriverEvent::Hello { dask, .. } => format!("Dask driver started (dask {dask})"),
            DriverEvent::Workers { workers, .. } => format!("{} workers ready", workers.len()),
            DriverEvent::Label {
                label,
                order,
                fresh_workers,
                ..
            } => format!(
                "{label}: run {order} of {}, {}",
                self.runs,
                if *fresh_workers {
                    "fresh workers"
                } else {
                    "workers reused"
                }
            ),
            DriverEvent::Phase { label, phase, .. }
                if matches!(phase, Phase::Compute | Phase::Held) =>
            {
                format!("{label}: {}", phase.as_str())
            }
            DriverEvent::Progress { label, done, total } if *total > 0 => {
                let quarter = done.saturating_mul(4) / total;
                let last = self.quarters.entry(label.clone()).or_insert(0);
                if quarter <= *last || self.last_line.elapsed().as_secs_f64() < 1.0 {
                    return None;
                }
                *last = quarter;
                format!("{label}: {done}/{total} tasks")
            }
            DriverEvent::Done {
                label, complete, ..
            } => format!(
                "{label}: done{}",
                if *complete { "" } else { " (incomplete)" }
            ),
            _ => return None,
        };
        self.last_line = std::time::Instant::now();
        let elapsed = self.start.elapsed().as_secs_f64();
        Some(graphprof::escape::control(&format!("[{elapsed:5.1} s] {text}")).into_owned())
    }
}
