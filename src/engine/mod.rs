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
//! [`EngineOptions::task_overhead_bytes`] real, written bytes per result it makes (not for an
//! alias), created with the result and freed with it, or, for a released task kept with a held
//! one ([`crate::graph::held::Kept::RunSpec`]), kept with its run_spec. The engine's own indexes,
//! channels and maps are not counted.
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
pub mod options;
mod run;
pub mod scheduler;
pub mod wire;
pub mod worker;

use crate::graph::Graph;
pub use ledger::EngineGauges;
use ledger::Ledger;
pub use options::{
    EngineError, EngineEvent, EngineOptions, MAX_WORKERS, PHASES, PhaseTimes, RunOutcome,
};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

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
        let parts = run::Parts {
            options: &self.options,
            ledger: &self.ledger,
            cancel: &self.cancel,
        };
        run::run(&parts, graph, observer)
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
