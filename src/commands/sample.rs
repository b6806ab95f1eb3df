//! `graphprof sample`: runs graphs (or a command) under the sampler, one labelled series per
//! strategy, and writes the comparison table, report.json, samples.csv and the plots.

use super::progress::task_bar;
use crate::cli::{EngineChoice, SampleArgs, SampleStrategy};
use anyhow::{Result, anyhow, bail};
use graphprof::analyze::{Analysis, AnalyzeOptions, analyze};
use graphprof::engine::EngineOptions;
use graphprof::error::{EXIT_FAILED_CHECK, EXIT_INTERRUPTED, EXIT_OK};
use graphprof::graph::cull::{CullError, cull_to_outputs};
use graphprof::graph::generate::{GeneratorKind, generate_graph, kind_name};
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Key, Strategy};
use graphprof::report::export::{
    CsvExporter, Exporter, JsonExporter, MarkdownExporter, write_exports,
};
use graphprof::report::sample_files::write_sample_files;
use graphprof::report::sample_folder::SampleFolder;
use graphprof::report::sample_report::{
    Comparison, RunReport, SAMPLE_SCHEMA, SAMPLE_VERSION, SampleParameters, SampleReport,
};
use graphprof::report::sample_table::{slopes, sparse_note, table};
use graphprof::sample::builtin::{BuiltinSampling, sample_graph};
use graphprof::sample::measure::default_memory_limit_bytes;
use graphprof::sample::sampler::validate_interval;
use graphprof::sample::{CommandLimits, Series, sample_command};
use graphprof::units::{Bytes, count};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Name of the file samples are appended to while runs go; removed once samples.csv is written.
const LIVE_SAMPLES: &str = "samples.live.csv";

/// One graph to run under one label.
pub struct PlannedRun {
    /// The label: the strategy, or `as-given`.
    pub label: String,
    /// The strategy, when the graph was generated or rewritten for one.
    pub strategy: Option<Strategy>,
    /// The graph.
    pub graph: Graph,
}

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
                report.chunks =
                    Some(super::sample_dask::output_count(&planned.graph)).filter(|&n| n > 0);
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
    let title = match args.graph {
        None => format!(
            "map-blocks, {} chunks x {}, {} workers",
            count(args.generator.chunks.first()),
            Bytes(args.generator.payload_bytes),
            count(u64::from(args.workers))
        ),
        Some(_) => format!("{source}, {} workers", count(u64::from(args.workers))),
    };
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

pub(super) fn engine_name(choice: EngineChoice) -> &'static str {
    match choice {
        EngineChoice::Builtin => "builtin",
        EngineChoice::Dask => "dask",
        EngineChoice::Both => "builtin+dask",
    }
}

/// Checks and creates the output folder (once the inputs are known to be good) and returns it
/// with the path of the live samples file, emptied.
pub(super) fn prepare_output(args: &SampleArgs) -> Result<(SampleFolder, std::path::PathBuf)> {
    let folder = SampleFolder::prepare(&args.output, args.force)?;
    let live = folder.path.join(LIVE_SAMPLES);
    let _ = std::fs::remove_file(&live);
    Ok((folder, live))
}

/// A flag that Ctrl-C sets; runs check it between tasks and stop cleanly.
fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Setting the handler fails only if one is already set (tests calling twice); ignore that.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

