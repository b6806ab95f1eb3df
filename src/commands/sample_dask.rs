//! `graphprof sample --engine dask`: the seed case on a real Dask cluster through the embedded
//! Python driver, turned into the same run reports as the built-in engine.

use super::progress::task_bar;
use super::sample::{PlannedRun, predictions};
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::{Result, bail};
use graphprof::dask::{DaskSampleOptions, DriverEvent, resolve_python, run_driver_cancellable};
use graphprof::graph::Strategy;
use graphprof::report::sample_report::{Comparison, RunReport};
use graphprof::sample::Series;
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Runs every planned strategy on real Dask; returns one report and series per label.
pub fn run_all(
    args: &SampleArgs,
    plans: &[PlannedRun],
    cancel: &AtomicBool,
    live: &Path,
) -> Result<(Vec<(RunReport, Series)>, bool)> {
    if args.graph.is_some() {
        bail!(
            "--engine dask runs the seed case (dask.array map_blocks); run a graph file on the \
             built-in engine, or export your own collection with `graphprof dask export`"
        );
    }
    let strategies: Vec<Strategy> = plans.iter().filter_map(|plan| plan.strategy).collect();
    let options = DaskSampleOptions {
        python: resolve_python(args.python.python.as_deref()),
        strategies,
        chunks: args.generator.chunks,
        payload_bytes: args.generator.payload_bytes,
        workers: args.workers,
        interval: args.interval,
        scheduler: args.scheduler.clone(),
        timeout: args.timeout,
        hold: args.hold,
        run_timeout: None,
        sink: Some(live.to_path_buf()),
        interrupt: None,
    };
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    let run = run_driver_cancellable(&options, cancel, &mut |event| {
        if let DriverEvent::Progress { label, done, total } = event {
            bars.entry(label.clone())
                .or_insert_with(|| task_bar(&format!("dask/{label}"), *total))
                .set_position(*done);
        }
    })?;
    for bar in bars.values() {
        bar.finish_and_clear();
    }
    for warning in &run.warnings {
        eprintln!(
            "graphprof: warning: {}",
            graphprof::escape::control(warning)
        );
    }
    let prefix = match args.engine {
        EngineChoice::Both => "dask/",
        _ => "",
    };
    let mut runs = Vec::new();
    for outcome in &run.labels {
        let Some(series) = run.series.iter().find(|s| s.label == outcome.label) else {
            continue;
        };
        let mut series = series.clone();
        series.label = format!("{prefix}{}", outcome.label);
        series.complete = outcome.complete;
        let plan = plans
            .iter()
            .find(|plan| plan.strategy.is_some() && plan.strategy == outcome.strategy);
        let model = plan.map(|plan| predictions(&plan.graph, &plan.label, args.workers));
        if let Some(error) = &outcome.error {
            eprintln!(
                "graphprof: {}",
                graphprof::escape::control(&format!("{}: {error}", series.label))
            );
        }
        let report = RunReport {
            complete: outcome.complete,
            error: outcome.error.clone(),
            tasks: outcome.tasks.unwrap_or(0),
            wall_time_s: outcome.wall_time_s.unwrap_or_else(|| series.duration_s()),
            wire_bytes: outcome.wire_bytes,
            materialised_bytes: model.as_ref().map(|m| m.sizes.materialised_bytes),
            dask_warning_fired: Some(outcome.warning_fired),
            wire_vs_model: model
                .as_ref()
                .zip(outcome.wire_bytes)
                .map(|(m, wire)| Comparison::new(m.sizes.wire_bytes, wire)),
            ..RunReport::from_series("dask", &series)
        };
        runs.push((report, series));
    }
    Ok((runs, run.interrupted))
}
