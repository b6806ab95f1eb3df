//! A worker thread: receives scattered data, task frames, releases and barriers from the
//! scheduler in order. For each task it deserialises the frame (its own copy of the spec and of
//! every embedded payload), copies any dependency held by another worker, runs the function under
//! `catch_unwind`, and keeps the task's arguments together with its result until the scheduler
//! releases it (DASK-FACTS, "What the workers hold"), with the task's bookkeeping (written bytes of
//! the engine's `task_overhead_bytes`, for any task but an alias). Everything a worker holds is
//! charged to it.

use super::functions::{FunctionKind, TaskFailure, run_function};
use super::ledger::{Account, Tracked};
use super::wire::{WireError, read_frame};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

type NodeMap<V> = HashMap<u32, V, foldhash::fast::FixedState>;

/// Where one argument of a task comes from.
#[derive(Debug)]
pub enum Input {
    /// The next payload of the frame.
    Payload,
    /// Data the worker already holds (its own result, a copy, scattered data).
    Local(u32),
    /// A result held by another worker: copy it and keep the copy until released.
    Fetch(u32, Arc<Tracked>),
}

/// One task to run.
#[derive(Debug)]
pub struct RunTask {
    /// The scheduler's index of the task.
    pub task: u32,
    /// Its node id.
    pub node: u32,
    /// What it runs.
    pub function: FunctionKind,
    /// Size of its result.
    pub output_bytes: u64,
    /// The serialized task (record and payload copies), in flight.
    pub frame: Tracked,
    /// Its arguments, in order.
    pub inputs: Vec<Input>,
    /// Other tasks will need its result: send it back to the scheduler.
    pub has_dependents: bool,
    /// It has a result of its own (not an alias): keep bookkeeping beside it.
    pub own_result: bool,
    /// The in-memory size of each payload copy, in frame order (0 where unknown).
    pub payload_held_bytes: Vec<u64>,
}

/// What the scheduler tells a worker.
#[derive(Debug)]
pub enum ToWorker {
    /// Keep a copy of this scattered data object.
    Scatter { node: u32, bytes: Arc<Tracked> },
    /// Run a task.
    Run(RunTask),
    /// Forget this node's result and copies, and its arguments unless `keep_spec` (a released
    /// ancestor whose run_spec the worker keeps with a held result: [`crate::graph::held::Kept`]),
    /// and its bookkeeping unless `keep_state` as well
    /// ([`crate::graph::held::kept_ancestors_keep_state`]).
    Release {
        node: u32,
        keep_spec: bool,
        keep_state: bool,
    },
    /// Reply `Synced` once everything before has been handled.
    Sync,
    /// Drop everything and exit.
    Stop,
}

/// What a worker tells the scheduler.
#[derive(Debug)]
pub enum FromWorker {
    /// A task finished; its result is shared when it has dependents.
    Done {
        task: u32,
        worker: u32,
        result: Option<Arc<Tracked>>,
    },
    /// A task (or a scatter, `task` None) failed.
    Failed {
        task: Option<u32>,
        worker: u32,
        failure: TaskFailure,
    },
    /// Everything sent before the `Sync` has been handled.
    Synced { worker: u32 },
}

