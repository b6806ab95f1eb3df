//! Pure functions from a [`Graph`] to an [`Analysis`]: sizes (wire and materialised, per layer,
//! function and task), duplicated payloads found by content, the graph's structure, whether Dask's
//! large-graph warning would fire, and what the scatter and delayed strategies would save. Nothing
//! here prints; `report` renders an `Analysis`.

pub mod duplication;
pub mod held_layers;
pub mod layers;
pub mod predict;
pub mod sizes;
pub mod structure;
pub mod verdict;

use crate::graph::Graph;
use crate::graph::held::Retention;
use serde::{Deserialize, Serialize};

pub use duplication::DuplicatedPayload;
pub use held_layers::HeldLayer;
pub use predict::StrategyPrediction;
pub use sizes::{GroupSize, Sizes, TaskSize};
pub use structure::Structure;
pub use verdict::{Blame, BlameKind, WarningVerdict};

/// Value of the `schema` field of an analysis report.
pub const ANALYSIS_SCHEMA: &str = "graphprof-analysis";
/// Version of the analysis report schema.
pub const ANALYSIS_VERSION: u32 = 2;
/// Dask's default `distributed.admin.large-graph-warning-threshold`: "10MB", i.e. 10**7 bytes.
pub const DASK_WARNING_THRESHOLD_BYTES: u64 = 10_000_000;

/// What an analysis looks at, beyond the graph.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnalyzeOptions {
    /// The large-graph warning threshold the prediction uses.
    pub warning_threshold_bytes: u64,
    /// Workers assumed for the strategy predictions (scatter broadcasts one copy to each).
    pub workers: u32,
    /// How many rows the largest-task and group tables keep.
    pub top: usize,
    /// How many example keys a duplicated payload lists.
    pub examples: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            warning_threshold_bytes: DASK_WARNING_THRESHOLD_BYTES,
            workers: 4,
            top: 10,
            examples: 3,
        }
    }
}

/// Identity and counts of the analysed graph.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GraphSummary {
    /// The graph's name from its file or generator.
    pub name: Option<String>,
    /// Where the graph came from: a path, or `generated:...`.
    pub source: String,
    /// Number of tasks.
    pub tasks: u64,
    /// Number of shared data objects (scattered data).
    pub data_objects: u64,
    /// Number of dependency edges.
    pub edges: u64,
    /// Number of distinct payload contents.
    pub distinct_payloads: u64,
    /// Number of distinct functions.
    pub functions: u64,
    /// Number of layers.
    pub layers: u64,
}

/// The whole analysis of one graph; the JSON report of `graphprof analyze`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    /// Always `graphprof-analysis`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// The options the analysis ran with.
    pub options: AnalyzeOptions,
    /// Identity and counts.
    pub graph: GraphSummary,
    /// Totals: wire, materialised, results, data.
    pub sizes: Sizes,
    /// Per layer (Dask's key prefix), largest materialised first.
    pub layers: Vec<GroupSize>,
    /// Per function, largest materialised first.
    pub functions: Vec<GroupSize>,
    /// The tasks with the most materialised bytes.
    pub largest_tasks: Vec<TaskSize>,
    /// Payloads embedded more than once, most wasted bytes first.
    pub duplicates: Vec<DuplicatedPayload>,
    /// Sum of `wasted_bytes` over the `duplicates` that are one object copied into several tasks.
    pub duplicated_bytes: u64,
    /// Materialised bytes divided by what they would be with one copy of each payload.
    pub duplication_ratio: f64,
    /// Whether Dask's large-graph warning would fire, and whom to blame.
    pub warning: WarningVerdict,
    /// Everything worth acting on, most costly first, each with its fix.
    pub findings: Vec<Blame>,
    /// What the held figures assume a payload copy holds: `in-memory` (measured by the exporter
    /// for every content), `pickle` (unknown: the pickled size stands in), or `mixed`.
    pub payload_memory_basis: String,
    /// The graph as given, scattered, and delayed: wire, held and peak bytes.
    pub strategies: Vec<StrategyPrediction>,
    /// Held memory per layer as given: tasks in memory and their results, released tasks kept
    /// with their run_specs (biggest first, at most `top`).
    pub held_layers: Vec<HeldLayer>,
    /// Shape of the dependency graph.
    pub structure: Structure,
}

