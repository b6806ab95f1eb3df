//! Turns the driver's events into series and per-label outcomes, and hands every sample to the
//! live CSV sink ([`super::sink`]) as it arrives, so a run that dies keeps its samples.
//!
//! Readings of one tick share their `t`; when a label's tick is complete (a later `t` arrives, or
//! the run ends) a whole-run reading (`worker` empty) is added per measure: the sum over workers.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::protocol::{DaskWorker, DriverErrorKind, DriverEvent, LayerOnWorker, MovedObject};
use super::sink::CsvSink;
use crate::graph::Strategy;
use crate::sample::series::{Measure, Phase, PhaseMark, Sample, Series};

/// What happened to one strategy label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaskLabelOutcome {
    /// The label (`inline`, `scatter`, `inline#2` for a repeated strategy).
    pub label: String,
    /// The strategy the label ran.
    pub strategy: Option<Strategy>,
    /// Bytes of the graph message, as distributed measured it.
    pub wire_bytes: Option<u64>,
    /// Whether distributed's "Sending large graph" warning fired.
    pub warning_fired: bool,
    /// The warning's text, when it fired.
    pub warning_text: Option<String>,
    /// False when the label did not run to its end (worker died, task failed, timeout, Ctrl-C).
    pub complete: bool,
    /// The driver's error kind for an incomplete label (`worker_died`, `task_failed`, ...).
    pub error_kind: Option<DriverErrorKind>,
    /// Why the label is incomplete, in one line.
    pub error: Option<String>,
    /// Futures of the label's graph (from progress).
    pub tasks: Option<u64>,
    /// Futures finished when the label ended.
    pub tasks_done: Option<u64>,
    /// Per measure name, the driver's median per worker id over the held phase.
    pub held_median: BTreeMap<String, Vec<Option<u64>>>,
    /// Seconds from the label's `submit` to its `done` (or the end of the run), on graphprof's
    /// clock.
    pub wall_time_s: Option<f64>,
    /// The label's place in the run order (1 first).
    #[serde(default)]
    pub order: Option<u32>,
    /// True when the label ran on fresh workers (new or restarted), false when reused.
    #[serde(default)]
    pub fresh_workers: Option<bool>,
    /// Results compared with the first label's: `(chunks compared, all equal, reference label)`.
    #[serde(default)]
    pub results: Option<ResultsCheck>,
    /// What the rewrite of the user's collection moved.
    #[serde(default)]
    pub moved: Vec<MovedObject>,
    /// Per broadcast object, the workers holding it, and the workers of the cluster.
    #[serde(default)]
    pub broadcast: Option<(Vec<u32>, Option<u32>)>,
    /// Replicas the Active Memory Manager dropped before the held level was read.
    pub replicas_dropped: Option<u64>,
    /// For a replayed graph file: which sizes the synthetic objects took.
    #[serde(default)]
    pub replay_sized_from: Option<Vec<String>>,
    /// For a collection culled to chosen outputs: what the driver ran of it.
    #[serde(default)]
    pub subset: Option<SubsetRan>,
    /// What each worker held per layer once the results were held, read on the workers;
    /// empty when the probe did not run or failed.
    #[serde(default)]
    pub held_layers: Vec<HeldOnWorker>,
    /// Wall seconds the per-layer probe took.
    #[serde(default)]
    pub layers_probe_s: Option<f64>,
}

/// One worker's layers while the results were held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOnWorker {
    /// graphprof's id of the worker (`None` for an address the `workers` event did not list).
    pub worker: Option<u32>,
    /// The worker's address.
    pub address: String,
    /// Its layers, biggest first.
    pub layers: Vec<LayerOnWorker>,
}

/// What the driver ran of a collection culled to the outputs graphprof chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsetRan {
    /// Outputs persisted.
    pub outputs: u64,
    /// Tasks of the culled graph.
    pub tasks: u64,
    /// Outputs of the whole collection.
    pub of: u64,
    /// `keys` or `chunk index`.
    pub matched_by: String,
}

/// A label's results beside the first label's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsCheck {
    /// The label compared with.
    pub reference: Option<String>,
    /// Chunks compared exactly.
    pub compared: u32,
    /// Every compared chunk is equal.
    pub equal: bool,
}

