//! The built-in engine: a small model of a Dask cluster inside the graphprof process, faithful
//! where memory is concerned, with real bytes at every step. The client serializes the whole graph
//! in one message (each payload object once); the scheduler holds it and sends each task to a
//! worker on its own, serializing that task's arguments (so each inline task carries its own
//! payload copy); W worker threads deserialise each task, run it, and keep its arguments with its
//! result until it is released. `scatter`ed data is broadcast, one copy per worker; a `delayed`
//! builder's result is copied to each worker that needs it and released once its dependents ran.
//!
//! # Accounting: managed bytes
//! Every byte the engine holds is a [`ledger::Tracked`] buffer, counted from creation to drop:
//! the client's payload objects and message (submit), the scheduler's copy of the message (until
//! compute ends), each task frame in flight, and on the workers each task's deserialised spec and
//! payload copies, results, copies of results fetched from another worker, and scattered data.
//! A real Dask worker also holds bookkeeping per task it keeps (its `TaskState` and the rest,
//! about 10 KB of RSS per task on distributed 2026.8.0, measured: see
//! [`crate::graph::held::TASK_OVERHEAD_BYTES`]); each worker models it as a buffer of
//! [`EngineOptions::task_overhead_bytes`] real, written bytes per result it holds (not for an
//! alias), created with the result and freed with it. The engine's own indexes, channels and maps
//! are not counted.
//!
//! While results are held, managed bytes equal `analyze`'s `predict::held_bytes` plus the
//! bookkeeping ([`crate::graph::held::held_bookkeeping_bytes`]): each leaf task's spec record,
//! payload copies, result and bookkeeping, plus one copy per worker of each scattered object. One
//! difference is documented in [`wire`]: a task whose arguments do not fit its `spec_bytes` (more
//! than 10 with the default 64) holds a longer record than the model says. After release, managed
//! bytes are exactly 0.
//!
//! This is not Dask's `managed` measure (which counts results' `sizeof` only, not task arguments):
//! reports should name it as graphprof's own.

pub mod functions;
pub mod ledger;
mod run;
pub mod scheduler;
pub mod wire;
pub mod worker;

use crate::graph::Graph;
pub use ledger::EngineGauges;
use ledger::Ledger;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
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

/// An engine: its options, its gauges and its cancellation flag, for one run at a time.
#[derive(Debug)]
pub struct Engine {
    options: EngineOptions,
    ledger: Arc<Ledger>,
    cancel: Arc<AtomicBool>,
}

impl Engine {
    /// Checks the options.
    pub fn new(options: EngineOptions) -> Result<Engine, EngineError> {
        if !(1..=MAX_WORKERS).contains(&options.workers) {
            return Err(EngineError::Workers(options.workers));
        }
        let ledger = Ledger::new(options.workers as usize, options.memory_limit_bytes);
        Ok(Engine {
            options,
            ledger,
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The managed-bytes and progress counters, for a sampler thread to read while a run goes.
    pub fn gauges(&self) -> EngineGauges {
        self.ledger.gauges().clone()
    }

    /// Uses `flag` (e.g. one a Ctrl-C handler sets) as the cancellation flag; a run does not
    /// clear it.
    pub fn with_cancel_flag(mut self, flag: Arc<AtomicBool>) -> Engine {
        self.cancel = flag;
        self
    }

    /// The flag that stops a run between tasks and ends the hold early; set it from Ctrl-C.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Runs the graph through submit, compute, held and released, reporting to `observer`.
    pub fn run(&mut self, graph: &Graph, observer: &mut dyn FnMut(EngineEvent)) -> RunOutcome {
        run::run(self, graph, observer)
    }
}

/// Runs a graph with a fresh engine.
pub fn run_graph(
    graph: &Graph,
    options: &EngineOptions,
    observer: &mut dyn FnMut(EngineEvent),
) -> Result<RunOutcome, EngineError> {
    let mut engine = Engine::new(options.clone())?;
    Ok(engine.run(graph, observer))
}

#[cfg(test)]
mod tests;
