//! The engine's inputs and outputs: its options and their errors, the events a run reports, and
//! the figures of a finished run. Plain data, shared by the engine's parts.

use std::time::Duration;

/// The phases of a run, in order, as marked on a timeline.
pub const PHASES: [&str; 4] = ["submit", "compute", "held", "released"];

/// Most workers an engine runs.
pub const MAX_WORKERS: u32 = 256;

/// How the engine runs a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Worker threads, 1 to 256.
    pub workers: u32,
    /// How long results are held after compute (as with `persist()`) before release.
    pub hold: Duration,
    /// Stop a run before managed bytes would exceed this.
    pub memory_limit_bytes: Option<u64>,
    /// Bytes of bookkeeping a worker holds per result it keeps (Dask's per-task state).
    pub task_overhead_bytes: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            workers: 2,
            hold: Duration::from_millis(200),
            memory_limit_bytes: None,
            task_overhead_bytes: crate::graph::held::TASK_OVERHEAD_BYTES,
        }
    }
}

/// Options the engine refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Worker count out of range.
    #[error("--workers must be between 1 and {MAX_WORKERS}, not {0}")]
    Workers(u32),
}

/// What a run reports while it goes, on the caller's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineEvent {
    /// A phase starts: one of [`PHASES`].
    Phase(&'static str),
    /// A task finished.
    TaskDone {
        /// Tasks finished so far.
        done: u64,
        /// Tasks in the graph.
        total: u64,
    },
}

/// How long each phase took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseTimes {
    /// The client serialized the graph and scattered data; the scheduler read the message.
    pub submit: Duration,
    /// The tasks ran.
    pub compute: Duration,
    /// The results were held.
    pub held: Duration,
    /// Everything was freed and the workers stopped.
    pub release: Duration,
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Bytes of the one message the client sent (measured: the engine's own framing).
    pub wire_bytes: u64,
    /// Tasks in the graph.
    pub tasks_total: u64,
    /// Tasks that finished.
    pub tasks_done: u64,
    /// Managed bytes at the end of compute while results are held (or when the run stopped).
    pub held_managed_bytes: u64,
    /// The same, per worker.
    pub held_managed_per_worker: Vec<u64>,
    /// Highest managed bytes during the run.
    pub peak_managed_bytes: u64,
    /// Managed bytes once everything was released (0 unless something leaked).
    pub after_release_managed_bytes: u64,
    /// From submit to the end of release.
    pub wall_time: Duration,
    /// Each phase's duration.
    pub phases: PhaseTimes,
    /// Every task ran.
    pub complete: bool,
    /// Why the run stopped early: a failing task (named by key), the memory limit, cancellation.
    pub error: Option<String>,
}
