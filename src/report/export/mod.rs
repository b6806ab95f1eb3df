//! `graphprof sample --export-json/--export-csv/--export-markdown`: the comparison table as
//! data, as hyperfine exports its results. One small [`Exporter`] trait, one file per format;
//! each export goes to a file (replaced atomically) or to stdout (`-`). Every format carries the
//! same [`RunFigures`] per run: the figures the terminal table shows, as plain numbers.

mod csv;
mod json;
mod markdown;

pub use csv::CsvExporter;
pub use json::{EXPORT_SCHEMA, Export, JsonExporter};
pub use markdown::MarkdownExporter;

use super::sample_report::{RunReport, SampleReport};
use crate::output::{Destination, OutputError, write_to};
use crate::sample::Measure;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Turns a sample report into the bytes of one export format.
pub trait Exporter {
    /// The whole export.
    fn export(&self, report: &SampleReport) -> Vec<u8>;
}

/// The figures of one run, as the table shows them; memory is the main measure above the
/// run's baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunFigures {
    /// The run's label.
    pub label: String,
    /// The engine: `builtin`, `dask` or `command`.
    pub engine: String,
    /// False when the run was cut short.
    pub complete: bool,
    /// Why it was cut short.
    pub error: Option<String>,
    /// The measure the memory figures are of (`process`, `rss`, ...).
    pub measure: Measure,
    /// Bytes the client sent.
    pub wire_bytes: Option<u64>,
    /// Materialised bytes of the graph (from the analysis).
    pub materialised_bytes: Option<u64>,
    /// Highest reading above the baseline.
    pub peak_bytes: Option<u64>,
    /// False when too few samples were taken for the peak to be a measure (a lower bound).
    pub peak_measured: bool,
    /// Level while the results were held, above the baseline.
    pub held_bytes: Option<u64>,
    /// Level after the results were released, above the baseline.
    pub after_release_bytes: Option<u64>,
    /// graphprof's exact managed bytes while held, above their baseline.
    pub held_managed_bytes: Option<u64>,
    /// Seconds from the compute mark to the held mark.
    pub compute_s: Option<f64>,
    /// Wall time of the run, in seconds.
    pub wall_time_s: f64,
}

/// Growth of a level above the baseline.
fn above(level: Option<u64>, baseline: Option<u64>) -> Option<u64> {
    Some(level?.saturating_sub(baseline.unwrap_or(0)))
}

impl RunFigures {
    /// The figures of `run`.
    pub fn of(run: &RunReport) -> Self {
        let measure = run.main_measure();
        let main = run.whole(measure);
        // graphprof's exact count only: Dask's `managed` cannot see the per-task copies.
        let managed = run.whole(Measure::Managed);
        let base = main.and_then(|m| m.baseline_bytes);
        RunFigures {
            label: run.label.clone(),
            engine: run.engine.clone(),
            complete: run.complete,
            error: run.error.clone(),
            measure,
            // An incomplete run may have stopped before it sent anything.
            wire_bytes: run.wire_bytes.filter(|&w| run.complete || w > 0),
            materialised_bytes: run.materialised_bytes,
            peak_bytes: main.and_then(|m| above(m.peak_bytes, base)),
            peak_measured: run.peak_measured,
            held_bytes: main.and_then(|m| above(m.held_bytes, base)),
            after_release_bytes: main.and_then(|m| above(m.after_release_bytes, base)),
            held_managed_bytes: managed.and_then(|m| above(m.held_bytes, m.baseline_bytes)),
            compute_s: run.compute_s(),
            wall_time_s: run.wall_time_s,
        }
    }
}

/// The exports asked for: `(exporter, path)`, a path of `-` being stdout.
pub fn write_exports(
    report: &SampleReport,
    exports: &[(&dyn Exporter, &Path)],
) -> Result<(), OutputError> {
    for (exporter, path) in exports {
        let bytes = exporter.export(report);
        write_to(&Destination::from_arg(Some(path)), |out| {
            out.write_all(&bytes)
        })?;
    }
    Ok(())
}
