//! `graphprof sample --chunks 256,1024,4096`: the seed case at each chunk count, every strategy
//! on the engines asked for, into one output folder (runs labelled `inline@256`), then the fit of
//! held memory against the chunk count per strategy and the answer to "how many chunks fit under
//! the worker memory" (report/sweep.rs), printed under the table and written as report.json's
//! `sweep` field and sweep.png/.svg. With a graph file or a user's collection (`SCRIPT.py:VAR`)
//! each count runs the graph culled to its first that many outputs and what they depend on
//! (graph/cull.rs; on real Dask the driver culls the user's own collection to the same output
//! keys); without `--chunks` it runs at its own size and [`one_run_sweep`] gives its slope from
//! that one run.

use super::sample_builtin::run_builtin;
use super::sample_dask::run_all;
use super::sample_output::{engine_name, finish, plot_title, prepare_output};
use super::sample_plan::{cull, load_for_sample, plan, plan_graph};
use crate::cli::{ChunkCounts, EngineChoice, SampleArgs};
use anyhow::{Result, bail};
use graphprof::report::sample_report::{RunReport, SampleParameters};
use graphprof::report::sweep::SweepReport;
use graphprof::report::sweep_fit::{WorkerMemory, fit_sweep};
use graphprof::sample::Series;
use graphprof::sample::measure::default_memory_limit_bytes;
use graphprof::units::{Bytes, count};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs the sweep and writes its report; returns the exit code.
pub fn run(args: &SampleArgs, cancel: &Arc<AtomicBool>) -> Result<i32> {
    let counts = args.generator.chunks.0.clone();
    if counts.len() < 2 {
        bail!(
            "--worker-memory answers how many chunks fit from a sweep: give --chunks a list of \
             at least two counts (e.g. --chunks 256,1024,4096)"
        );
    }
    // A graph file or a collection: loaded (exported) once, every count checked before any runs.
    let graph = match &args.graph {
        Some(path) => Some((path, load_for_sample(args, path)?)),
        None => None,
    };
    if let Some((path, graph)) = &graph {
        let available = graphprof::graph::cull::outputs(graph).len() as u64;
        if let Some(&n) = counts.iter().find(|&&n| n == 0 || n > available) {
            cull(path, graph, n)?;
        }
    } else if counts.contains(&0) {
        bail!("--chunks: a sweep needs chunk counts of at least 1");
    }
    let (folder, live) = prepare_output(args)?;
    let mut available = None;
    let mut runs: Vec<(RunReport, Series)> = Vec::new();
    let mut interrupted = false;
    let mut dask_limit = None;
    for &chunks in &counts {
        if cancel.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let mut one = args.clone();
        one.generator.chunks = ChunkCounts(vec![chunks]);
        let (plans, culled) = match &graph {
            None => (plan(&one)?.0, None),
            Some((path, graph)) => {
                let culled = cull(path, graph, chunks)?;
                available = Some(culled.available);
                (plan_graph(&one, path, &culled.graph)?, Some(culled))
            }
        };
        let mut these = Vec::new();
        if matches!(args.engine, EngineChoice::Builtin | EngineChoice::Both) {
            for planned in &plans {
                if cancel.load(Ordering::SeqCst) {
                    break;
                }
                these.push(run_builtin(&one, planned, cancel, &live)?);
            }
        }
        if matches!(args.engine, EngineChoice::Dask | EngineChoice::Both)
            && !cancel.load(Ordering::SeqCst)
        {
            let dask = run_all(&one, &plans, culled.as_ref(), cancel, &live)?;
            these.extend(dask.runs);
            interrupted |= dask.interrupted;
            dask_limit = dask_limit.or(dask.worker_memory_limit);
        }
        for (mut report, mut series) in these {
            report.label = format!("{}@{chunks}", report.label);
            series.label = report.label.clone();
            report.chunks = Some(chunks);
            runs.push((report, series));
        }
        if interrupted {
            break;
        }
    }
    interrupted |= cancel.load(Ordering::SeqCst);
    let memory_limit = args.memory_limit.or_else(default_memory_limit_bytes);
    let reports: Vec<RunReport> = runs.iter().map(|(report, _)| report.clone()).collect();
    let mut sweep = fit_sweep(
        &reports,
        &counts,
        worker_memory(args, dask_limit),
        args.workers,
    );
    let listed = counts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let source = match &graph {
        None => format!(
            "generated: map-blocks --chunks {listed} --payload-bytes {}",
            args.generator.payload_bytes
        ),
        Some((path, _)) => format!(
            "{}, first {} of {} outputs",
            path.display(),
            listed.replace(',', "/"),
            available.map_or("?".to_string(), |n| n.to_string())
        ),
    };
    sweep.swept = Some(source.clone());
    sweep.outputs_of = graph.as_ref().and(available);
    let parameters = SampleParameters {
        engine: engine_name(args.engine).to_string(),
        source: source.clone(),
        chunks: None,
        payload_bytes: graph.is_none().then_some(args.generator.payload_bytes),
        workers: Some(args.workers),
        interval_ms: args.interval.as_secs_f64() * 1e3,
        hold_s: Some(args.hold.as_secs_f64()),
        memory_limit_bytes: memory_limit,
    };
    let title = plot_title(args, || match &graph {
        None => format!(
            "map-blocks, {} chunks x {}",
            counts
                .iter()
                .map(|&c| count(c))
                .collect::<Vec<_>>()
                .join("/"),
            Bytes(args.generator.payload_bytes)
        ),
        Some(_) => source.clone(),
    });
    finish(
        args,
        &folder,
        parameters,
        runs,
        &title,
        interrupted,
        Some(sweep),
    )
}

/// The memory one worker may use, per engine: --worker-memory for both; else the built-in
/// engine's memory limit for its runs and the Dask workers' own `memory_limit` for Dask's.
pub fn worker_memory(args: &SampleArgs, dask_limit: Option<u64>) -> WorkerMemory<'static> {
    if let Some(bytes) = args.worker_memory {
        return WorkerMemory::both(Some((bytes, "--worker-memory")));
    }
    WorkerMemory {
        builtin: args
            .memory_limit
            .or_else(default_memory_limit_bytes)
            .map(|bytes| (bytes, "memory limit")),
        dask: dask_limit.map(|bytes| (bytes, "cluster memory_limit")),
    }
}

/// For a graph file or a user's collection: per strategy, the slope from its own run (held /
/// the chunks it held, through zero) and how many chunks fit. `None` when no run knows its
/// chunk count.
pub fn one_run_sweep(
    args: &SampleArgs,
    runs: &[(RunReport, Series)],
    dask_limit: Option<u64>,
) -> Option<SweepReport> {
    let reports: Vec<RunReport> = runs.iter().map(|(report, _)| report.clone()).collect();
    let mut counts: Vec<u64> = reports.iter().filter_map(|r| r.chunks).collect();
    counts.sort_unstable();
    counts.dedup();
    if counts.is_empty() {
        return None;
    }
    Some(fit_sweep(
        &reports,
        &counts,
        worker_memory(args, dask_limit),
        args.workers,
    ))
}