impl DaskLabelOutcome {
    fn new(label: &str) -> Self {
        DaskLabelOutcome {
            label: label.to_string(),
            strategy: strategy_of(label),
            wire_bytes: None,
            warning_fired: false,
            warning_text: None,
            complete: false,
            error_kind: None,
            error: None,
            tasks: None,
            tasks_done: None,
            held_median: BTreeMap::new(),
            wall_time_s: None,
            order: None,
            fresh_workers: None,
            results: None,
            moved: Vec::new(),
            broadcast: None,
            replicas_dropped: None,
            replay_sized_from: None,
            subset: None,
            held_layers: Vec::new(),
            layers_probe_s: None,
        }
    }
}

/// `text` on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The strategy of a label: its name before any `#n`.
pub fn strategy_of(label: &str) -> Option<Strategy> {
    let name = label.split('#').next().unwrap_or(label);
    Strategy::ALL.into_iter().find(|s| s.name() == name)
}

/// The labels the driver gives `strategies`, in order: a repeated strategy gets `#2`, `#3`, ...
pub fn labels_for(strategies: &[Strategy]) -> Vec<String> {
    let mut seen: BTreeMap<Strategy, u32> = BTreeMap::new();
    strategies
        .iter()
        .map(|s| {
            let n = seen.entry(*s).or_insert(0);
            *n += 1;
            if *n == 1 {
                s.name().to_string()
            } else {
                format!("{}#{n}", s.name())
            }
        })
        .collect()
}

struct LabelState {
    series: Series,
    outcome: DaskLabelOutcome,
    done: bool,
    /// When the label's `submit` phase arrived.
    submitted: Option<Instant>,
    /// The tick being filled: its time and the per-measure sums so far.
    tick: Option<(f64, BTreeMap<Measure, u64>)>,
    /// CPU seconds the driver's sampling thread reported for the label.
    sampler_cpu_s: Option<f64>,
}

/// Everything gathered from the events so far.
pub struct Collector {
    interval_ms: f64,
    labels: Vec<LabelState>,
    current: Option<usize>,
    pub workers: Vec<DaskWorker>,
    pub local: bool,
    /// The driver reached its cluster (the `workers` event arrived).
    pub connected: bool,
    pub hello: Option<(String, String, String)>,
    pub warnings: Vec<String>,
    /// The first error that ends the run before anything was sampled.
    pub fatal: Option<(DriverErrorKind, String, Option<String>)>,
    pub interrupted: bool,
    pub ended: bool,
    sink: Option<CsvSink>,
}

impl Collector {
    /// A collector for the expected labels; `sink` receives every sample.
    pub fn new(interval_ms: f64, expected: &[String], sink: Option<CsvSink>) -> Self {
        let mut collector = Collector {
            interval_ms,
            labels: Vec::new(),
            current: None,
            workers: Vec::new(),
            local: false,
            connected: false,
            hello: None,
            warnings: Vec::new(),
            fatal: None,
            interrupted: false,
            ended: false,
            sink,
        };
        for label in expected {
            collector.label_index(label);
        }
        collector
    }

    fn label_index(&mut self, label: &str) -> usize {
        if let Some(i) = self.labels.iter().position(|l| l.series.label == label) {
            return i;
        }
        self.labels.push(LabelState {
            series: Series::new(label, self.interval_ms),
            outcome: DaskLabelOutcome::new(label),
            done: false,
            submitted: None,
            tick: None,
            sampler_cpu_s: None,
        });
        self.labels.len() - 1
    }