/// The graphs to run: the seed case per strategy, or the file as given or rewritten.
pub(super) fn plan(args: &SampleArgs) -> Result<(Vec<PlannedRun>, String, Option<Culled>)> {
    match &args.graph {
        None => {
            // The seed case is generated for a strategy: as given is inline, as generated.
            let strategies: Vec<Strategy> = if args.strategy.is_empty() {
                Strategy::ALL.to_vec()
            } else {
                args.strategy
                    .iter()
                    .map(|s| s.rewrite().unwrap_or(Strategy::Inline))
                    .collect()
            };
            let mut plans = Vec::new();
            for strategy in strategies {
                let options = super::generate_options(
                    GeneratorKind::MapBlocks,
                    &args.generator,
                    strategy,
                    false,
                )?;
                let graph = generate_graph(&options).map_err(|message| anyhow!(message))?;
                plans.push(PlannedRun {
                    label: strategy.to_string(),
                    strategy: Some(strategy),
                    graph,
                });
            }
            super::sample_dask::number_repeats(&mut plans);
            let source = format!(
                "generated: {} --chunks {} --payload-bytes {}",
                kind_name(GeneratorKind::MapBlocks),
                args.generator.chunks.first(),
                args.generator.payload_bytes
            );
            Ok((plans, source, None))
        }
        Some(path) => {
            let graph = load_for_sample(args, path)?;
            if !args.chunks_given {
                let plans = plan_graph(args, path, &graph)?;
                return Ok((plans, path.display().to_string(), None));
            }
            let culled = cull(path, &graph, args.generator.chunks.first())?;
            let plans = plan_graph(args, path, &culled.graph)?;
            let source = culled.source(path, &[culled.keys.len() as u64]);
            Ok((plans, source, Some(culled)))
        }
    }
}

/// A graph culled to its first outputs ([`graphprof::graph::cull`]): what a count of `--chunks`
/// runs with a graph file or a collection.
pub struct Culled {
    /// The culled graph.
    pub graph: Graph,
    /// The outputs kept, in order: what the real-Dask driver runs of the user's collection.
    pub keys: Vec<Key>,
    /// The outputs of the whole graph.
    pub available: u64,
}

impl Culled {
    /// `pipeline.py:result, first 12/24/48 of 48 outputs`.
    pub fn source(&self, path: &Path, counts: &[u64]) -> String {
        format!(
            "{}, first {} of {} outputs",
            path.display(),
            counts
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            self.available
        )
    }
}

/// `graph` culled to its first `n` outputs, or one line naming `--chunks` and the outputs there are.
pub(super) fn cull(path: &Path, graph: &Graph, n: u64) -> Result<Culled> {
    let available = graphprof::graph::cull::outputs(graph).len() as u64;
    let refused = || {
        anyhow!(
            "--chunks {n}: {} has {available} output{} (tasks nothing depends on); give counts \
             from 1 to {available}",
            path.display(),
            if available == 1 { "" } else { "s" }
        )
    };
    if n == 0 || n > available {
        return Err(refused());
    }
    let culled = cull_to_outputs(graph, n).map_err(|error| match error {
        CullError::Build(error) => anyhow!("{}: {error}", path.display()),
        CullError::Zero { .. } | CullError::TooMany { .. } => refused(),
    })?;
    Ok(Culled {
        graph: culled,
        keys: graphprof::graph::cull::output_keys(graph, n as usize),
        available,
    })
}

/// The graph of a file or a collection (exported with the user's Python), after the checks
/// that need no graph.
pub(super) fn load_for_sample(args: &SampleArgs, path: &Path) -> Result<Graph> {
    let collection = super::sample_dask::collection_target(path).is_some();
    if collection && args.strategy.contains(&SampleStrategy::Inline) {
        bail!(
            "{}: a collection runs as-given, scatter or delayed (inline is the seed \
             case's name for its graph as generated)",
            path.display()
        );
    }
    super::sample_dask::load_target(args, path)
}

/// The runs of a graph file or a collection: the graph as given or rewritten per strategy.
pub(super) fn plan_graph(args: &SampleArgs, path: &Path, graph: &Graph) -> Result<Vec<PlannedRun>> {
    {
        {
            // Real Dask compares the graph as given with both fixes unless told otherwise.
            let chosen: Vec<SampleStrategy> = match (args.strategy.is_empty(), args.engine) {
                (true, EngineChoice::Builtin) => vec![SampleStrategy::AsGiven],
                (true, _) => vec![
                    SampleStrategy::AsGiven,
                    SampleStrategy::Scatter,
                    SampleStrategy::Delayed,
                ],
                (false, _) => args.strategy.clone(),
            };
            let mut plans = Vec::new();
            for choice in chosen {
                let Some(strategy) = choice.rewrite() else {
                    plans.push(PlannedRun {
                        label: "as-given".to_string(),
                        strategy: None,
                        graph: graph.clone(),
                    });
                    continue;
                };
                let rewritten = rewrite(graph, strategy)
                    .map_err(|error| anyhow!("{}: {error}", path.display()))?;
                plans.push(PlannedRun {
                    label: strategy.to_string(),
                    strategy: Some(strategy),
                    graph: rewritten,
                });
            }
            super::sample_dask::number_repeats(&mut plans);
            Ok(plans)
        }
    }
}

