//! `graphprof sample --engine dask`: the seed case, the user's own collection
//! (`SCRIPT.py:VARIABLE`: as given, then rewritten on the real graph objects) or a graph file
//! replayed with synthetic objects, on a real Dask cluster through the embedded Python driver,
//! turned into the same run reports as the built-in engine, with `analyze`'s predictions beside
//! the measured figures. The graph files replayed, the chosen outputs and the embedded package
//! live in one private scratch folder (0700, files 0600), removed with the driver's process
//! group even when graphprof is killed.

use super::progress::{ProgressLines, quiet, task_bar};
use super::sample_plan::{Culled, PlannedRun, collection_target, output_count, predictions};
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::{Context, Result, bail};
use graphprof::analyze::Analysis;
use graphprof::dask::child::Scratch;
use graphprof::dask::{
    DaskLabelOutcome, DaskSampleOptions, DriverEvent, resolve_python, run_driver_cancellable,
};
use graphprof::graph::raw::RawArg;
use graphprof::graph::write::{graph_to_raw, raw_payload, write_graph};
use graphprof::report::sample_layers::{
    LayerFigures, LayerHeld, PredictedLayer, WorkerLayer, merge_held_layers,
};
use graphprof::report::sample_report::{
    Comparison, CulledRun, RealDaskRun, RunReport, SampleReport,
};
use graphprof::sample::Series;
use graphprof::units::Bytes;
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Below this interval the notes say what gaps the driver's sampler really achieved.
const FAST_INTERVAL_MS: f64 = 10.0;

/// What the Dask runs gave: one report and series per label, whether the run was interrupted,
/// and the smallest `memory_limit` of the cluster's workers (the "how many chunks fit" budget
/// when --worker-memory is not given).
pub struct DaskRuns {
    /// One report and series per label that ran.
    pub runs: Vec<(RunReport, Series)>,
    /// Ctrl-C or SIGTERM stopped the run.
    pub interrupted: bool,
    /// The smallest `memory_limit` of the workers, in bytes, when every worker has one.
    pub worker_memory_limit: Option<u64>,
}

/// The smallest of the workers' `memory_limit`s; `None` when a worker has none (or none said).
pub fn cluster_memory_limit(workers: &[graphprof::dask::DaskWorker]) -> Option<u64> {
    let limits: Option<Vec<u64>> = workers.iter().map(|w| w.memory_limit).collect();
    limits?.into_iter().min()
}

