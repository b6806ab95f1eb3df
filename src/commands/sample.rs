//! `graphprof sample`: runs graphs (or a command) under the sampler, one labelled series per
//! strategy, and writes the comparison table, report.json, samples.csv and the plots.

use super::sample_builtin::run_builtin;
use super::sample_output::{engine_name, finish, plot_title, prepare_output};
use super::sample_plan::{output_count, plan};
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::{Result, bail};
use graphprof::report::sample_folder::SampleFolder;
use graphprof::report::sample_report::{RunReport, SampleParameters};
use graphprof::sample::measure::default_memory_limit_bytes;
use graphprof::sample::sampler::validate_interval;
use graphprof::sample::{CommandLimits, Series, sample_command};
use graphprof::units::{Bytes, count};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub fn run(args: SampleArgs) -> Result<i32> {
    validate_interval(args.interval)?;
    let cancel = cancel_flag();
    if !args.command.is_empty() {
        refuse_graph_options(&args)?;
        let (folder, live) = prepare_output(&args)?;
        return run_command(&args, &cancel, &folder, &live);
    }
    if args.label.is_some() {
        bail!("--label names a sampled command: give the command after --");
    }
    if args.generator.chunks.0.len() > 1 || (args.worker_memory.is_some() && args.graph.is_none()) {
        return super::sample_sweep::run(&args, &cancel);
    }
    let (plans, source, culled) = plan(&args)?;
    let (folder, live) = prepare_output(&args)?;
    let mut runs: Vec<(RunReport, Series)> = Vec::new();
    if matches!(args.engine, EngineChoice::Builtin | EngineChoice::Both) {
        for planned in &plans {
            if cancel.load(Ordering::SeqCst) {
                break;
            }
            let (mut report, series) = run_builtin(&args, planned, &cancel, &live)?;
            if args.graph.is_some() {
                report.chunks = Some(output_count(&planned.graph)).filter(|&n| n > 0);
            }
            runs.push((report, series));
        }
    }
    let mut dask_limit = None;
    if matches!(args.engine, EngineChoice::Dask | EngineChoice::Both)
        && !cancel.load(Ordering::SeqCst)
    {
        let dask = super::sample_dask::run_all(&args, &plans, culled.as_ref(), &cancel, &live)?;
        runs.extend(dask.runs);
        dask_limit = dask.worker_memory_limit;
        if dask.interrupted {
            cancel.store(true, Ordering::SeqCst);
        }
    }
    // A graph file or a collection runs at its own size: its slope comes from that one run.
    let sweep = if args.graph.is_some() {
        super::sample_sweep::one_run_sweep(&args, &runs, dask_limit).map(|mut sweep| {
            // Only a culled run says what it took; a run at its own size says its chunks.
            sweep.swept = culled.as_ref().map(|_| source.clone());
            sweep.outputs_of = culled.as_ref().map(|culled| culled.available);
            sweep
        })
    } else {
        None
    };
    let parameters = SampleParameters {
        engine: engine_name(args.engine).to_string(),
        source: source.clone(),
        chunks: args
            .graph
            .is_none()
            .then_some(args.generator.chunks.first()),
        payload_bytes: args.graph.is_none().then_some(args.generator.payload_bytes),
        workers: Some(args.workers),
        interval_ms: args.interval.as_secs_f64() * 1e3,
        hold_s: Some(args.hold.as_secs_f64()),
        memory_limit_bytes: args.memory_limit,
    };
    let title = plot_title(&args, || match args.graph {
        None => format!(
            "map-blocks, {} chunks x {}",
            count(args.generator.chunks.first()),
            Bytes(args.generator.payload_bytes)
        ),
        Some(_) => source.clone(),
    });
    finish(
        &args,
        &folder,
        parameters,
        runs,
        &title,
        cancel.load(Ordering::SeqCst),
        sweep,
    )
}

/// A flag that Ctrl-C sets; runs check it between tasks and stop cleanly.
fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Setting the handler fails only if one is already set (tests calling twice); ignore that.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

/// Refuses options that only apply to graphs when a command is sampled.
fn refuse_graph_options(args: &SampleArgs) -> Result<()> {
    let given: Vec<&str> = [
        (args.graph.is_some(), "a graph file"),
        (!args.strategy.is_empty(), "--strategy"),
        (args.engine != EngineChoice::Builtin, "--engine"),
        (args.scheduler.is_some(), "--scheduler"),
        (args.task_overhead.is_some(), "--task-overhead"),
        (args.task_overhead_file.is_some(), "--task-overhead-file"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect();
    if !given.is_empty() {
        bail!(
            "sampling a command (after --) takes no {}: they apply to graphs",
            given.join(", ")
        );
    }
    Ok(())
}

fn run_command(
    args: &SampleArgs,
    cancel: &Arc<AtomicBool>,
    folder: &SampleFolder,
    live: &Path,
) -> Result<i32> {
    let program = args
        .command
        .first()
        .map(String::as_str)
        .unwrap_or("command");
    let label = args.label.clone().unwrap_or_else(|| {
        Path::new(program)
            .file_name()
            .map_or(program.to_string(), |name| {
                name.to_string_lossy().into_owned()
            })
    });
    let limits = CommandLimits {
        memory_limit_bytes: args.memory_limit.or_else(default_memory_limit_bytes),
        cancel: Some(cancel.clone()),
    };
    let started = std::time::Instant::now();
    let (series, status, stopped) = sample_command(
        label.clone(),
        &args.command,
        args.interval,
        Some(live.to_path_buf()),
        &limits,
    )?;
    let wall_time_s = started.elapsed().as_secs_f64();
    let error = match (&stopped, status.success()) {
        (Some(reason), _) => Some(format!("{}: {reason} ({status})", args.command.join(" "))),
        (None, false) => Some(format!("{} {status}", args.command.join(" "))),
        (None, true) => None,
    };
    if let Some(error) = &error {
        eprintln!(
            "graphprof: {}",
            graphprof::escape::control(&format!("{label}: {error}"))
        );
    }
    let report = RunReport {
        complete: series.complete,
        error,
        wall_time_s,
        ..RunReport::from_series("command", &series)
    };
    let parameters = SampleParameters {
        engine: "command".to_string(),
        source: args.command.join(" "),
        chunks: None,
        payload_bytes: None,
        workers: None,
        interval_ms: args.interval.as_secs_f64() * 1e3,
        hold_s: None,
        memory_limit_bytes: limits.memory_limit_bytes,
    };
    let title = args.title.clone().unwrap_or_else(|| args.command.join(" "));
    finish(
        args,
        folder,
        parameters,
        vec![(report, series)],
        &title,
        cancel.load(Ordering::SeqCst),
        None,
    )
}
