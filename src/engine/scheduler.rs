//! The scheduler: holds the graph as the client sent it, sends each ready task on its own
//! (serializing that task's arguments, payload copies included) to the worker the placement
//! model gives it ([`crate::graph::placement`], the held model's), tells the holders to release an
//! intermediate result once all its dependents ran (keeping the run_spec of an ancestor that a held
//! result keeps on its worker, [`crate::graph::held::Kept::RunSpec`]), and stops on the first
//! failure, the memory limit or cancellation.
//!
//! Ready tasks are taken last-in first-out, so a task's dependents run soon after it (as
//! `dask.order` favours), the sources with the most dependents first, and each worker has a bounded queue so that threads never wait for the
//! scheduler without piling up serialized payloads.

use super::functions::{FunctionKind, TaskFailure, classify};
use super::ledger::{Account, Ledger, Tracked};
use super::options::EngineEvent;
use super::wire::{GraphMessage, PAYLOAD_FLAG};
use super::worker::{FromWorker, Input, RunTask, ToWorker};
use crate::graph::Graph;
use crate::graph::held::{Kept, kept_ancestors_keep_state, kept_with_placement};
use crate::graph::placement::placement;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

/// Most tasks queued on one worker.
const QUEUE_TASKS: u32 = 16;
/// Bytes of serialized tasks queued on one worker beyond which it gets no more (but at least one).
const QUEUE_BYTES: usize = 8 << 20;
const NOT_A_TASK: u32 = u32::MAX;

/// Dependencies and dependents of every task, as flat arrays.
struct Links {
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Links {
    fn of(&self, task: u32) -> &[u32] {
        &self.items[self.starts[task as usize] as usize..self.starts[task as usize + 1] as usize]
    }
}

/// The channels to the workers and from them.
pub struct Cluster<'a> {
    /// One inbox per worker.
    pub workers: &'a [Sender<ToWorker>],
    /// Reports from all workers.
    pub reports: &'a Receiver<FromWorker>,
}

impl Cluster<'_> {
    /// Sends to a worker; a worker that is gone is an error.
    pub fn send(&self, worker: usize, message: ToWorker) -> Result<(), String> {
        self.workers[worker]
            .send(message)
            .map_err(|_| format!("worker {worker} stopped unexpectedly"))
    }

    /// Waits until every worker has handled everything sent so far.
    pub fn barrier(&self) -> Result<(), String> {
        for worker in 0..self.workers.len() {
            self.send(worker, ToWorker::Sync)?;
        }
        let mut synced = 0;
        while synced < self.workers.len() {
            match self.reports.recv() {
                Ok(FromWorker::Synced { .. }) => synced += 1,
                Ok(FromWorker::Failed { task, failure, .. }) => {
                    let what = match task {
                        None => "scattering data".to_string(),
                        Some(_) => "a task".to_string(),
                    };
                    return Err(describe_failure(&what, failure));
                }
                Ok(FromWorker::Done { .. }) => {}
                Err(_) => return Err("the workers stopped unexpectedly".into()),
            }
        }
        Ok(())
    }
}

/// Turns a worker's failure into the run's error; `what` names the task (`task ('f-77ab', 3)`).
pub fn describe_failure(what: &str, failure: TaskFailure) -> String {
    match failure {
        TaskFailure::Failed(message) => format!("{what} failed: {message}"),
        TaskFailure::Panicked(message) => format!("{what} panicked: {message}"),
        TaskFailure::Limit(limit) => format!("{limit} ({what}); the run was stopped"),
    }
}

/// Runs every task of `message` on the workers. `scattered[node]` says which data objects the
/// workers already hold.
pub struct Scheduler<'a> {
    graph: &'a Graph,
    message: &'a GraphMessage,
    functions: Vec<FunctionKind>,
    task_of_node: Vec<u32>,
    dependencies: Links,
    dependents: Links,
    waiting: Vec<u32>,
    remaining_dependents: Vec<u32>,
    /// Tasks held with the results (see [`crate::graph::held`]): never released before the end.
    held: Vec<bool>,
    /// Per node: the worker that runs it ([`crate::graph::placement`]).
    place: Vec<u16>,
    /// Per node: what the workers keep of it while the results are held.
    kept: Vec<Kept>,
    /// Whether a kept ancestor keeps its bookkeeping too.
    keep_states: bool,
    results: Vec<Option<Arc<Tracked>>>,
    holders: Vec<Vec<u16>>,
    queued_tasks: Vec<u32>,
    queued_bytes: Vec<usize>,
    frame_bytes: Vec<usize>,
}