/// Runs every planned label on real Dask; returns one report and series per label.
///
/// With `culled` (a count of `--chunks` with a collection), the driver runs the user's collection
/// culled to the same output keys; a label that ran other outputs is an error.
pub fn run_all(
    args: &SampleArgs,
    plans: &[PlannedRun],
    culled: Option<&Culled>,
    cancel: &AtomicBool,
    live: &Path,
) -> Result<DaskRuns> {
    let mut options = DaskSampleOptions {
        python: resolve_python(args.python.python.as_deref()),
        strategies: plans.iter().filter_map(|plan| plan.strategy).collect(),
        chunks: args.generator.chunks.first(),
        payload_bytes: args.generator.payload_bytes,
        workers: args.workers,
        interval: args.interval,
        scheduler: args.scheduler.clone(),
        timeout: args.timeout,
        hold: args.hold,
        run_timeout: None,
        sink: Some(live.to_path_buf()),
        interrupt: None,
        labels: Vec::new(),
        collection: None,
        replays: Vec::new(),
        outputs: None,
        restart_workers: args.restart_workers,
    };
    // The graph files replayed, the chosen outputs and the package live until the driver is done.
    let scratch = Scratch::new()?;
    let replay = match args.graph.as_deref() {
        None => false,
        Some(path) => {
            options.labels = plans.iter().map(|plan| plan.label.clone()).collect();
            if let Some(target) = collection_target(path) {
                options.collection = Some(target.into());
                if let Some(culled) = culled {
                    let keys = serde_json::to_vec(&culled.keys)?;
                    let file = write_private(&scratch, "outputs.json", |out| {
                        Ok(std::io::Write::write_all(out, &keys)?)
                    })?;
                    options.outputs = Some(file);
                }
                false
            } else {
                for (i, plan) in plans.iter().enumerate() {
                    let graph = &plan.graph;
                    let file = write_private(&scratch, &format!("run-{i}.json"), |out| {
                        let raw = graph_to_raw(graph, Vec::new(), Vec::new(), |payload| {
                            RawArg::Payload(raw_payload(
                                &graph.contents[payload.content as usize],
                                payload.object_id(),
                                payload.sent,
                            ))
                        });
                        write_graph(raw, out)?;
                        Ok(())
                    })?;
                    options.replays.push(file);
                }
                true
            }
        }
    };
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    let mut lines = (args.progress_lines && !quiet()).then(|| ProgressLines::new(plans.len()));
    let run = run_driver_cancellable(&options, &scratch, cancel, &mut |event| {
        if let Some(line) = lines.as_mut().and_then(|lines| lines.line(event)) {
            eprintln!("graphprof: {line}");
            return;
        }
        if lines.is_some() {
            return;
        }
        if let DriverEvent::Progress { label, done, total } = event {
            bars.entry(label.clone())
                .or_insert_with(|| task_bar(&format!("dask/{label}"), *total))
                .set_position(*done);
        }
    })?;
    drop(scratch);
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
    if let Some(culled) = culled.filter(|_| options.outputs.is_some()) {
        check_subsets(&run.labels, culled, plans)?;
    }
    let mut runs = Vec::new();
    for outcome in &run.labels {
        let Some(series) = run.series.iter().find(|s| s.label == outcome.label) else {
            continue;
        };
        let mut series = series.clone();
        series.label = format!("{prefix}{}", outcome.label);
        series.complete = outcome.complete;
        let plan = plans.iter().find(|plan| plan.label == outcome.label);
        let model = plan.map(|plan| predictions(&plan.graph, &plan.label, args.workers));
        if let Some(error) = &outcome.error {
            eprintln!(
                "graphprof: {}",
                graphprof::escape::control(&format!("{}: {error}", series.label))
            );
        }
        let mut report = RunReport {
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
            real_dask: Some(real_dask(outcome, replay, model.as_ref())),
            ..RunReport::from_series("dask", &series)
        };
        // The held figure `analyze` prints for the run's strategy on the graph as given (one
        // figure per quantity): the rewritten graph's own as-given figure would leave out what
        // the fix changes beside the copies (the allocator's share of an item-by-item transfer,
        // the fetched object's copy). The seed case: the graph that ran, as generated.
        let predicted_held = plan
            .and_then(|plan| plan.analyzed_held)
            .map(|held| (held.held_bytes, held.lower_bound))
            .or_else(|| {
                model
                    .as_ref()
                    .and_then(|m| m.strategies.first())
                    .map(|prediction| (prediction.held_bytes, !prediction.held_unknown.is_empty()))
            });
        report.held_vs_model = predicted_held
            .zip(report.held_growth_bytes())
            .filter(|_| outcome.complete)
            .map(|((predicted, lower_bound), measured)| {
                if lower_bound {
                    Comparison::at_least(predicted, measured)
                } else {
                    Comparison::new(predicted, measured)
                }
            });
        if args.graph.is_some()
            && let Some(outputs) = plan
                .map(|plan| output_count(&plan.graph))
                .filter(|&n| n > 0)
        {
            report.held_per_chunk_bytes = report.held_growth_bytes().map(|held| held / outputs);
            report.chunks = Some(outputs);
        }
        runs.push((report, series));
    }
    Ok(DaskRuns {
        runs,
        interrupted: run.interrupted,
        worker_memory_limit: cluster_memory_limit(&run.workers),
    })
}