/// The analysis a run's predictions come from.
pub fn predictions(graph: &Graph, source: &str, workers: u32) -> Analysis {
    let options = AnalyzeOptions {
        workers,
        ..AnalyzeOptions::default()
    };
    analyze(graph, source, &options)
}

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
    let title = args.command.join(" ");
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

/// Writes the files and the exports, prints the table and where the files are (on stderr when
/// an export goes to stdout), and picks the exit code.
pub(super) fn finish(
    args: &SampleArgs,
    folder: &SampleFolder,
    parameters: SampleParameters,
    runs: Vec<(RunReport, Series)>,
    title: &str,
    interrupted: bool,
    sweep: Option<graphprof::report::sweep::SweepReport>,
) -> Result<i32> {
    if interrupted && runs.is_empty() {
        eprintln!(
            "graphprof: interrupted (Ctrl-C or SIGTERM) before anything was sampled; nothing written"
        );
    } else if interrupted {
        eprintln!(
            "graphprof: interrupted (Ctrl-C or SIGTERM): writing what was sampled; later runs did not start"
        );
    }
    if runs.is_empty() {
        return Ok(if interrupted {
            EXIT_INTERRUPTED
        } else {
            EXIT_OK
        });
    }
    let (mut reports, series): (Vec<RunReport>, Vec<Series>) = runs.into_iter().unzip();
    for run in &mut reports {
        if let Some(chunks) = run.chunks.or(parameters.chunks).filter(|&c| c > 0) {
            run.held_per_chunk_bytes = run.held_growth_bytes().map(|held| held / chunks);
        }
    }
    let report = SampleReport {
        schema: SAMPLE_SCHEMA.to_string(),
        version: SAMPLE_VERSION,
        parameters,
        interrupted,
        runs: reports,
        sweep,
    };
    let written = write_sample_files(&folder.path, &report, &series, title)?;
    let _ = std::fs::remove_file(folder.path.join(LIVE_SAMPLES));
    folder.finish(&written)?;
    let all_complete = report.runs.iter().all(|run| run.complete);
    let text = format!(
        "{}\n{}{}{}{}Memory is above each run's baseline{}.\nWrote {}\n",
        table(&report).to_text(0),
        sparse_note(&report),
        slopes(&report),
        report
            .sweep
            .as_ref()
            .map_or(String::new(), graphprof::report::sweep::sweep_text),
        super::sample_dask::notes(&report),
        if report
            .runs
            .iter()
            .any(|run| graphprof::report::sweep::strategy_label(&run.label).ends_with("scatter"))
        {
            "; (xN) is relative to the scatter run"
        } else {
            ""
        },
        written
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let exports: Vec<(&dyn Exporter, &Path)> = [
        (&JsonExporter as &dyn Exporter, &args.export_json),
        (&CsvExporter, &args.export_csv),
        (&MarkdownExporter, &args.export_markdown),
    ]
    .into_iter()
    .filter_map(|(exporter, path)| Some((exporter, path.as_deref()?)))
    .collect();
    write_exports(&report, &exports)?;
    if super::progress::quiet() {
        // --quiet: the table is silenced; files and exports are still written.
    } else if exports.iter().any(|(_, path)| *path == Path::new("-")) {
        eprint!("{text}");
    } else {
        graphprof::output::write_to(&graphprof::output::Destination::Stdout, |out| {
            out.write_all(text.as_bytes())
        })?;
    }
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if all_complete {
        EXIT_OK
    } else {
        EXIT_FAILED_CHECK
    })
}
