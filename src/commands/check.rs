//! `graphprof check`: reads the budget and the baseline (every problem is an error before anything
//! is written), measures each graph (and samples it with `--sample`), compares, writes the reports,
//! and with `--update-baseline` replaces the baseline atomically. Exit 0 within budget, 1 a budget
//! or regression failed, 2 an error.

use crate::cli::CheckArgs;
use anyhow::{Context, anyhow, bail};
use graphprof::check::baseline::{clean, not_a_graph_file};
use graphprof::check::sample::sample_strategies;
use graphprof::check::{
    Baseline, Budget, CheckReport, MemoryProbe, MemorySample, ScriptedProbe, compare_graph,
    measure, normalise_path, read_baseline, read_budget,
};
use graphprof::engine::EngineOptions;
use graphprof::error::{EXIT_FAILED_CHECK, EXIT_OK};
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Strategy, load_graph};
use graphprof::output::{Destination, write_file_atomically, write_to};
use graphprof::report::{check_markdown, check_text, html, junit};
use graphprof::sample::builtin::{BuiltinSampling, sample_graph};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Environment variable naming a JSON file of scripted samples (`{"inline": [{"peak_bytes": ..,
/// "held_bytes": .., "after_release_bytes": ..}, ..]}`): a deterministic probe for the integration
/// tests. It is never a default.
const SCRIPTED_PROBE_VARIABLE: &str = "GRAPHPROF_SCRIPTED_PROBE";

/// Samples a graph on the built-in engine: the engine's managed bytes (every buffer it holds,
/// counted exactly by its ledger) at their peak, while the results are held and after release.
/// Process RSS is not used: it carries the allocator's retention from earlier runs and differs
/// between machines, while managed bytes are the same on every run of the same graph.
struct BuiltinProbe {
    sampling: BuiltinSampling,
}

impl MemoryProbe for BuiltinProbe {
    fn sample(&self, graph: &Graph, strategy: Strategy) -> anyhow::Result<MemorySample> {
        let graph = rewrite(graph, strategy)?;
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let run = sample_graph(
            strategy.name(),
            &graph,
            &self.sampling,
            &cancel,
            &mut |_, _| {},
        )?;
        if let Some(error) = run.outcome.error {
            bail!("--sample: the {strategy} run stopped: {error}");
        }
        Ok(MemorySample {
            peak_bytes: run.outcome.peak_managed_bytes,
            held_bytes: run.outcome.held_managed_bytes,
            after_release_bytes: run.outcome.after_release_managed_bytes,
        })
    }
}