    /// Takes one event into account.
    pub fn handle(&mut self, event: &DriverEvent) {
        match event {
            DriverEvent::Hello {
                dask,
                distributed,
                python,
                ..
            } => self.hello = Some((dask.clone(), distributed.clone(), python.clone())),
            DriverEvent::Workers { workers, local } => {
                self.workers = workers.clone();
                self.local = *local;
                self.connected = true;
            }
            DriverEvent::Warning { text } => self.warnings.push(one_line(text)),
            DriverEvent::Phase { label, phase, t } => {
                let i = self.label_index(label);
                self.current = Some(i);
                if *phase == Phase::Submit {
                    self.labels[i].submitted.get_or_insert_with(Instant::now);
                }
                self.labels[i].series.phases.push(PhaseMark {
                    phase: *phase,
                    time_s: *t,
                });
            }
            DriverEvent::Sample {
                label,
                t,
                measure,
                worker,
                bytes,
            } => self.sample(label, *t, *measure, *worker, *bytes),
            DriverEvent::Wire {
                label,
                wire_bytes,
                warning,
                warning_text,
            } => {
                let i = self.label_index(label);
                let outcome = &mut self.labels[i].outcome;
                outcome.wire_bytes = *wire_bytes;
                outcome.warning_fired = *warning;
                outcome.warning_text = warning_text.clone();
            }
            DriverEvent::Progress { label, done, total } => {
                let i = self.label_index(label);
                self.labels[i].outcome.tasks = Some(*total);
                self.labels[i].outcome.tasks_done = Some(*done);
            }
            DriverEvent::Error { kind, text, pip } => {
                self.error(*kind, &one_line(text), pip.as_ref())
            }
            DriverEvent::Done {
                label,
                complete,
                wire_bytes,
                held_median,
                sampler_cpu_s,
            } => {
                let i = self.label_index(label);
                self.flush_tick(i);
                let state = &mut self.labels[i];
                state.sampler_cpu_s = *sampler_cpu_s;
                state.done = true;
                state.outcome.wall_time_s = state.submitted.map(|t| t.elapsed().as_secs_f64());
                state.outcome.complete = *complete && state.outcome.error.is_none();
                if wire_bytes.is_some() {
                    state.outcome.wire_bytes = *wire_bytes;
                }
                state.outcome.held_median = held_median.clone();
                self.current = None;
            }
            DriverEvent::Label {
                label,
                fresh_workers,
                order,
                ..
            } => {
                let i = self.label_index(label);
                self.labels[i].outcome.order = Some(*order);
                self.labels[i].outcome.fresh_workers = Some(*fresh_workers);
            }
            DriverEvent::Results {
                label,
                reference,
                compared,
                equal,
            } => {
                let i = self.label_index(label);
                self.labels[i].outcome.results = Some(ResultsCheck {
                    reference: reference.clone(),
                    compared: *compared,
                    equal: *equal,
                });
            }
            DriverEvent::Rewrite { label, moved } => {
                let i = self.label_index(label);
                self.labels[i].outcome.moved = moved.clone();
            }
            DriverEvent::Broadcast {
                label,
                workers,
                holders,
            } => {
                let i = self.label_index(label);
                self.labels[i].outcome.broadcast = Some((holders.clone(), *workers));
            }
            DriverEvent::Replicas { label, dropped } => {
                let i = self.label_index(label);
                self.labels[i].outcome.replicas_dropped = Some(*dropped);
            }
            DriverEvent::Replay {
                label, sized_from, ..
            } => {
                let i = self.label_index(label);
                self.labels[i].outcome.replay_sized_from = Some(sized_from.clone());
            }
            DriverEvent::Subset {
                label,
                outputs,
                tasks,
                of,
                matched_by,
            } => {
                let i = self.label_index(label);
                self.labels[i].outcome.subset = Some(SubsetRan {
                    outputs: *outputs,
                    tasks: *tasks,
                    of: *of,
                    matched_by: matched_by.clone(),
                });
            }
            DriverEvent::Layers {
                label,
                workers,
                probe_s,
            } => {
                let held: Vec<HeldOnWorker> = workers
                    .iter()
                    .map(|(address, layers)| HeldOnWorker {
                        worker: self
                            .workers
                            .iter()
                            .find(|w| &w.address == address)
                            .map(|w| w.id),
                        address: address.clone(),
                        layers: layers.clone(),
                    })
                    .collect();
                let i = self.label_index(label);
                self.labels[i].outcome.held_layers = held;
                self.labels[i].outcome.layers_probe_s = *probe_s;
            }
            DriverEvent::End => self.ended = true,
            DriverEvent::Unknown => {}
        }
    }

    fn sample(&mut self, label: &str, t: f64, measure: Measure, worker: u32, bytes: u64) {
        let i = self.label_index(label);
        if self.labels[i].tick.as_ref().is_some_and(|(at, _)| *at != t) {
            self.flush_tick(i);
        }
        let sample = Sample {
            time_s: t,
            measure,
            worker: Some(worker),
            bytes,
        };
        let state = &mut self.labels[i];
        state.series.samples.push(sample);
        let (_, sums) = state.tick.get_or_insert_with(|| (t, BTreeMap::new()));
        let sum = sums.entry(measure).or_insert(0);
        *sum = sum.saturating_add(bytes);
        if let Some(sink) = self.sink.as_mut() {
            sink.push(label, &sample);
        }
    }