impl<'a> Scheduler<'a> {
    /// Indexes the message: which tasks wait for which.
    pub fn new(
        graph: &'a Graph,
        message: &'a GraphMessage,
        scattered: &[bool],
        workers: usize,
    ) -> Result<Self, String> {
        let tasks = message.tasks.len();
        let mut task_of_node = vec![NOT_A_TASK; graph.node_count()];
        for (index, record) in message.tasks.iter().enumerate() {
            let slot = task_of_node
                .get_mut(record.node as usize)
                .ok_or("the message names a node the graph does not have")?;
            *slot = index as u32;
        }
        let mut dependency_lists: Vec<Vec<u32>> = Vec::with_capacity(tasks);
        let mut dependent_counts = vec![0u32; tasks];
        for record in &message.tasks {
            let mut deps: Vec<u32> = Vec::new();
            let refs = record.args.iter().filter(|&&arg| arg & PAYLOAD_FLAG == 0);
            for &node in refs.chain(&record.deps) {
                let task = *task_of_node.get(node as usize).unwrap_or(&NOT_A_TASK);
                if task != NOT_A_TASK {
                    deps.push(task);
                } else if !scattered.get(node as usize).copied().unwrap_or(false) {
                    return Err(format!(
                        "task {} depends on {}, which is neither a task nor scattered data",
                        graph.key_display(record.node),
                        graph.key_display(node)
                    ));
                }
            }
            deps.sort_unstable();
            deps.dedup();
            for &dep in &deps {
                dependent_counts[dep as usize] += 1;
            }
            dependency_lists.push(deps);
        }
        let waiting: Vec<u32> = dependency_lists.iter().map(|d| d.len() as u32).collect();
        let dependencies = Links {
            starts: prefix_sums(dependency_lists.iter().map(|d| d.len() as u32)),
            items: dependency_lists.iter().flatten().copied().collect(),
        };
        let starts = prefix_sums(dependent_counts.iter().copied());
        let mut fill = starts.clone();
        let mut items = vec![0u32; dependencies.items.len()];
        for (task, deps) in dependency_lists.iter().enumerate() {
            for &dep in deps {
                items[fill[dep as usize] as usize] = task as u32;
                fill[dep as usize] += 1;
            }
        }
        let place = placement(graph, workers as u32);
        Ok(Scheduler {
            graph,
            message,
            functions: message
                .functions
                .iter()
                .map(|name| classify(name))
                .collect(),
            task_of_node,
            dependencies,
            dependents: Links { starts, items },
            waiting,
            remaining_dependents: dependent_counts,
            kept: kept_with_placement(graph, &place),
            keep_states: kept_ancestors_keep_state(graph),
            place,
            held: {
                let held_nodes = crate::graph::held::held_nodes(graph);
                message
                    .tasks
                    .iter()
                    .map(|record| {
                        held_nodes
                            .get(record.node as usize)
                            .copied()
                            .unwrap_or(true)
                    })
                    .collect()
            },
            results: (0..tasks).map(|_| None).collect(),
            holders: vec![Vec::new(); tasks],
            queued_tasks: vec![0; workers],
            queued_bytes: vec![0; workers],
            frame_bytes: vec![0; tasks],
        })
    }

    fn has_room(&self, worker: usize) -> bool {
        self.queued_tasks[worker] == 0
            || (self.queued_tasks[worker] < QUEUE_TASKS && self.queued_bytes[worker] < QUEUE_BYTES)
    }

    /// The worker the placement model gives the task ([`crate::graph::placement`]), once it has
    /// room: the engine runs every task where the held model places it, whatever the timing.
    fn choose_worker(&self, task: u32) -> Option<usize> {
        let node = self.message.tasks[task as usize].node;
        let worker = self.place[node as usize] as usize % self.queued_tasks.len();
        self.has_room(worker).then_some(worker)
    }

    fn dispatch(
        &mut self,
        task: u32,
        worker: usize,
        cluster: &Cluster,
        account: &Account,
    ) -> Result<(), String> {
        let record = &self.message.tasks[task as usize];
        let frame = self.message.task_frame(record, account).map_err(|limit| {
            format!(
                "{limit} (sending task {}); the run was stopped",
                self.graph.key_display(record.node)
            )
        })?;
        let mut inputs = Vec::with_capacity(record.args.len());
        for &arg in &record.args {
            if arg & PAYLOAD_FLAG != 0 {
                inputs.push(Input::Payload);
                continue;
            }
            let dep = self.task_of_node[arg as usize];
            if dep == NOT_A_TASK {
                inputs.push(Input::Local(arg));
                continue;
            }
            let holders = &mut self.holders[dep as usize];
            if holders.contains(&(worker as u16)) {
                inputs.push(Input::Local(arg));
            } else {
                let result = self.results[dep as usize]
                    .clone()
                    .ok_or("a dependency's result was released too early")?;
                holders.push(worker as u16);
                inputs.push(Input::Fetch(arg, result));
            }
        }
        self.frame_bytes[task as usize] = frame.len();
        self.queued_bytes[worker] += frame.len();
        self.queued_tasks[worker] += 1;
        let run = RunTask {
            task,
            node: record.node,
            function: self.functions[record.function as usize],
            output_bytes: record.output_bytes,
            frame,
            inputs,
            has_dependents: self.remaining_dependents[task as usize] > 0,
            own_result: crate::graph::held::has_own_result(self.graph, record.node),
            payload_held_bytes: self
                .graph
                .payloads(record.node)
                .map(|payload| {
                    let content = &self.graph.contents[payload.content as usize];
                    content.info.in_memory_bytes.unwrap_or(0)
                })
                .collect(),
        };
        cluster.send(worker, ToWorker::Run(run))
    }

