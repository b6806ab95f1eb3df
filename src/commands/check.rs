//! `graphprof check`: reads the budget and the baseline (every problem is an error before anything
//! is written), measures each graph (and samples it with `--sample`), compares, writes the reports,
//! and with `--update-baseline` replaces the baseline atomically. Exit 0 within budget, 1 a budget
//! or regression failed, 2 an error.

use crate::cli::CheckArgs;
use anyhow::{Context, anyhow, bail};
use graphprof::check::sample::sample_strategies;
use graphprof::check::{
    Baseline, Budget, CheckReport, MemoryProbe, MemorySample, ScriptedProbe, compare_graph,
    measure, normalise_path, read_baseline, read_budget,
};
use graphprof::error::{EXIT_FAILED_CHECK, EXIT_OK};
use graphprof::graph::{Strategy, load_graph};
use graphprof::output::{Destination, write_file_atomically, write_to};
use graphprof::report::{check_markdown, check_text, html, junit};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Environment variable naming a JSON file of scripted samples (`{"inline": [{"peak_bytes": ..,
/// "held_bytes": .., "after_release_bytes": ..}, ..]}`): a deterministic probe for the integration
/// tests. It is never a default.
const SCRIPTED_PROBE_VARIABLE: &str = "GRAPHPROF_SCRIPTED_PROBE";

/// The memory probe `--sample` uses. The sampling engine plugs in here.
fn memory_probe() -> anyhow::Result<Box<dyn MemoryProbe>> {
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
    bail!(
        "--sample: no memory sampler is wired into this build of graphprof yet; \
         run `graphprof check` without --sample to compare the exact figures"
    )
}

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let budget = match &args.budget {
        Some(path) => read_budget(path, &cwd)?,
        None => Budget::none(),
    };
    let old_baseline = if args.update_baseline && !args.baseline.exists() {
        None
    } else {
        Some(read_baseline(&args.baseline)?)
    };
    if !args.update_baseline
        && let Some(baseline) = &old_baseline
    {
        for entry in &baseline.graphs {
            if !Path::new(&entry.path).is_file() {
                bail!(
                    "{}: names graph {} which does not exist; remove it or run \
                     `graphprof check --update-baseline`",
                    args.baseline.display(),
                    entry.path
                );
            }
        }
    }
    let graphs: Vec<PathBuf> = if args.graphs.is_empty() {
        old_baseline
            .iter()
            .flat_map(|b| b.graphs.iter().map(|g| PathBuf::from(&g.path)))
            .collect()
    } else {
        args.graphs.clone()
    };
    if graphs.is_empty() {
        bail!("no graphs to check: give graph files, or a baseline that lists some");
    }
    let probe = if args.sample {
        Some(memory_probe()?)
    } else {
        None
    };
    let strategies = if args.strategies.is_empty() {
        Strategy::ALL.to_vec()
    } else {
        args.strategies.clone()
    };
    let mut measured = Vec::new();
    for path in &graphs {
        let name = normalise_path(path, &cwd);
        let graph = load_graph(path)?;
        let mut figures = measure(&graph, &name);
        if let Some(probe) = &probe {
            figures.sampled = sample_strategies(probe.as_ref(), &graph, &strategies, args.repeat)
                .map_err(|error| anyhow!("{name}: sampling failed: {error:#}"))?;
        }
        measured.push(figures);
    }
    let checks = measured
        .iter()
        .map(|now| {
            let baseline = old_baseline.as_ref().and_then(|b| b.graph(&now.path));
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
    write_to(&Destination::Stdout, |out| {
        out.write_all(check_text::text(&report).as_bytes())
    })?;
    if args.update_baseline {
        let graphs = measured
            .into_iter()
            .map(|mut now| {
                if now.sampled.is_empty()
                    && let Some(old) = old_baseline.as_ref().and_then(|b| b.graph(&now.path))
                {
                    now.sampled = old.sampled.clone();
                }
                now
            })
            .collect();
        let json = Baseline::new(graphs).to_json();
        write_file_atomically(&args.baseline, |out| out.write_all(json.as_bytes()))?;
        eprintln!("graphprof: baseline written to {}", args.baseline.display());
        return Ok(EXIT_OK);
    }
    Ok(if report.passed {
        EXIT_OK
    } else {
        EXIT_FAILED_CHECK
    })
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
    for (path, render) in outputs {
        if let Some(path) = path {
            let text = render(report);
            write_to(&Destination::from_arg(Some(path)), |out| {
                out.write_all(text.as_bytes())
            })?;
        }
    }
    Ok(())
}
