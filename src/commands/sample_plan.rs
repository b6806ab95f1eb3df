//! What `graphprof sample` runs: the graphs per label (the seed case generated per strategy, or a
//! graph file or a user's collection as given and rewritten), culled to its first outputs for a
//! count of `--chunks`, and the analysis each run's predictions come from. The built-in engine,
//! real Dask and the sweep all run these plans.

use crate::cli::{EngineChoice, SampleArgs, SampleStrategy};
use anyhow::{Result, anyhow, bail};
use graphprof::analyze::{Analysis, AnalyzeOptions, analyze};
use graphprof::dask::child::Scratch;
use graphprof::dask::export::run_export_in;
use graphprof::dask::{ExportOptions, resolve_python};
use graphprof::graph::cull::{CullError, cull_to_outputs};
use graphprof::graph::generate::{GeneratorKind, generate_graph, kind_name};
use graphprof::graph::model::NodeKind;
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Key, Strategy, load_graph};
use std::collections::HashMap;
use std::path::Path;

/// One graph to run under one label.
pub struct PlannedRun {
    /// The label: the strategy, or `as-given`.
    pub label: String,
    /// The strategy, when the graph was generated or rewritten for one.
    pub strategy: Option<Strategy>,
    /// The graph.
    pub graph: Graph,
    /// The held figure `analyze` prints for this run's strategy on the graph as given (a graph
    /// file or a collection: one figure per quantity, whichever strategies are chosen); `None`
    /// for the seed case, whose runs are generated per strategy and predicted as generated.
    pub analyzed_held: Option<HeldPrediction>,
}

/// A held figure from `analyze`'s strategy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldPrediction {
    /// `held_bytes` of the strategy's row.
    pub held_bytes: u64,
    /// The row says part of it is unknown: the figure is a lower bound.
    pub lower_bound: bool,
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
                let options = super::generate::generate_options(
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
                    analyzed_held: None,
                });
            }
            number_repeats(&mut plans);
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
    let collection = collection_target(path).is_some();
    if collection && args.strategy.contains(&SampleStrategy::Inline) {
        bail!(
            "{}: a collection runs as-given, scatter or delayed (inline is the seed \
             case's name for its graph as generated)",
            path.display()
        );
    }
    load_target(args, path)
}

/// The runs of a graph file or a collection: the graph as given or rewritten per strategy.
pub(super) fn plan_graph(args: &SampleArgs, path: &Path, graph: &Graph) -> Result<Vec<PlannedRun>> {
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
    // Only real Dask runs are compared with it (the built-in engine holds what the
    // graph it runs holds): no analysis for a built-in run alone.
    let analysis = matches!(args.engine, EngineChoice::Dask | EngineChoice::Both)
        .then(|| predictions(graph, &path.display().to_string(), args.workers));
    let held = |name: &str| {
        analysis
            .as_ref()?
            .strategies
            .iter()
            .find(|row| row.strategy == name)
            .map(|row| HeldPrediction {
                held_bytes: row.held_bytes,
                lower_bound: !row.held_unknown.is_empty(),
            })
    };
    let mut plans = Vec::new();
    for choice in chosen {
        let Some(strategy) = choice.rewrite() else {
            plans.push(PlannedRun {
                label: "as-given".to_string(),
                strategy: None,
                graph: graph.clone(),
                analyzed_held: held("as-given"),
            });
            continue;
        };
        let rewritten =
            rewrite(graph, strategy).map_err(|error| anyhow!("{}: {error}", path.display()))?;
        plans.push(PlannedRun {
            label: strategy.to_string(),
            strategy: Some(strategy),
            graph: rewritten,
            analyzed_held: held(strategy.name()),
        });
    }
    number_repeats(&mut plans);
    Ok(plans)
}

/// `SCRIPT.py:VARIABLE` when `path` names a collection in a script rather than a graph file.
pub fn collection_target(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    let (script, variable) = text.rsplit_once(':')?;
    (script.ends_with(".py") && !variable.is_empty()).then_some(text)
}

/// The graph of what `sample` was given: a graph file, or a collection exported with the user's
/// Python (`dask export`), whose analysis gives the predictions and which the built-in engine runs.
/// The export goes in a private scratch folder, removed with the exporter's process group even
/// when graphprof is killed.
pub fn load_target(args: &SampleArgs, path: &Path) -> Result<Graph> {
    let Some(target) = collection_target(path) else {
        return Ok(load_graph(path)?);
    };
    let scratch = Scratch::new()?;
    let options = ExportOptions {
        python: resolve_python(args.python.python.as_deref()),
        target: target.into(),
        output: scratch.path().join("graph.json"),
        measure_wire: false,
        scheduler: None,
        connect_timeout: args.timeout,
        name: Some(target.to_string()),
        min_payload_bytes: None,
        run_outputs: true,
    };
    Ok(run_export_in(&options, &scratch)?.graph)
}

/// Numbers repeated labels: the second `scatter` becomes `scatter#2`, the third `scatter#3`.
pub fn number_repeats(plans: &mut [PlannedRun]) {
    let mut seen: HashMap<String, u32> = HashMap::new();
    for plan in plans {
        let n = seen.entry(plan.label.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            plan.label = format!("{}#{n}", plan.label);
        }
    }
}

/// Tasks nothing depends on: the chunks a graph's run holds.
pub(super) fn output_count(graph: &Graph) -> u64 {
    graph
        .node_ids()
        .filter(|&id| {
            matches!(graph.node(id).kind, NodeKind::Task { .. }) && graph.dependent_count(id) == 0
        })
        .count() as u64
}

/// The analysis a run's predictions come from.
pub fn predictions(graph: &Graph, source: &str, workers: u32) -> Analysis {
    let options = AnalyzeOptions {
        workers,
        ..AnalyzeOptions::default()
    };
    analyze(graph, source, &options)
}
