//! The driver's line protocol (docs/DASK.md): one JSON object per line on its stdout, tagged by
//! `event`. [`DriverEvent`] is both what is parsed and what `run_driver` hands to its caller's
//! callback, so a progress bar or a log can follow the run as it happens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sample::series::{Measure, Phase};

/// The protocol version this binary speaks (`hello.protocol`).
pub const PROTOCOL_VERSION: u32 = 1;

/// One line of the driver's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DriverEvent {
    /// First line: versions and the driver's pid.
    Hello {
        /// Protocol version, 1.
        protocol: u32,
        /// `dask.__version__`.
        dask: String,
        /// `distributed.__version__`.
        distributed: String,
        /// `platform.python_version()`.
        python: String,
        /// The driver's process id.
        pid: u32,
    },
    /// The cluster's workers, numbered by sorted address.
    Workers {
        /// One entry per worker.
        workers: Vec<DaskWorker>,
        /// True for a LocalCluster graphprof started (RSS is then read from /proc).
        local: bool,
    },
    /// Something the user should know, e.g. an interval shorter than the heartbeat.
    Warning {
        /// The warning.
        text: String,
    },
    /// A phase of a label starts.
    Phase {
        /// The strategy label (`inline`, `scatter#2`, ...).
        label: String,
        /// The phase.
        phase: Phase,
        /// Seconds since the label started (monotonic).
        t: f64,
    },
    /// One reading.
    Sample {
        /// The strategy label.
        label: String,
        /// Seconds since the label started.
        t: f64,
        /// `dask_process`, `dask_managed` or `rss`.
        measure: Measure,
        /// Worker id.
        worker: u32,
        /// The reading, in bytes.
        bytes: u64,
    },
    /// What the client sent for a label's graph, as distributed measured it.
    Wire {
        /// The strategy label.
        label: String,
        /// Bytes distributed's `serialize` produced for the graph message.
        wire_bytes: Option<u64>,
        /// Whether the "Sending large graph of size ..." warning fired.
        warning: bool,
        /// The warning's text when it fired.
        warning_text: Option<String>,
    },
    /// Futures finished so far.
    Progress {
        /// The strategy label.
        label: String,
        /// Finished futures.
        done: u64,
        /// All futures of the label.
        total: u64,
    },
    /// A failure (of the run or of the current label).
    Error {
        /// What kind of failure.
        kind: DriverErrorKind,
        /// One line for humans.
        text: String,
        /// For `missing_dependency`: the exact pip command.
        #[serde(default)]
        pip: Option<String>,
    },
    /// A label finished (completely or not).
    Done {
        /// The strategy label.
        label: String,
        /// False when a worker died, a task failed or the compute timed out.
        complete: bool,
        /// As in `wire`.
        wire_bytes: Option<u64>,
        /// Per measure (`rss`, ...), the median per worker id over the held phase.
        #[serde(default)]
        held_median: BTreeMap<String, Vec<Option<u64>>>,
        /// CPU seconds the driver's sampling thread spent on this label.
        #[serde(default)]
        sampler_cpu_s: Option<f64>,
    },
    /// A label starts: its strategy, its place in the run order, and whether its workers are
    /// fresh (a new cluster or restarted) or reused from the previous label.
    Label {
        /// The label.
        label: String,
        /// `inline`, `scatter`, `delayed` or `as-given`.
        strategy: String,
        /// True when the workers were started or restarted for this label.
        fresh_workers: bool,
        /// 1 for the first label run, 2 for the next, ...
        order: u32,
    },
    /// Up to three chunks of this label's results compared exactly with the first label's.
    Results {
        /// The label.
        label: String,
        /// The label whose results are the reference.
        reference: Option<String>,
        /// Chunks compared.
        compared: u32,
        /// All compared chunks are equal.
        equal: bool,
    },
    /// What a rewrite of the user's collection moved out of the tasks.
    Rewrite {
        /// The label.
        label: String,
        /// One entry per moved object.
        moved: Vec<MovedObject>,
    },
    /// Where a `broadcast=True` scatter really put each object (`client.who_has`).
    Broadcast {
        /// The label.
        label: String,
        /// Workers in the cluster.
        workers: Option<u32>,
        /// Per scattered object, how many workers hold it.
        holders: Vec<u32>,
    },
    /// Replicas distributed's Active Memory Manager dropped, in the one pass the driver asked
    /// of it once the results were in memory, before the held level was read.
    Replicas {
        /// The label.
        label: String,
        /// Replicas dropped (a key on two workers dropped on one counts 1).
        dropped: u64,
    },
    /// A graph file replayed with synthetic objects.
    Replay {
        /// The label.
        label: String,
        /// Tasks replayed.
        tasks: u64,
        /// Distinct synthetic payload objects.
        objects: u64,
        /// Which size the synthetic objects have: `in_memory_bytes` and/or `size_bytes`.
        #[serde(default)]
        sized_from: Vec<String>,
    },
    /// What of the user's collection a label ran when graphprof chose its outputs
    /// (`--outputs FILE`, a count of `sample --chunks` with a collection): the collection's
    /// graph (as persist sends it, rewritten for the strategy) culled to those outputs.
    Subset {
        /// The label.
        label: String,
        /// Outputs persisted.
        outputs: u64,
        /// Tasks of the culled graph (as the scheduler gets them).
        tasks: u64,
        /// Outputs of the whole collection.
        of: u64,
        /// How the keys were found: `keys` (the same keys) or `chunk index` (a new name, the
        /// same chunk index).
        matched_by: String,
    },
    /// What each worker holds per layer (task prefix) once a label's results are held, read on
    /// the workers themselves (`graphprof.sampler.layers`). Absent when the probe failed.
    Layers {
        /// The label.
        label: String,
        /// Per worker address, its layers (biggest first).
        workers: BTreeMap<String, Vec<LayerOnWorker>>,
        /// Wall seconds the probe took, seen from the driver.
        #[serde(default)]
        probe_s: Option<f64>,
    },
    /// The driver's last line when it exits by itself.
    End,
    /// A line of a later protocol version that this binary does not know.
    #[serde(other)]
    Unknown,
}

