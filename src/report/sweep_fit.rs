//! Fits the sweep from the runs' reports: per strategy, one point per complete run (held memory
//! above the baseline at its chunk count), the line through them ([`super::sweep`]'s least
//! squares, or through zero for one run) and how many chunks fit under the worker memory.
//!
//! The held memory fitted is the one the limit applies to: for the built-in engine its own count
//! of what it holds (`managed`, exact; its memory limit stops a run on it), for real Dask the
//! workers' RSS (Dask's `memory_limit` applies to each worker's RSS). For Dask the budget is the
//! workers' memory together (workers x worker memory) less the RSS the workers had before the
//! run, so the answer assumes the chunks spread evenly over the workers.
//!
//! A graph file or a user's collection swept with `--chunks 12,24,48` runs culled to its first
//! 12, 24 and 48 outputs and is fitted the same way. Run at one size only (its own, or one
//! count of `--chunks`), its slope is taken from that one run, through zero (`held / chunks`, the chunks being its tasks nothing
//! depends on), marked `one point` and without an R^2, so that the answer is there and says
//! what it rests on.

use super::sample_report::RunReport;
use super::sweep::{
    LEAST_SQUARES, ONE_POINT, SweepFit, SweepPoint, SweepReport, chunks_that_fit, least_squares,
    strategy_label, through_zero,
};
use crate::sample::Measure;

/// The measure a run's sweep point is taken from (see the module documentation).
fn fitted_measure(run: &RunReport) -> Measure {
    if run.engine == "builtin" && run.whole(Measure::Managed).is_some() {
        Measure::Managed
    } else {
        run.main_measure()
    }
}

/// Held memory of `measure` above its baseline, for the whole run.
fn held_above_baseline(run: &RunReport, measure: Measure) -> Option<u64> {
    let whole = run.whole(measure)?;
    Some(
        whole
            .held_bytes?
            .saturating_sub(whole.baseline_bytes.unwrap_or(0)),
    )
}

/// The workers' RSS before the run, and how many workers had it (real Dask).
fn workers_baseline(run: &RunReport, measure: Measure) -> (u64, u64) {
    let workers = run
        .measures
        .iter()
        .filter(|m| m.measure == measure && m.worker.is_some())
        .count() as u64;
    let baseline = run
        .whole(measure)
        .and_then(|m| m.baseline_bytes)
        .unwrap_or(0);
    (baseline, workers)
}

/// The memory one worker may use, per engine, with where it came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerMemory<'a> {
    /// For the built-in engine's runs.
    pub builtin: Option<(u64, &'a str)>,
    /// For real Dask's runs.
    pub dask: Option<(u64, &'a str)>,
}

impl<'a> WorkerMemory<'a> {
    /// The same figure for both engines (`--worker-memory`).
    pub fn both(memory: Option<(u64, &'a str)>) -> Self {
        WorkerMemory {
            builtin: memory,
            dask: memory,
        }
    }
}

/// Fits every strategy of the sweep. `runs` carry their chunk count (`RunReport::chunks`) and
/// labels `STRATEGY@CHUNKS`; `workers` is the worker count asked for, used when a Dask run has no
/// per-worker figures.
pub fn fit_sweep(
    runs: &[RunReport],
    chunks: &[u64],
    memory: WorkerMemory<'_>,
    workers: u32,
) -> SweepReport {
    let mut fits: Vec<SweepFit> = Vec::new();
    for run in runs {
        let label = strategy_label(&run.label);
        if fits.iter().any(|f| f.label == label) {
            continue;
        }
        let members: Vec<&RunReport> = runs
            .iter()
            .filter(|r| strategy_label(&r.label) == label)
            .collect();
        let measure = fitted_measure(run);
        let points: Vec<SweepPoint> = members
            .iter()
            .filter(|r| r.complete)
            .filter_map(|r| {
                Some(SweepPoint {
                    chunks: r.chunks?,
                    held_bytes: held_above_baseline(r, measure)?,
                })
            })
            .collect();
        // One count: the line rests on its one run, or there is none when that run did not
        // complete (never a least-squares fit over a single count).
        let (line, method) = if chunks.len() == 1 {
            (points.first().and_then(through_zero), ONE_POINT)
        } else {
            let xy: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.chunks as f64, p.held_bytes as f64))
                .collect();
            (least_squares(&xy), LEAST_SQUARES)
        };
        let worker_memory = if run.engine == "builtin" {
            memory.builtin
        } else {
            memory.dask
        };
        let budget_bytes = worker_memory.map(|(bytes, _)| {
            if run.engine == "builtin" {
                bytes
            } else {
                // The highest baseline of the strategy's runs: the workers' own RSS before work.
                let (baseline, seen) = members
                    .iter()
                    .map(|r| workers_baseline(r, measure))
                    .max()
                    .unwrap_or((0, 0));
                let workers = if seen > 0 { seen } else { u64::from(workers) };
                (bytes.saturating_mul(workers)).saturating_sub(baseline)
            }
        });
        let fits_chunks = match (line, budget_bytes) {
            (Some((a, b, _)), Some(budget)) => chunks_that_fit(budget, a, b),
            _ => None,
        };
        fits.push(SweepFit {
            label: label.to_string(),
            engine: run.engine.clone(),
            measure,
            points,
            intercept_bytes: line.map(|l| l.0),
            slope_bytes_per_chunk: line.map(|l| l.1),
            r_squared: line.and_then(|l| l.2),
            method: method.to_string(),
            budget_bytes,
            fits_chunks,
        });
    }
    let shown = if runs.iter().any(|run| run.engine != "builtin") {
        memory.dask
    } else {
        memory.builtin
    };
    SweepReport {
        chunks: chunks.to_vec(),
        worker_memory_bytes: shown.map(|(bytes, _)| bytes),
        worker_memory_source: shown.map_or("unknown", |(_, source)| source).to_string(),
        fits,
        swept: None,
        outputs_of: None,
    }
}
