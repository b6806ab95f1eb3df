//! The report of `graphprof sample`: per labelled run, the samples, each measure's baseline, peak,
//! held level and level after release, the wall time, the wire and materialised bytes, and the
//! figures `analyze` predicted beside the measured ones with the error. Serialised as
//! `report.json` (schema `graphprof-sample`, version 1); [`super::sample_table`] renders the
//! terminal table.

use crate::sample::{Measure, Phase, PhaseMark, Sample, SamplerOverhead, Series};
use serde::{Deserialize, Serialize};

/// Value of the `schema` field of a sample report.
pub const SAMPLE_SCHEMA: &str = "graphprof-sample";
/// Version of the sample report schema.
pub const SAMPLE_VERSION: u32 = 1;

/// What a run was asked to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleParameters {
    /// `builtin`, `dask`, or `command`.
    pub engine: String,
    /// The graph: a path, `generated: ...`, or the command line.
    pub source: String,
    /// Chunks of the generated seed case, when generated.
    pub chunks: Option<u64>,
    /// Size of the shared object, when generated.
    pub payload_bytes: Option<u64>,
    /// Workers (threads of the built-in engine, processes of a Dask LocalCluster).
    pub workers: Option<u32>,
    /// Sampling interval in milliseconds.
    pub interval_ms: f64,
    /// How long results were held before release, in seconds.
    pub hold_s: Option<f64>,
    /// The memory limit that stops a run, in bytes.
    pub memory_limit_bytes: Option<u64>,
}

/// Baseline, peak, held and after-release levels of one measure (one worker or the whole run).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MeasureSummary {
    /// The measure.
    pub measure: Measure,
    /// The worker, or `None` for the whole run.
    pub worker: Option<u32>,
    /// Level before the run did anything.
    pub baseline_bytes: Option<u64>,
    /// Highest reading.
    pub peak_bytes: Option<u64>,
    /// Last reading while the results were held.
    pub held_bytes: Option<u64>,
    /// Last reading after the results were released.
    pub after_release_bytes: Option<u64>,
}

/// A predicted figure beside the measured one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    /// What `analyze` predicted.
    pub predicted_bytes: u64,
    /// What the run measured.
    pub measured_bytes: u64,
    /// `(measured - predicted) / predicted`, in percent.
    pub error_percent: f64,
    /// The prediction is a lower bound (`analyze` printed `>= X`: part of the figure cannot be
    /// known from the graph, a p2p shuffle's buffers); the error then says nothing.
    /// Absent in reports before 2026-12-06 (read as false).
    #[serde(default)]
    pub lower_bound: bool,
}

impl Comparison {
    /// Compares a measured figure with its prediction.
    pub fn new(predicted_bytes: u64, measured_bytes: u64) -> Self {
        let error_percent = if predicted_bytes == 0 {
            if measured_bytes == 0 { 0.0 } else { 100.0 }
        } else {
            (measured_bytes as f64 - predicted_bytes as f64) / predicted_bytes as f64 * 100.0
        };
        Comparison {
            predicted_bytes,
            measured_bytes,
            error_percent,
            lower_bound: false,
        }
    }

    /// Compares a measured figure with a prediction that is a lower bound.
    pub fn at_least(predicted_bytes: u64, measured_bytes: u64) -> Self {
        Comparison {
            lower_bound: true,
            ..Comparison::new(predicted_bytes, measured_bytes)
        }
    }
}

/// One labelled run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// The label: a strategy name, or the command's label.
    pub label: String,
    /// The engine that ran it: `builtin`, `dask` or `command`.
    pub engine: String,
    /// False when the run was cut short; `error` says why.
    pub complete: bool,
    /// Why the run stopped early, or how the command failed.
    pub error: Option<String>,
    /// Tasks in the graph that ran (0 for a command).
    pub tasks: u64,
    /// Wall time of the run, in seconds.
    pub wall_time_s: f64,
    /// Bytes the client sent, as the engine measured them.
    pub wire_bytes: Option<u64>,
    /// Materialised bytes of the graph that ran (from the analysis).
    pub materialised_bytes: Option<u64>,
    /// Whether distributed's large-graph warning fired (real Dask only).
    pub dask_warning_fired: Option<bool>,
    /// Wire bytes: analysis' model beside the engine's measure.
    pub wire_vs_model: Option<Comparison>,
    /// Held managed bytes above the baseline: analysis' prediction beside the measure.
    pub held_vs_model: Option<Comparison>,
    /// Held memory (the main measure, above the baseline) divided by the chunk count of the seed
    /// case: the slope that says how memory grows with the chunks, comparable across engines.
    #[serde(default)]
    pub held_per_chunk_bytes: Option<u64>,
    /// Chunks of the seed case this run had, in a sweep (`--chunks 256,1024`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u64>,
    /// Every measure's levels, whole run first, then per worker.
    pub measures: Vec<MeasureSummary>,
    /// Phase starts, seconds since the run's t=0.
    pub phases: Vec<PhaseMark>,
    /// What sampling cost.
    pub sampler_overhead: SamplerOverhead,
    /// Every reading, seconds since the run's t=0.
    pub samples: Vec<Sample>,
    /// What a real-Dask run did besides sampling (order, fresh workers, results check, rewrite,
    /// broadcast, replay); absent for other engines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_dask: Option<RealDaskRun>,
    /// False when the phases where the peak happens (compute and held; the whole run when it
    /// has no phases) have fewer than [`FEW_SAMPLES`] readings: the peak is then a lower
    /// bound, not a measure. Levels at phase boundaries (held, after release) are sampled at
    /// the boundary itself and stay measured.
    #[serde(default = "yes")]
    pub peak_measured: bool,
    /// The phases with fewer than [`FEW_SAMPLES`] readings.
    #[serde(default)]
    pub sparse_phases: Vec<Phase>,
}