/// Writes `name` in the scratch folder (0600 whatever the umask) with `write`; returns its path.
fn write_private(
    scratch: &Scratch,
    name: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<std::path::PathBuf> {
    let (path, file) = scratch
        .create_file(name)
        .with_context(|| format!("{}: cannot write", scratch.path().join(name).display()))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out)
        .and_then(|()| Ok(std::io::Write::flush(&mut out)?))
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// Every label that ran of a culled collection ran exactly the outputs chosen, and the graph as
/// given the tasks of the culled export.
fn check_subsets(labels: &[DaskLabelOutcome], culled: &Culled, plans: &[PlannedRun]) -> Result<()> {
    let asked = culled.keys.len() as u64;
    for outcome in labels.iter().filter(|outcome| outcome.order.is_some()) {
        let Some(subset) = &outcome.subset else {
            if outcome.complete {
                bail!(
                    "{}: the Dask driver did not say which outputs of the collection it ran \
                     ({asked} chosen)",
                    outcome.label
                );
            }
            continue;
        };
        if subset.outputs != asked || subset.of != culled.available {
            bail!(
                "{}: the Dask driver ran {} of the collection's {} outputs; graphprof chose the \
                 first {asked} of {}",
                outcome.label,
                subset.outputs,
                subset.of,
                culled.available
            );
        }
        let given = plans
            .iter()
            .find(|plan| plan.label == outcome.label && plan.strategy.is_none());
        if let Some(plan) = given
            && plan.graph.task_count() as u64 != subset.tasks
        {
            bail!(
                "{}: the Dask driver ran {} tasks for the first {asked} outputs; the exported \
                 graph culled to them has {}",
                outcome.label,
                subset.tasks,
                plan.graph.task_count()
            );
        }
    }
    Ok(())
}

/// The layers the workers held (summed and per worker) beside `model`'s `held_layers`; empty
/// when the driver's probe gave nothing.
fn held_layers(outcome: &DaskLabelOutcome, model: Option<&Analysis>) -> Vec<LayerHeld> {
    if outcome.held_layers.is_empty() {
        return Vec::new();
    }
    let measured = outcome
        .held_layers
        .iter()
        .flat_map(|worker| {
            worker.layers.iter().map(|layer| {
                let on_worker = WorkerLayer {
                    worker: worker.worker,
                    address: worker.address.clone(),
                    measured: LayerFigures {
                        tasks_in_memory: layer.tasks_in_memory,
                        results_bytes: layer.results_bytes,
                        released_kept: layer.released_kept,
                        run_spec_bytes: layer.run_spec_bytes,
                        estimated: layer.estimated,
                        fetched: layer.fetched,
                        fetched_bytes: layer.fetched_bytes,
                    },
                };
                (layer.layer.clone(), on_worker)
            })
        })
        .collect();
    let predicted: Vec<(String, PredictedLayer)> = model
        .map(|m| m.held_layers.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|layer| {
            let prediction = PredictedLayer {
                tasks_in_memory: layer.tasks_in_memory,
                results_bytes: layer.results_bytes,
                unknown_results: layer.unknown_results,
                released_kept: layer.released_kept,
                run_spec_bytes: layer.run_spec_bytes,
            };
            (layer.layer.clone(), prediction)
        })
        .collect();
    merge_held_layers(measured, &predicted)
}

fn real_dask(outcome: &DaskLabelOutcome, replay: bool, model: Option<&Analysis>) -> RealDaskRun {
    RealDaskRun {
        held_layers: held_layers(outcome, model),
        layers_probe_s: outcome.layers_probe_s,
        order: outcome.order,
        fresh_workers: outcome.fresh_workers,
        replay,
        replay_sized_from: outcome.replay_sized_from.clone().unwrap_or_default(),
        results_compared: outcome.results.as_ref().map(|r| r.compared),
        results_equal: outcome.results.as_ref().map(|r| r.equal),
        results_reference: outcome.results.as_ref().and_then(|r| r.reference.clone()),
        moved: outcome
            .moved
            .iter()
            .map(|m| {
                format!(
                    "{} {} embedded in {} tasks -> {}",
                    m.type_name,
                    Bytes(m.size_bytes),
                    m.tasks,
                    m.key
                )
            })
            .collect(),
        broadcast_holders: outcome
            .broadcast
            .as_ref()
            .map(|(h, _)| h.clone())
            .unwrap_or_default(),
        broadcast_workers: outcome.broadcast.as_ref().and_then(|(_, w)| *w),
        replicas_dropped: outcome.replicas_dropped,
        culled: outcome.subset.as_ref().map(|subset| CulledRun {
            outputs: subset.outputs,
            of: subset.of,
            tasks: subset.tasks,
            matched_by: subset.matched_by.clone(),
        }),
    }
}

/// Lines printed under the table: predictions beside the measures, results checks, fresh or
/// reused workers, broadcasts that did not reach every worker, replays.
pub fn notes(report: &SampleReport) -> String {
    let mut lines = Vec::new();
    for run in &report.runs {
        if let Some(held) = &run.held_vs_model {
            lines.push(if held.lower_bound {
                format!(
                    "  {:<18} held {} predicted >= {} (a lower bound: part of it cannot be \
                     known from the graph)",
                    run.label,
                    Bytes(held.measured_bytes),
                    Bytes(held.predicted_bytes)
                )
            } else {
                format!(
                    "  {:<18} held {} predicted {} ({:+.0}%)",
                    run.label,
                    Bytes(held.measured_bytes),
                    Bytes(held.predicted_bytes),
                    held.error_percent
                )
            });
        }
    }
    let mut text = if lines.is_empty() {
        String::new()
    } else {
        format!(
            "Held memory, measured and predicted by analyze:\n{}\n",
            lines.join("\n")
        )
    };
    text.push_str(&graphprof::report::sample_table::layers_text(report));
    for run in &report.runs {
        let Some(dask) = &run.real_dask else { continue };
        let mut facts = Vec::new();
        if let Some(order) = dask.order {
            facts.push(format!("run {order}"));
        }
        match dask.fresh_workers {
            Some(true) => facts.push("fresh workers".to_string()),
            Some(false) => facts.push("workers reused from the previous run".to_string()),
            None => {}
        }
        if dask.replay {
            facts.push(format!(
                "a replay of the graph file with synthetic objects sized by {}",
                if dask.replay_sized_from.is_empty() {
                    "-".to_string()
                } else {
                    dask.replay_sized_from.join(" and ")
                }
            ));
        }
        if let (Some(n), Some(equal)) = (dask.results_compared, dask.results_equal)
            && dask.results_reference.as_deref()
                != Some(graphprof::report::sweep::strategy_label(
                    run.label.trim_start_matches("dask/"),
                ))
        {
            facts.push(format!(
                "results {} the {}'s ({n} chunks compared)",
                if equal { "equal to" } else { "DIFFER from" },
                dask.results_reference.as_deref().unwrap_or("first run")
            ));
        }
        if let Some(culled) = &dask.culled {
            facts.push(format!(
                "ran the first {} of the collection's {} outputs ({} tasks)",
                culled.outputs, culled.of, culled.tasks
            ));
        }
        facts.extend(dask.moved.iter().map(|m| format!("moved {m}")));
        if let Some(workers) = dask.broadcast_workers {
            for holders in &dask.broadcast_holders {
                if *holders < workers {
                    facts.push(format!(
                        "broadcast reached {holders} of {workers} workers (the others fetch it on first use; distributed's Active Memory Manager, on by default, drops replicas no task waits for yet within ~2 s)"
                    ));
                }
            }
        }
        if let Some(dropped) = dask.replicas_dropped {
            facts.push(format!(
                "held level read after distributed's Active Memory Manager dropped {dropped} replica(s) no task waited for (one pass asked for at once; it makes one every 2 s)"
            ));
        }
        let overhead = &run.sampler_overhead;
        if report.parameters.interval_ms < FAST_INTERVAL_MS && overhead.samples_taken > 1 {
            facts.push(format!(
                "sampled every {} ms asked, gaps achieved p50 {:.1} / p99 {:.1} / max {:.1} ms; \
                 sampler CPU {:.3} s ({:.1}% of a core)",
                report.parameters.interval_ms,
                overhead.gap_p50_ms,
                overhead.gap_p99_ms,
                overhead.gap_max_ms,
                overhead.cpu_time_s,
                overhead.cpu_fraction * 100.0
            ));
        }
        if !facts.is_empty() {
            text.push_str(&format!("  {}: {}\n", run.label, facts.join("; ")));
        }
    }
    text
}