/// A worker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaskWorker {
    /// graphprof's id for the worker (0, 1, ... by sorted address); the `worker` of samples.
    pub id: u32,
    /// The worker's address, e.g. `tcp://127.0.0.1:40123`.
    pub address: String,
    /// The worker process's id (on the scheduler's machine for an existing cluster).
    #[serde(default)]
    pub pid: Option<u32>,
    /// The worker's `memory_limit` in bytes as the scheduler knows it; `None` for no limit or
    /// a driver that did not say.
    #[serde(default)]
    pub memory_limit: Option<u64>,
}

/// What one worker holds of one layer while the results are held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerOnWorker {
    /// The layer: Dask's `key_split` of the keys.
    pub layer: String,
    /// Tasks of the layer in state `memory` on this worker.
    pub tasks_in_memory: u64,
    /// Their results' bytes as Dask sizes them (`TaskState.nbytes`, `sizeof`).
    pub results_bytes: u64,
    /// Tasks of the layer in another state whose run_spec the worker still keeps.
    pub released_kept: u64,
    /// In-memory bytes of the kept run_specs (of the tasks in memory and the released kept):
    /// the specs themselves and every distinct object they embed, counted once per worker.
    pub run_spec_bytes: u64,
    /// True when part of `run_spec_bytes` is extrapolated (one object measured for a group of
    /// alike objects, or a shallow size past the probe's budget).
    #[serde(default)]
    pub estimated: bool,
    /// Results of the layer this worker received from another worker during the run.
    #[serde(default)]
    pub fetched: u64,
    /// Their bytes as Dask sized them.
    #[serde(default)]
    pub fetched_bytes: u64,
}

/// An object a rewrite moved out of the tasks that embedded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedObject {
    /// Its Python type name (`dict`, `method`, `function`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its pickled size.
    pub size_bytes: u64,
    /// Tasks that embedded it.
    pub tasks: u64,
    /// The key it now has (the scattered future's or the new task's).
    pub key: String,
}