fn yes() -> bool {
    true
}

/// Fewer readings than this in a phase and its peak is not measured.
pub const FEW_SAMPLES: usize = 5;

/// The phases of `series` with fewer than [`FEW_SAMPLES`] readings of its main measure, and
/// whether its peak is measured.
fn sparse_phases(series: &Series) -> (Vec<Phase>, bool) {
    let ticks: Vec<f64> = {
        let mut times: Vec<f64> = series.samples.iter().map(|s| s.time_s).collect();
        times.dedup();
        times
    };
    if series.phases.is_empty() {
        return (Vec::new(), ticks.len() >= FEW_SAMPLES);
    }
    let mut sparse = Vec::new();
    for (index, mark) in series.phases.iter().enumerate() {
        let next = series.phases.get(index + 1).map(|m| m.time_s);
        let count = ticks
            .iter()
            .filter(|&&t| t >= mark.time_s && next.is_none_or(|n| t < n))
            .count();
        if count < FEW_SAMPLES && !sparse.contains(&mark.phase) {
            sparse.push(mark.phase);
        }
    }
    let measured = !sparse
        .iter()
        .any(|phase| matches!(phase, Phase::Compute | Phase::Held));
    (sparse, measured)
}

/// The real-Dask facts of one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RealDaskRun {
    /// Place in the run order (1 first).
    pub order: Option<u32>,
    /// True when the run had fresh workers (new or restarted), false when it reused the previous
    /// run's workers (their allocators may keep heap freed by that run).
    pub fresh_workers: Option<bool>,
    /// True when this is a replay of a graph file with synthetic objects, not the user's code.
    pub replay: bool,
    /// For a replay: the sizes the synthetic objects took (`in_memory_bytes`, `size_bytes`).
    pub replay_sized_from: Vec<String>,
    /// Chunks whose results were compared exactly with the first run's.
    pub results_compared: Option<u32>,
    /// Whether every compared chunk was equal.
    pub results_equal: Option<bool>,
    /// The run the results were compared with.
    pub results_reference: Option<String>,
    /// What the rewrite moved, one line per object (`dict 117 KiB embedded in 64 tasks -> key`).
    pub moved: Vec<String>,
    /// Per scattered object, the workers that hold it after `broadcast=True`.
    pub broadcast_holders: Vec<u32>,
    /// Workers of the cluster when the broadcast was checked.
    pub broadcast_workers: Option<u32>,
    /// Replicas distributed's Active Memory Manager dropped (no task waited for them any more)
    /// in the one pass the driver asked of it once the results were in memory, before the held
    /// level was read; absent when none was dropped or the AMM does not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_dropped: Option<u64>,
    /// For a collection culled by `--chunks`: the outputs the driver persisted, of the
    /// collection's, and the tasks of the culled graph it sent (graphprof checks the outputs
    /// are the ones it chose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culled: Option<CulledRun>,
    /// Per layer, what the workers held once the results were held (measured on the workers,
    /// summed and per worker) beside `analyze`'s prediction for the graph that ran; empty when
    /// the probe did not run. Measured layers first, biggest first; then layers only predicted.
    #[serde(default)]
    pub held_layers: Vec<super::sample_layers::LayerHeld>,
    /// Wall seconds the per-layer probe took on the workers (seen from the driver).
    #[serde(default)]
    pub layers_probe_s: Option<f64>,
}

/// What the driver ran of a collection culled to the outputs graphprof chose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CulledRun {
    /// Outputs persisted.
    pub outputs: u64,
    /// Outputs of the whole collection.
    pub of: u64,
    /// Tasks of the culled graph sent.
    pub tasks: u64,
    /// How the driver found the chosen keys in its graph: `keys`, or `chunk index` (the
    /// collection's name differed from the exported one's).
    pub matched_by: String,
}
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleReport {
    /// Always `graphprof-sample`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// What was run, and how.
    pub parameters: SampleParameters,
    /// True when Ctrl-C or SIGTERM stopped the runs (later runs did not start); always present.
    #[serde(default)]
    pub interrupted: bool,
    /// One entry per label, in run order.
    pub runs: Vec<RunReport>,
    /// The fit of held memory against the chunk count, with a list of `--chunks`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<super::sweep::SweepReport>,
}