/// Analyses a graph. `source` names where it came from in the report.
///
/// The passes run on two cores: those that need nothing from the others (the structure, the
/// retention model) on a second thread while this one names every task's layer and finds the
/// duplicates, the sizes (totals, per layer and per function in one walk) and the findings;
/// then the held layers and the largest tasks there while the strategies are predicted here.
/// Each pass is a pure function of its inputs, so the report is the same as when they ran one
/// after another. A panic in a pass would be a bug, not bad input: running the passes again on
/// this thread re-raises it with its own message.
pub fn analyze(graph: &Graph, source: &str, options: &AnalyzeOptions) -> Analysis {
    let (layers, found, (structure, retained)) = std::thread::scope(|scope| {
        let independent = scope.spawn(|| independent_passes(graph, options));
        let layers = layers::LayerIndex::new(graph);
        let found = sizes_and_findings(graph, &layers, options);
        let independent = independent
            .join()
            .unwrap_or_else(|_| independent_passes(graph, options));
        (layers, found, independent)
    });
    let (strategies, (held_layers, largest_tasks)) = std::thread::scope(|scope| {
        let per_layer = scope.spawn(|| per_layer_passes(graph, &layers, &retained, options));
        let strategies = predict::strategies(
            graph,
            &retained,
            &found.sizes,
            &found.duplicates,
            options.workers,
        );
        let per_layer = per_layer
            .join()
            .unwrap_or_else(|_| per_layer_passes(graph, &layers, &retained, options));
        (strategies, per_layer)
    });
    Analysis {
        schema: ANALYSIS_SCHEMA.to_string(),
        version: ANALYSIS_VERSION,
        options: options.clone(),
        graph: GraphSummary {
            name: graph.name.clone(),
            source: source.to_string(),
            tasks: graph.task_count() as u64,
            data_objects: (graph.node_count() - graph.task_count()) as u64,
            edges: structure.edges,
            distinct_payloads: graph.contents.len() as u64,
            functions: graph.functions.len() as u64,
            layers: found.layer_sizes.len() as u64,
        },
        sizes: found.sizes,
        layers: truncate(found.layer_sizes, options.top),
        functions: truncate(found.function_sizes, options.top),
        largest_tasks,
        duplicates: found.duplicates,
        duplicated_bytes: found.duplicated_bytes,
        duplication_ratio: found.duplication_ratio,
        warning: found.warning,
        findings: found.findings,
        payload_memory_basis: payload_memory_basis(graph).to_string(),
        strategies,
        held_layers: truncate(held_layers, options.top),
        structure,
    }
}

/// The passes that need nothing from the others: the structure and the retention model
/// (placement, what is kept, what is freed late).
fn independent_passes(graph: &Graph, options: &AnalyzeOptions) -> (Structure, Retention) {
    (
        structure::structure(graph),
        crate::graph::held::retention(graph, options.workers),
    )
}

/// The passes after the layers and the retention model: held memory per layer, largest tasks.
fn per_layer_passes(
    graph: &Graph,
    layers: &layers::LayerIndex,
    retained: &Retention,
    options: &AnalyzeOptions,
) -> (Vec<HeldLayer>, Vec<TaskSize>) {
    (
        held_layers::held_by_layer(graph, layers, &retained.kept),
        sizes::largest_tasks(graph, layers, options.top),
    )
}

/// The duplicates, the totals, the per-layer and per-function sizes, the findings and the warning
/// verdict.
struct Found {
    duplicates: Vec<DuplicatedPayload>,
    duplicated_bytes: u64,
    duplication_ratio: f64,
    sizes: Sizes,
    layer_sizes: Vec<GroupSize>,
    function_sizes: Vec<GroupSize>,
    findings: Vec<Blame>,
    warning: WarningVerdict,
}

fn sizes_and_findings(
    graph: &Graph,
    layers: &layers::LayerIndex,
    options: &AnalyzeOptions,
) -> Found {
    let duplicates = duplication::find_duplicates(graph, layers, options.examples);
    let duplicated_bytes = duplicates
        .iter()
        .filter(|d| d.is_copied())
        .map(|d| d.wasted_bytes)
        .sum::<u64>();
    let (sizes, layer_sizes, function_sizes) = sizes::totals_and_groups(graph, layers, &duplicates);
    let unique_bytes = sizes.materialised_bytes.saturating_sub(duplicated_bytes);
    let duplication_ratio = if unique_bytes == 0 {
        1.0
    } else {
        sizes.materialised_bytes as f64 / unique_bytes as f64
    };
    let findings = verdict::findings(
        graph,
        layers,
        &duplicates,
        &sizes,
        options.warning_threshold_bytes,
    );
    let warning = verdict::warning(&sizes, &findings, options.warning_threshold_bytes);
    Found {
        duplicates,
        duplicated_bytes,
        duplication_ratio,
        sizes,
        layer_sizes,
        function_sizes,
        findings,
        warning,
    }
}

/// `in-memory`, `pickle` or `mixed`: see [`Analysis::payload_memory_basis`].
fn payload_memory_basis(graph: &Graph) -> &'static str {
    let known = graph
        .contents
        .iter()
        .filter(|c| c.in_memory_known())
        .count();
    match known {
        0 => "pickle",
        n if n == graph.contents.len() => "in-memory",
        _ => "mixed",
    }
}

fn truncate<T>(mut rows: Vec<T>, top: usize) -> Vec<T> {
    rows.truncate(top.max(1));
    rows
}