/// The kinds of `error` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverErrorKind {
    /// dask, distributed, pandas, numpy or cloudpickle cannot be imported.
    MissingDependency,
    /// The scheduler given with `--scheduler` did not answer within the timeout.
    Unreachable,
    /// A worker left the cluster during a label.
    WorkerDied,
    /// A task failed or the compute timed out.
    TaskFailed,
    /// The driver got SIGINT or SIGTERM.
    Interrupted,
    /// Anything else that stopped the driver.
    DriverFailed,
    /// A kind this binary does not know.
    #[serde(other)]
    Other,
}

impl DriverErrorKind {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DriverErrorKind::MissingDependency => "missing_dependency",
            DriverErrorKind::Unreachable => "unreachable",
            DriverErrorKind::WorkerDied => "worker_died",
            DriverErrorKind::TaskFailed => "task_failed",
            DriverErrorKind::Interrupted => "interrupted",
            DriverErrorKind::DriverFailed => "driver_failed",
            DriverErrorKind::Other => "other",
        }
    }
}

/// Parses one protocol line.
pub fn parse_line(line: &str) -> Result<DriverEvent, serde_json::Error> {
    serde_json::from_str(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_event_parses() {
        let lines = [
            r#"{"event":"hello","protocol":1,"dask":"2026.8.0","distributed":"2026.8.0","python":"3.11.7","pid":12}"#,
            r#"{"event":"workers","workers":[{"id":0,"address":"tcp://127.0.0.1:1","pid":5}],"local":true}"#,
            r#"{"event":"warning","text":"slow heartbeat"}"#,
            r#"{"event":"phase","label":"inline","phase":"held","t":1.5}"#,
            r#"{"event":"sample","label":"inline","t":0.1,"measure":"rss","worker":1,"bytes":1000}"#,
            r#"{"event":"wire","label":"inline","wire_bytes":265877,"warning":false,"warning_text":null}"#,
            r#"{"event":"progress","label":"inline","done":3,"total":8}"#,
            r#"{"event":"error","kind":"missing_dependency","text":"no dask","pip":"python3 -m pip install dask==1"}"#,
            r#"{"event":"error","kind":"worker_died","text":"gone"}"#,
            r#"{"event":"done","label":"inline","complete":true,"wire_bytes":1,"held_median":{"rss":[1,null]}}"#,
            r#"{"event":"label","label":"as-given","strategy":"as-given","fresh_workers":true,"order":1}"#,
            r#"{"event":"results","label":"scatter","reference":"as-given","compared":3,"equal":true}"#,
            r#"{"event":"rewrite","label":"scatter","moved":[{"type":"dict","size_bytes":9,"tasks":4,"key":"k"}]}"#,
            r#"{"event":"broadcast","label":"scatter","workers":2,"holders":[1]}"#,
            r#"{"event":"replicas","label":"scatter","dropped":1}"#,
            r#"{"event":"replay","label":"as-given","file":"g.json","tasks":3,"outputs":2,"objects":1,"data":0,"sized_from":["size_bytes"]}"#,
            r#"{"event":"subset","label":"scatter","outputs":12,"tasks":36,"of":48,"matched_by":"keys"}"#,
            r#"{"event":"layers","label":"inline","workers":{"tcp://127.0.0.1:1":[{"layer":"lookup","tasks_in_memory":3,"results_bytes":24000,"released_kept":0,"run_spec_bytes":900,"estimated":false}]},"probe_s":0.03}"#,
            r#"{"event":"end"}"#,
        ];
        for line in lines {
            let event = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_ne!(event, DriverEvent::Unknown, "{line}");
        }
    }

    #[test]
    fn later_additions_are_tolerated() {
        assert_eq!(
            parse_line(r#"{"event":"heartbeat","x":1}"#).unwrap(),
            DriverEvent::Unknown
        );
        let event = parse_line(r#"{"event":"error","kind":"oom","text":"x"}"#).unwrap();
        assert!(matches!(
            event,
            DriverEvent::Error {
                kind: DriverErrorKind::Other,
                ..
            }
        ));
        assert!(parse_line("Traceback (most recent call last):").is_err());
    }
}