/// Levels of every measure in a series: the whole-run line first, then each worker.
pub fn summarize(series: &Series) -> Vec<MeasureSummary> {
    let mut rows = Vec::new();
    for measure in series.measures() {
        let mut workers: Vec<Option<u32>> = Vec::new();
        if !series.points(measure, None).is_empty() {
            workers.push(None);
        }
        workers.extend(series.workers(measure).into_iter().map(Some));
        for worker in workers {
            rows.push(MeasureSummary {
                measure,
                worker,
                baseline_bytes: series.baseline(measure, worker),
                peak_bytes: series.peak(measure, worker),
                held_bytes: series.level_at_phase_end(measure, worker, Phase::Held),
                after_release_bytes: series.level_at_phase_end(measure, worker, Phase::Released),
            });
        }
    }
    // Per-worker-only measures get a summed whole-run row, so every run has one.
    for measure in series.measures() {
        if rows
            .iter()
            .any(|r| r.measure == measure && r.worker.is_none())
        {
            continue;
        }
        let totals = series.totals(measure);
        let mut summed = Series::new(series.label.clone(), series.interval_ms);
        summed.phases = series.phases.clone();
        summed.samples = totals
            .into_iter()
            .map(|(time_s, bytes)| Sample {
                time_s,
                measure,
                worker: None,
                bytes,
            })
            .collect();
        rows.insert(
            0,
            MeasureSummary {
                measure,
                worker: None,
                baseline_bytes: summed.baseline(measure, None),
                peak_bytes: summed.peak(measure, None),
                held_bytes: summed.level_at_phase_end(measure, None, Phase::Held),
                after_release_bytes: summed.level_at_phase_end(measure, None, Phase::Released),
            },
        );
    }
    rows
}

impl RunReport {
    /// A run's report from its series: the levels, phases, overhead and samples; the engine's
    /// figures (wire, predictions, error) are left for the caller to fill in.
    pub fn from_series(engine: &str, series: &Series) -> Self {
        let (sparse_phases, peak_measured) = sparse_phases(series);
        RunReport {
            label: series.label.clone(),
            engine: engine.to_string(),
            complete: series.complete,
            error: None,
            tasks: 0,
            wall_time_s: series.duration_s(),
            wire_bytes: None,
            materialised_bytes: None,
            dask_warning_fired: None,
            wire_vs_model: None,
            held_vs_model: None,
            held_per_chunk_bytes: None,
            chunks: None,
            measures: summarize(series),
            phases: series.phases.clone(),
            sampler_overhead: series.overhead,
            samples: series.samples.clone(),
            real_dask: None,
            peak_measured,
            sparse_phases,
        }
    }

    /// The whole-run summary of a measure.
    pub fn whole(&self, measure: Measure) -> Option<&MeasureSummary> {
        self.measures
            .iter()
            .find(|m| m.measure == measure && m.worker.is_none())
    }

    /// Seconds from the compute mark to the held mark (the tasks running), when both were marked.
    pub fn compute_s(&self) -> Option<f64> {
        let at = |phase: Phase| {
            self.phases
                .iter()
                .find(|m| m.phase == phase)
                .map(|m| m.time_s)
        };
        Some(at(Phase::Held)? - at(Phase::Compute)?)
    }

    /// Held memory of the main measure above its baseline.
    pub fn held_growth_bytes(&self) -> Option<u64> {
        let main = self.whole(self.main_measure())?;
        above(main.held_bytes, main.baseline_bytes)
    }

    /// The measure a table shows for memory: process RSS for the built-in engine and commands,
    /// the worker processes' RSS for real Dask.
    pub fn main_measure(&self) -> Measure {
        [Measure::Rss, Measure::Process, Measure::DaskProcess]
            .into_iter()
            .find(|m| self.whole(*m).is_some())
            .unwrap_or(Measure::Process)
    }
}

/// Growth of a level above the baseline.
fn above(level: Option<u64>, baseline: Option<u64>) -> Option<u64> {
    Some(level?.saturating_sub(baseline.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_bound_comparison_says_so_and_an_older_report_reads_as_a_point() {
        let bound = Comparison::at_least(4, 50);
        assert!(bound.lower_bound);
        assert_eq!(bound.error_percent, Comparison::new(4, 50).error_percent);
        let json = serde_json::to_string(&bound).expect("json");
        assert!(json.contains(r#""lower_bound":true"#), "{json}");
        let point = serde_json::to_string(&Comparison::new(4, 50)).expect("json");
        assert!(point.contains(r#""lower_bound":false"#), "{point}");
        let older: Comparison = serde_json::from_str(
            r#"{"predicted_bytes":4,"measured_bytes":50,"error_percent":1150.0}"#,
        )
        .expect("a report before the field");
        assert!(!older.lower_bound);
    }
}