/// The worker loop; returns when told to stop or when the scheduler hangs up.
pub fn work(
    worker: u32,
    account: Account,
    task_overhead_bytes: u64,
    inbox: Receiver<ToWorker>,
    reports: Sender<FromWorker>,
    stop: Arc<AtomicBool>,
) {
    let mut data: NodeMap<Arc<Tracked>> = NodeMap::default();
    let mut arguments: NodeMap<Vec<Tracked>> = NodeMap::default();
    let mut states: NodeMap<Tracked> = NodeMap::default();
    while let Ok(message) = inbox.recv() {
        let report = match message {
            ToWorker::Scatter { node, bytes } => match account.copy_of(&bytes) {
                Ok(copy) => {
                    data.insert(node, Arc::new(copy));
                    None
                }
                Err(limit) => Some(FromWorker::Failed {
                    task: None,
                    worker,
                    failure: TaskFailure::Limit(limit),
                }),
            },
            ToWorker::Run(run) if stop.load(Ordering::Acquire) => {
                drop(run);
                None
            }
            ToWorker::Run(run) => {
                let task = run.task;
                let has_dependents = run.has_dependents;
                let task_state = Bookkeeping(task_overhead_bytes);
                let held = Held {
                    data: &mut data,
                    arguments: &mut arguments,
                    states: &mut states,
                };
                match run_task(run, &account, task_state, held) {
                    Ok(result) => Some(FromWorker::Done {
                        task,
                        worker,
                        result: has_dependents.then_some(result),
                    }),
                    Err(failure) => Some(FromWorker::Failed {
                        task: Some(task),
                        worker,
                        failure,
                    }),
                }
            }
            ToWorker::Release {
                node,
                keep_spec,
                keep_state,
            } => {
                data.remove(&node);
                if !keep_state {
                    states.remove(&node);
                }
                if !keep_spec {
                    arguments.remove(&node);
                }
                None
            }
            ToWorker::Sync => Some(FromWorker::Synced { worker }),
            ToWorker::Stop => break,
        };
        if let Some(report) = report
            && reports.send(report).is_err()
        {
            break;
        }
    }
}

/// Bytes a worker keeps per result beside it (Dask's per-task state).
#[derive(Debug, Clone, Copy)]
struct Bookkeeping(u64);

/// The byte the bookkeeping is written with, so that its pages are really resident.
const BOOKKEEPING_FILL: u8 = 0xB5;

/// What a worker holds per node: results (its own and fetched copies), each task's deserialised
/// arguments (its run_spec), and the bookkeeping beside each result it made.
struct Held<'a> {
    data: &'a mut NodeMap<Arc<Tracked>>,
    arguments: &'a mut NodeMap<Vec<Tracked>>,
    states: &'a mut NodeMap<Tracked>,
}

fn run_task(
    run: RunTask,
    account: &Account,
    bookkeeping: Bookkeeping,
    held: Held,
) -> Result<Arc<Tracked>, TaskFailure> {
    let Held {
        data,
        arguments,
        states,
    } = held;
    let RunTask {
        node,
        function,
        output_bytes,
        frame,
        inputs,
        own_result,
        payload_held_bytes,
        ..
    } = run;
    let parts = read_frame(&frame, account, &payload_held_bytes).map_err(|error| match error {
        WireError::Limit(limit) => TaskFailure::Limit(limit),
        WireError::Format(message) => TaskFailure::Failed(message),
    })?;
    // The serialized task is no longer needed once deserialised.
    drop(frame);
    for input in &inputs {
        if let Input::Fetch(dep, remote) = input
            && !data.contains_key(dep)
        {
            data.insert(*dep, Arc::new(account.copy_of(remote)?));
        }
    }
    let mut payloads = parts[1..].iter();
    let mut slices: Vec<&[u8]> = Vec::with_capacity(inputs.len());
    for input in &inputs {
        match input {
            Input::Payload => {
                let payload = payloads.next().ok_or_else(|| {
                    TaskFailure::Failed("the task frame has fewer payloads than arguments".into())
                })?;
                slices.push(payload);
            }
            Input::Local(dep) | Input::Fetch(dep, _) => {
                let held = data.get(dep).ok_or_else(|| {
                    TaskFailure::Failed(format!("input node {dep} is not held by this worker"))
                })?;
                slices.push(held);
            }
        }
    }
    let output_bytes = usize::try_from(output_bytes)
        .map_err(|_| TaskFailure::Failed("result too large".into()))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run_function(function, node, &slices, output_bytes, account)
    }));
    let result = match outcome {
        Ok(result) => result?,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            return Err(TaskFailure::Panicked(message));
        }
    };
    drop(slices);
    if own_result && bookkeeping.0 > 0 {
        let len = usize::try_from(bookkeeping.0)
            .map_err(|_| TaskFailure::Failed("task overhead too large".into()))?;
        states.insert(
            node,
            account.filled(len, |bytes| bytes.resize(len, BOOKKEEPING_FILL))?,
        );
    }
    let result = Arc::new(result);
    data.insert(node, Arc::clone(&result));
    arguments.insert(node, parts);
    Ok(result)
}