/// The memory probe `--sample` uses: the built-in engine, or the scripted probe of the tests.
fn memory_probe(args: &CheckArgs) -> anyhow::Result<Box<dyn MemoryProbe>> {
    if let Some(path) = std::env::var_os(SCRIPTED_PROBE_VARIABLE) {
        let path = PathBuf::from(path);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let script: BTreeMap<Strategy, Vec<MemorySample>> = serde_json::from_str(&text)
            .map_err(|e| graphprof::error::InputError::from_json(&path, &e))?;
        let probe = script
            .into_iter()
            .fold(ScriptedProbe::default(), |probe, (strategy, samples)| {
                probe.with(strategy, samples)
            });
        return Ok(Box::new(probe));
    }
    Ok(Box::new(BuiltinProbe {
        sampling: BuiltinSampling {
            engine: EngineOptions {
                workers: args.workers,
                hold: args.hold,
                memory_limit_bytes: graphprof::sample::measure::default_memory_limit_bytes(),
                ..EngineOptions::default()
            },
            interval: args.interval,
            sink: None,
        },
    }))
}

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    check_outputs(&args)?;
    let budget = match &args.budget {
        Some(path) => read_budget(path, &cwd)?,
        None => Budget::none(),
    };
    let old_baseline = if args.update_baseline && !args.baseline.exists() {
        None
    } else {
        Some(read_baseline(&args.baseline)?)
    };
    let listed = old_baseline.iter().flat_map(|b| b.graphs.iter());
    // Listed graphs that are gone, or are no longer regular files (a FIFO, `/dev/zero`).
    let missing: Vec<(&str, String)> = listed
        .clone()
        .filter_map(|entry| {
            Some((
                entry.path.as_str(),
                not_a_graph_file(Path::new(&entry.path))?,
            ))
        })
        .collect();
    if let Some((first, reason)) = missing.first()
        && !args.update_baseline
    {
        let first = graphprof::escape::quote(first);
        bail!(
            "{baseline}: names graph {first}, which {reason}; remove its entry from the \
             baseline, or drop every missing graph with `graphprof check --baseline {baseline} \
             --update-baseline` (without graph arguments)",
            baseline = args.baseline.display(),
        );
    }
    let given: Vec<PathBuf> = if args.graphs.is_empty() {
        for (path, reason) in &missing {
            super::progress::note(&format!(
                "note: {} {reason}; it is dropped from {}",
                graphprof::escape::quote(path),
                args.baseline.display()
            ));
        }
        listed
            .map(|entry| PathBuf::from(&entry.path))
            .filter(|path| path.is_file())
            .collect()
    } else {
        args.graphs.clone()
    };
    // The same file given twice (`a.json ./a.json`) is checked once.
    let mut seen = BTreeSet::new();
    let graphs: Vec<(String, PathBuf)> = given
        .into_iter()
        .map(|path| (normalise_path(&path, &cwd), path))
        .filter(|(name, _)| seen.insert(name.clone()))
        .collect();
    if graphs.is_empty() {
        bail!("no graphs to check: give graph files, or a baseline that lists some");
    }
    let probe = if args.sample {
        Some(memory_probe(&args)?)
    } else {
        None
    };
    let strategies = if args.strategies.is_empty() {
        Strategy::ALL.to_vec()
    } else {
        args.strategies.clone()
    };
    let mut measured = Vec::new();
    for (name, path) in &graphs {
        let graph = load_graph(path)?;
        let mut figures = measure(&graph, name);
        if let Some(probe) = &probe {
            figures.sampled = sample_strategies(probe.as_ref(), &graph, &strategies, args.repeat)
                .map_err(|error| anyhow!("{name}: sampling failed: {error:#}"))?;
        }
        measured.push(figures);
    }
    let old_by_path = old_baseline
        .as_ref()
        .map(Baseline::by_path)
        .unwrap_or_default();
    let checks = measured
        .iter()
        .map(|now| {
            let baseline = old_by_path.get(now.path.as_str()).copied();
            compare_graph(now, baseline, &budget.limits_for(&now.path))
        })
        .collect();
    let report = CheckReport::new(
        &args.baseline.display().to_string(),
        args.budget
            .as_ref()
            .map(|b| b.display().to_string())
            .as_deref(),
        args.sample,
        checks,
    );
    write_reports(&args, &report)?;
    let report_on_stdout = [&args.markdown, &args.junit, &args.html, &args.json]
        .into_iter()
        .flatten()
        .any(|path| path == Path::new("-"));
    // A report written to stdout (`--json -`) is not followed by the terminal summary.
    if !report_on_stdout && !super::progress::quiet() {
        write_to(&Destination::Stdout, |out| {
            out.write_all(check_text::text(&report).as_bytes())
        })?;
    }
    if args.update_baseline {
        let graphs = measured
            .into_iter()
            .map(|mut now| {
                if now.sampled.is_empty()
                    && let Some(old) = old_by_path.get(now.path.as_str())
                {
                    now.sampled = old.sampled.clone();
                }
                now
            })
            .collect();
        let json = Baseline::new(graphs).to_json();
        write_file_atomically(&args.baseline, |out| out.write_all(json.as_bytes()))?;
        super::progress::note(&format!("baseline written to {}", args.baseline.display()));
        return Ok(EXIT_OK);
    }
    Ok(if report.passed {
        EXIT_OK
    } else {
        EXIT_FAILED_CHECK
    })
}

/// The report files of this run, each with the option that names it.
fn output_files(args: &CheckArgs) -> Vec<(&'static str, &Path)> {
    [
        ("--markdown", &args.markdown),
        ("--junit", &args.junit),
        ("--html", &args.html),
        ("--json", &args.json),
    ]
    .into_iter()
    .filter_map(|(option, path)| Some((option, path.as_deref()?)))
    .filter(|(_, path)| *path != Path::new("-"))
    .collect()
}

/// Checks every report file before anything is measured or written: its folder exists and a file
/// can be created in it, it is not a folder, and no two options name the same file. So one bad
/// path writes none of the reports.
fn check_outputs(args: &CheckArgs) -> anyhow::Result<()> {
    let mut seen: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for (option, path) in output_files(args) {
        if let Some(other) = seen.insert(clean(path), option) {
            bail!(
                "{}: {other} and {option} name the same file",
                path.display()
            );
        }
        if path.is_dir() {
            bail!("{}: {option} names a folder, not a file", path.display());
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !folder.is_dir() {
            bail!(
                "{}: cannot write {option}: the folder {} does not exist",
                path.display(),
                folder.display()
            );
        }
        tempfile::Builder::new()
            .prefix(".graphprof-")
            .tempfile_in(folder)
            .map_err(|error| {
                anyhow!(
                    "{}: cannot write {option}: cannot create a file in {}: {error}",
                    path.display(),
                    folder.display()
                )
            })?;
    }
    Ok(())
}

fn write_reports(args: &CheckArgs, report: &CheckReport) -> anyhow::Result<()> {
    type Render = fn(&CheckReport) -> String;
    let outputs: [(&Option<PathBuf>, Render); 4] = [
        (&args.markdown, check_markdown::markdown),
        (&args.junit, junit::junit),
        (&args.html, html::html),
        (&args.json, |report| {
            let mut json = serde_json::to_string_pretty(report).unwrap_or_else(|e| e.to_string());
            json.push('\n');
            json
        }),
    ];
    // Everything is rendered before the first file is written.
    let rendered: Vec<(&PathBuf, String)> = outputs
        .into_iter()
        .filter_map(|(path, render)| Some((path.as_ref()?, render(report))))
        .collect();
    for (path, text) in rendered {
        write_to(&Destination::from_arg(Some(path)), |out| {
            out.write_all(text.as_bytes())
        })?;
    }
    Ok(())
}