    /// Adds the finished tick's whole-run readings.
    fn flush_tick(&mut self, i: usize) {
        let state = &mut self.labels[i];
        let Some((t, sums)) = state.tick.take() else {
            return;
        };
        for (measure, bytes) in sums {
            let sample = Sample {
                time_s: t,
                measure,
                worker: None,
                bytes,
            };
            state.series.samples.push(sample);
            if let Some(sink) = self.sink.as_mut() {
                sink.push(&state.series.label, &sample);
            }
        }
    }

    fn error(&mut self, kind: DriverErrorKind, text: &str, pip: Option<&String>) {
        match kind {
            DriverErrorKind::MissingDependency | DriverErrorKind::Unreachable => {
                self.fatal
                    .get_or_insert((kind, text.to_string(), pip.cloned()));
            }
            DriverErrorKind::Interrupted => {
                self.interrupted = true;
                self.mark_current(kind, text);
            }
            _ => {
                if !self.mark_current(kind, text) && self.fatal.is_none() {
                    self.fatal = Some((kind, text.to_string(), None));
                }
            }
        }
    }

    /// Marks the running label incomplete; false when no label is running.
    fn mark_current(&mut self, kind: DriverErrorKind, text: &str) -> bool {
        let Some(i) = self.current else {
            return false;
        };
        let outcome = &mut self.labels[i].outcome;
        outcome.complete = false;
        outcome.error_kind.get_or_insert(kind);
        outcome.error.get_or_insert_with(|| text.to_string());
        true
    }

    /// True once any label has started.
    pub fn started(&self) -> bool {
        self.labels
            .iter()
            .any(|l| !l.series.samples.is_empty() || !l.series.phases.is_empty())
    }

    /// Writes what the sink holds now if it is due.
    pub fn write_sink(&mut self, force: bool) {
        if let Some(sink) = self.sink.as_mut()
            && let Some(warning) = sink.write(force)
        {
            self.warnings.push(warning);
        }
    }