    fn finished(
        &mut self,
        task: u32,
        worker: u32,
        result: Option<Arc<Tracked>>,
        ready: &mut Vec<u32>,
        cluster: &Cluster,
    ) -> Result<(), String> {
        let worker = worker as usize;
        self.queued_tasks[worker] -= 1;
        self.queued_bytes[worker] -= self.frame_bytes[task as usize];
        if result.is_some() {
            self.results[task as usize] = result;
            self.holders[task as usize].push(worker as u16);
        }
        for index in 0..self.dependencies.of(task).len() {
            let dep = self.dependencies.of(task)[index] as usize;
            self.remaining_dependents[dep] -= 1;
            if self.remaining_dependents[dep] == 0 && !self.held[dep] {
                self.results[dep] = None;
                let node = self.message.tasks[dep].node;
                let keep_spec = self.kept[node as usize] == Kept::RunSpec;
                let keep_state = keep_spec && self.keep_states;
                for holder in std::mem::take(&mut self.holders[dep]) {
                    let release = ToWorker::Release {
                        node,
                        keep_spec,
                        keep_state,
                    };
                    cluster.send(holder as usize, release)?;
                }
            }
        }
        for &dependent in self.dependents.of(task).iter().rev() {
            self.waiting[dependent as usize] -= 1;
            if self.waiting[dependent as usize] == 0 {
                ready.push(dependent);
            }
        }
        Ok(())
    }

    /// Runs every task; returns when all are done and the workers have handled every release.
    pub fn compute(
        &mut self,
        cluster: &Cluster,
        ledger: &Arc<Ledger>,
        cancel: &AtomicBool,
        observer: &mut dyn FnMut(EngineEvent),
    ) -> Result<(), String> {
        let account = Account::engine(ledger);
        let total = self.message.tasks.len() as u64;
        let tasks_done = &ledger.gauges().tasks_done;
        let mut ready: Vec<u32> = (0..total as u32)
            .rev()
            .filter(|&task| self.waiting[task as usize] == 0)
            .collect();
        // Sources that many tasks need first (a delayed builder), as `dask.order` does: else
        // every other source would run, and its result wait, before the builder.
        ready.sort_by_key(|&task| self.dependents.of(task).len());
        let mut done = 0u64;
        let mut queued = 0u64;
        while done < total {
            while let Some(&task) = ready.last() {
                if cancel.load(Ordering::Relaxed) {
                    return Err("cancelled".into());
                }
                let Some(worker) = self.choose_worker(task) else {
                    break;
                };
                ready.pop();
                self.dispatch(task, worker, cluster, &account)?;
                queued += 1;
            }
            if queued == done {
                return Err("no task can run: the graph's dependencies are inconsistent".into());
            }
            let first = cluster.reports.recv();
            let mut report = Some(first.map_err(|_| "the workers stopped unexpectedly")?);
            while let Some(message) = report.take() {
                match message {
                    FromWorker::Done {
                        task,
                        worker,
                        result,
                    } => {
                        self.finished(task, worker, result, &mut ready, cluster)?;
                        done += 1;
                        tasks_done.store(done, Ordering::Release);
                        observer(EngineEvent::TaskDone { done, total });
                    }
                    FromWorker::Failed { task, failure, .. } => {
                        let what = match task {
                            Some(task) => format!(
                                "task {}",
                                self.graph
                                    .key_display(self.message.tasks[task as usize].node)
                            ),
                            None => "scattering data".to_string(),
                        };
                        return Err(describe_failure(&what, failure));
                    }
                    FromWorker::Synced { .. } => {}
                }
                report = cluster.reports.try_recv().ok();
            }
            if cancel.load(Ordering::Relaxed) {
                return Err("cancelled".into());
            }
        }
        cluster.barrier()
    }
}

fn prefix_sums(counts: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut starts = vec![0u32];
    let mut sum = 0u32;
    for count in counts {
        sum += count;
        starts.push(sum);
    }
    starts
}
