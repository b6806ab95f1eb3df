//! The terminal text of a sample report: the comparison table (each run relative to the same
//! engine's `scatter` run, from the [`RunFigures`] every export carries) and the lines printed
//! under it (runs whose peak is not measured, held memory per chunk).

use super::export::RunFigures;
use super::sample_report::{FEW_SAMPLES, SampleReport};
use super::table::Table;
use crate::sample::Phase;
use crate::units::Bytes;

fn relative(value: Option<u64>, reference: Option<u64>) -> String {
    match (value, reference) {
        (Some(v), Some(r)) if r > 0 => format!(" (x{:.1})", v as f64 / r as f64),
        _ => String::new(),
    }
}

fn bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| Bytes(v).to_string())
}

/// One line per run: held memory per chunk, beside the payload size, so the slopes of the
/// engines and strategies can be compared (empty when the runs have no chunk count).
pub fn slopes(report: &SampleReport) -> String {
    let mut lines = Vec::new();
    for run in &report.runs {
        if let Some(per_chunk) = run.held_per_chunk_bytes {
            lines.push(format!("  {:<18} {}", run.label, Bytes(per_chunk)));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let payload = report
        .parameters
        .payload_bytes
        .map_or(String::new(), |p| format!(" (the payload is {})", Bytes(p)));
    format!("Held memory per chunk{payload}:\n{}\n", lines.join("\n"))
}

/// A line per run whose peak is not measured (too few samples in a phase), for under the table.
pub fn sparse_note(report: &SampleReport) -> String {
    let mut out = String::new();
    for run in report.runs.iter().filter(|run| !run.peak_measured) {
        let phases: Vec<&str> = run
            .sparse_phases
            .iter()
            .filter(|p| matches!(p, Phase::Compute | Phase::Held))
            .map(|p| p.as_str())
            .collect();
        let within = if phases.is_empty() {
            "the run".to_string()
        } else {
            phases.join(", ")
        };
        out.push_str(&format!(
            "{}: fewer than {FEW_SAMPLES} samples in {within} at an interval of {} ms: its peak is \
             not measured (a lower bound); levels at phase boundaries are.\n",
            run.label,
            crate::units::count(report.parameters.interval_ms.round() as u64)
        ));
    }
    out
}

/// The label of the scatter run a run is compared with: `scatter`, or `dask/scatter` for
/// `dask/inline` when several engines ran.
fn scatter_label(label: &str) -> String {
    // A sweep's runs carry their chunk count (`inline@256`): compare at the same count.
    if let Some((run, chunks)) = label.rsplit_once('@') {
        return format!("{}@{chunks}", scatter_label(run));
    }
    match label.rsplit_once('/') {
        Some((engine, _)) => format!("{engine}/scatter"),
        None => "scatter".to_string(),
    }
}

/// The comparison table: run, wire, materialised, peak, held, after release, held managed, wall
/// time, each relative to the same engine's `scatter` run when there is one. Memory is the main measure (process
/// or worker RSS) above each run's baseline.
pub fn table(report: &SampleReport) -> Table {
    let mut table = Table::new(
        &[
            "run",
            "wire",
            "materialised",
            "peak",
            "held",
            "after release",
            "held (managed)",
            "compute",
            "wall",
        ],
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    for run in &report.runs {
        let row = RunFigures::of(run);
        let reference_label = scatter_label(&run.label);
        let reference = report
            .runs
            .iter()
            .find(|r| r.label == reference_label && r.complete)
            .map(RunFigures::of);
        let with_ratio = |value: Option<u64>, pick: fn(&RunFigures) -> Option<u64>| {
            bytes(value) + &relative(value, reference.as_ref().and_then(pick))
        };
        let mut label = run.label.clone();
        if !run.complete {
            label.push_str(" (incomplete)");
        }
        let compute = match (row.compute_s, reference.as_ref().and_then(|r| r.compute_s)) {
            (Some(own), Some(base)) if base > 0.0 => format!("{own:.3} s (x{:.1})", own / base),
            (Some(own), _) => format!("{own:.3} s"),
            (None, _) => "-".to_string(),
        };
        table.row(vec![
            label,
            with_ratio(row.wire_bytes, |r| r.wire_bytes),
            bytes(run.materialised_bytes),
            if run.peak_measured {
                with_ratio(row.peak_bytes, |r| r.peak_bytes)
            } else {
                format!("{} (not measured)", bytes(row.peak_bytes))
            },
            with_ratio(row.held_bytes, |r| r.held_bytes),
            bytes(row.after_release_bytes),
            with_ratio(row.held_managed_bytes, |r| r.held_managed_bytes),
            compute,
            format!("{:.2} s", row.wall_time_s),
        ]);
    }
    table
}

/// Per run with per-layer figures, its table, under a line saying what the figures are.
pub fn layers_text(report: &SampleReport) -> String {
    let mut out = String::new();
    for run in &report.runs {
        let Some(dask) = &run.real_dask else { continue };
        if dask.held_layers.is_empty() {
            continue;
        }
        let probe = dask
            .layers_probe_s
            .map_or(String::new(), |s| format!(", read in {:.0} ms", s * 1e3));
        let holders = dask
            .held_layers
            .iter()
            .flat_map(|l| l.per_worker.iter().map(|w| w.address.as_str()))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        out.push_str(&format!(
            "  {} (held on {holders} worker{}{probe}):\n{}",
            run.label,
            if holders == 1 { "" } else { "s" },
            super::sample_layers::table(&dask.held_layers).to_text(4)
        ));
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "Held per layer while the results were held, measured on the workers beside analyze's \
         prediction (results: Dask's sizeof; run_specs: in memory, the kept specs and the objects \
         they embed; ~ extrapolated from one measured object per group of alike objects):\n{out}"
    )
}
