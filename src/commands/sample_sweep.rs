//! `graphprof sample --chunks 256,1024,4096`: the seed case at each chunk count, every strategy
//! on the engines asked for, into one output folder (runs labelled `inline@256`), then the fit of
//! held memory against the chunk count per strategy and the answer to "how many chunks fit under
//! the worker memory" (report/sweep.rs), printed under the table and written as report.json's
//! `sweep` field and sweep.png/.svg.

use crate::cli::{ChunkCounts, EngineChoice, SampleArgs};
use anyhow::{Result, bail};
use graphprof::report::sample_report::{RunReport, SampleParameters};
use graphprof::report::sweep::fit_sweep;
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
    if let Some(path) = &args.graph {
        bail!(
            "{}: a sweep (--chunks with a list) runs the seed case; give no graph file",
            path.display()
        );
    }
    if counts.contains(&0) {
        bail!("--chunks: a sweep needs chunk counts of at least 1");
    }
    let (folder, live) = super::sample::prepare_output(args)?;
    let mut runs: Vec<(RunReport, Series)> = Vec::new();
    let mut interrupted = false;
    for &chunks in &counts {
        if cancel.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let mut one = args.clone();
        one.generator.chunks = ChunkCounts(vec![chunks]);
        let (plans, _) = super::sample::plan(&one)?;
        let mut these = Vec::new();
        if matches!(args.engine, EngineChoice::Builtin | EngineChoice::Both) {
            for planned in &plans {
                if cancel.load(Ordering::SeqCst) {
                    break;
                }
                these.push(super::sample::run_builtin(&one, planned, cancel, &live)?);
            }
        }
        if matches!(args.engine, EngineChoice::Dask | EngineChoice::Both)
            && !cancel.load(Ordering::SeqCst)
        {
            let (dask_runs, stopped) = super::sample_dask::run_all(&one, &plans, cancel, &live)?;
            these.extend(dask_runs);
            interrupted |= stopped;
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
    let worker_memory = match (args.worker_memory, memory_limit) {
        (Some(bytes), _) => Some((bytes, "--worker-memory")),
        (None, Some(bytes)) => Some((bytes, "memory limit")),
        (None, None) => None,
    };
    let reports: Vec<RunReport> = runs.iter().map(|(report, _)| report.clone()).collect();
    let sweep = fit_sweep(&reports, &counts, worker_memory, args.workers);
    let parameters = SampleParameters {
        engine: super::sample::engine_name(args.engine).to_string(),
        source: format!(
            "generated: map-blocks --chunks {} --payload-bytes {}",
            counts
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            args.generator.payload_bytes
        ),
        chunks: None,
        payload_bytes: Some(args.generator.payload_bytes),
        workers: Some(args.workers),
        interval_ms: args.interval.as_secs_f64() * 1e3,
        hold_s: Some(args.hold.as_secs_f64()),
        memory_limit_bytes: memory_limit,
    };
    let title = format!(
        "map-blocks, {} chunks x {}, {} workers",
        counts
            .iter()
            .map(|&c| count(c))
            .collect::<Vec<_>>()
            .join("/"),
        Bytes(args.generator.payload_bytes),
        count(u64::from(args.workers))
    );
    super::sample::finish(
        args,
        &folder,
        parameters,
        runs,
        &title,
        interrupted,
        Some(sweep),
    )
}
