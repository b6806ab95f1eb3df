//! One planned graph run on the built-in engine under the sampler, turned into its run report
//! with `analyze`'s predictions beside the measured figures.

use super::progress::task_bar;
use super::sample_plan::{PlannedRun, predictions};
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::Result;
use graphprof::engine::EngineOptions;
use graphprof::report::sample_report::{Comparison, RunReport};
use graphprof::sample::Series;
use graphprof::sample::builtin::{BuiltinSampling, sample_graph};
use graphprof::sample::measure::default_memory_limit_bytes;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub(super) fn run_builtin(
    args: &SampleArgs,
    planned: &PlannedRun,
    cancel: &Arc<AtomicBool>,
    live: &Path,
) -> Result<(RunReport, Series)> {
    let label = match args.engine {
        EngineChoice::Both => format!("builtin/{}", planned.label),
        _ => planned.label.clone(),
    };
    let sampling = BuiltinSampling {
        engine: EngineOptions {
            workers: args.workers,
            hold: args.hold,
            memory_limit_bytes: args.memory_limit.or_else(default_memory_limit_bytes),
            task_overhead_bytes: task_overhead_bytes(args)?,
        },
        interval: args.interval,
        sink: Some(live.to_path_buf()),
    };
    let analysis = predictions(&planned.graph, &label, args.workers);
    let bar = task_bar(&label, planned.graph.task_count() as u64);
    let run = sample_graph(&label, &planned.graph, &sampling, cancel, &mut |done, _| {
        bar.set_position(done)
    })?;
    bar.finish_and_clear();
    let outcome = &run.outcome;
    let predicted_held = analysis
        .strategies
        .first()
        .map_or(0, |prediction| prediction.held_bytes);
    let report = RunReport {
        complete: outcome.complete,
        error: outcome.error.clone(),
        tasks: outcome.tasks_total,
        wall_time_s: outcome.wall_time.as_secs_f64(),
        wire_bytes: Some(outcome.wire_bytes),
        materialised_bytes: Some(analysis.sizes.materialised_bytes),
        wire_vs_model: Some(Comparison::new(
            analysis.sizes.wire_bytes,
            outcome.wire_bytes,
        )),
        held_vs_model: outcome
            .complete
            .then(|| Comparison::new(predicted_held, outcome.held_managed_bytes)),
        ..RunReport::from_series("builtin", &run.series)
    };
    if let Some(error) = &outcome.error {
        eprintln!(
            "graphprof: {}",
            graphprof::escape::control(&format!("{}: stopped: {error}", report.label))
        );
    }
    Ok((report, run.series))
}

/// The built-in engine's bookkeeping per held result: `--task-overhead`, else the figure in
/// `--task-overhead-file`, else the one measured on distributed 2026.8.0.
fn task_overhead_bytes(args: &SampleArgs) -> Result<u64> {
    if let Some(bytes) = args.task_overhead {
        return Ok(bytes);
    }
    match &args.task_overhead_file {
        Some(path) => Ok(graphprof::dask::calibrate::read_calibration(path)?.task_overhead_bytes),
        None => Ok(graphprof::graph::held::TASK_OVERHEAD_BYTES),
    }
}