    /// Closes every label: pending ticks flushed, labels that never finished marked
    /// incomplete with `why`. Returns the series and outcomes, in label order.
    pub fn finish(&mut self, why: &str) -> (Vec<Series>, Vec<DaskLabelOutcome>) {
        for i in 0..self.labels.len() {
            self.flush_tick(i);
        }
        self.write_sink(true);
        let mut series = Vec::new();
        let mut outcomes = Vec::new();
        for state in self.labels.drain(..) {
            let mut outcome = state.outcome;
            if !state.done {
                outcome.complete = false;
                outcome.wall_time_s = state.submitted.map(|t| t.elapsed().as_secs_f64());
                if outcome.error.is_none() {
                    let started = !state.series.phases.is_empty();
                    outcome.error = Some(if started {
                        format!("stopped before the label finished: {why}")
                    } else {
                        format!("not run: {why}")
                    });
                }
            }
            let mut s = state.series;
            s.complete = outcome.complete;
            s.overhead = crate::sample::sampler::overhead_of_ticks(&s, state.sampler_cpu_s);
            if !s.samples.is_empty() || !s.phases.is_empty() {
                series.push(s);
            }
            outcomes.push(outcome);
        }
        (series, outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dask::protocol::parse_line;

    fn feed(collector: &mut Collector, lines: &[&str]) {
        for line in lines {
            collector.handle(&parse_line(line).expect("a protocol line"));
        }
    }

    #[test]
    fn labels_follow_the_driver() {
        let labels = labels_for(&[Strategy::Inline, Strategy::Scatter, Strategy::Inline]);
        assert_eq!(labels, ["inline", "scatter", "inline#2"]);
        assert_eq!(strategy_of("inline#2"), Some(Strategy::Inline));
        assert_eq!(strategy_of("mine"), None);
    }

    #[test]
    fn ticks_are_summed_and_a_dead_worker_leaves_the_label_incomplete() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = CsvSink::open(dir.path().join("live.csv")).expect("sink");
        let expected = labels_for(&[Strategy::Inline, Strategy::Scatter]);
        let mut c = Collector::new(50.0, &expected, Some(sink));
        feed(
            &mut c,
            &[
                r#"{"event":"sample","label":"inline","t":0.1,"measure":"rss","worker":0,"bytes":10}"#,
                r#"{"event":"sample","label":"inline","t":0.1,"measure":"rss","worker":1,"bytes":5}"#,
                r#"{"event":"phase","label":"inline","phase":"submit","t":0.15}"#,
                r#"{"event":"wire","label":"inline","wire_bytes":900,"warning":true,"warning_text":"Sending large graph"}"#,
                r#"{"event":"sample","label":"inline","t":0.2,"measure":"rss","worker":0,"bytes":20}"#,
                r#"{"event":"error","kind":"worker_died","text":"worker(s)\n left"}"#,
                r#"{"event":"done","label":"inline","complete":false,"wire_bytes":900,"held_median":{},"sampler_cpu_s":0.004}"#,
                r#"{"event":"end"}"#,
            ],
        );
        let (series, outcomes) = c.finish("the driver exited");
        assert_eq!(series.len(), 1);
        let inline = &series[0];
        assert!(!inline.complete);
        assert_eq!(
            inline.points(Measure::Rss, None),
            vec![(0.1, 15), (0.2, 20)]
        );
        assert_eq!(inline.workers(Measure::Rss), vec![0, 1]);
        // The overhead of the driver's sampling: two ticks 100 ms apart, its CPU as reported.
        assert_eq!(inline.overhead.samples_taken, 2);
        assert!((inline.overhead.gap_max_ms - 100.0).abs() < 1e-6);
        assert!((inline.overhead.gap_p50_ms - 100.0).abs() < 1e-6);
        assert!((inline.overhead.cpu_time_s - 0.004).abs() < 1e-12);
        assert!((inline.overhead.cpu_fraction - 0.04).abs() < 1e-9);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].error_kind, Some(DriverErrorKind::WorkerDied));
        assert_eq!(outcomes[0].error.as_deref(), Some("worker(s) left"));
        assert!(outcomes[0].warning_fired);
        assert_eq!(outcomes[0].wire_bytes, Some(900));
        assert!(!outcomes[1].complete);
        assert!(
            outcomes[1]
                .error
                .as_deref()
                .unwrap_or("")
                .starts_with("not run")
        );
        let text = std::fs::read_to_string(dir.path().join("live.csv")).expect("sink");
        assert_eq!(text.lines().count(), 1 + inline.samples.len(), "{text}");
    }

    #[test]
    fn layers_are_kept_per_worker_with_the_workers_ids() {
        let mut c = Collector::new(50.0, &labels_for(&[Strategy::Inline]), None);
        feed(
            &mut c,
            &[
                r#"{"event":"workers","workers":[{"id":0,"address":"tcp://a:1"},{"id":1,"address":"tcp://b:2"}],"local":true}"#,
                r#"{"event":"phase","label":"inline","phase":"held","t":1.0}"#,
                r#"{"event":"layers","label":"inline","workers":{"tcp://b:2":[{"layer":"f","tasks_in_memory":2,"results_bytes":16,"released_kept":1,"run_spec_bytes":900,"estimated":true}],"tcp://c:3":[]},"probe_s":0.02}"#,
                r#"{"event":"done","label":"inline","complete":true,"wire_bytes":1,"held_median":{}}"#,
            ],
        );
        let (_, outcomes) = c.finish("the driver exited");
        let held = &outcomes[0].held_layers;
        assert_eq!(held.len(), 2);
        assert_eq!(
            (held[0].worker, held[0].address.as_str()),
            (Some(1), "tcp://b:2")
        );
        assert_eq!(held[0].layers[0].run_spec_bytes, 900);
        assert!(held[0].layers[0].estimated);
        assert_eq!(held[1].worker, None);
        assert_eq!(outcomes[0].layers_probe_s, Some(0.02));
    }

    #[test]
    fn errors_before_any_label_are_fatal() {
        let mut c = Collector::new(50.0, &[], None);
        feed(
            &mut c,
            &[
                r#"{"event":"error","kind":"unreachable","text":"cannot reach"}"#,
                r#"{"event":"end"}"#,
            ],
        );
        assert!(matches!(
            c.fatal,
            Some((DriverErrorKind::Unreachable, _, None))
        ));
        assert!(!c.started());
    }
}
