//! One run, phase by phase: start the workers; submit (the client serializes the graph and
//! broadcasts scattered data, the scheduler receives and reads the message); compute; hold the
//! results; release everything and stop the workers. A failure, the memory limit or cancellation
//! skips to release, so managed bytes always return to zero.

use super::ledger::{Account, Ledger};
use super::options::{EngineEvent, EngineOptions, PhaseTimes, RunOutcome};
use super::scheduler::{Cluster, Scheduler};
use super::wire::{self, WireError, content_bytes};
use super::worker::{ToWorker, work};
use crate::graph::{Graph, NodeKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the phases before release found.
/// What a run needs of its engine: the options, the ledger and the cancellation flag.
pub(super) struct Parts<'a> {
    pub options: &'a EngineOptions,
    pub ledger: &'a Arc<Ledger>,
    pub cancel: &'a Arc<AtomicBool>,
}

#[derive(Default)]
struct Progress {
    wire_bytes: u64,
    held: Option<(u64, Vec<u64>)>,
    phases: PhaseTimes,
}

pub(super) fn run(
    engine: &Parts,
    graph: &Graph,
    observer: &mut dyn FnMut(EngineEvent),
) -> RunOutcome {
    let ledger = engine.ledger;
    let gauges = ledger.gauges();
    let tasks_total = graph.task_count() as u64;
    gauges.tasks_total.store(tasks_total, Ordering::Release);
    gauges.tasks_done.store(0, Ordering::Release);
    ledger.reset_peak();
    let workers = engine.options.workers as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut progress = Progress::default();
    let mut peak = 0;
    let mut release = Duration::ZERO;
    let result = std::thread::scope(|scope| {
        let (report_tx, report_rx) = mpsc::channel();
        let mut inboxes = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (tx, rx) = mpsc::channel();
            inboxes.push(tx);
            let account = Account::worker(ledger, worker as u32);
            let reports = report_tx.clone();
            let stop = Arc::clone(&stop);
            let overhead = engine.options.task_overhead_bytes;
            let spawned = std::thread::Builder::new()
                .name(format!("graphprof-worker-{worker}"))
                .spawn_scoped(scope, move || {
                    work(worker as u32, account, overhead, rx, reports, stop)
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(error) => return Err(format!("cannot start worker thread: {error}")),
            }
        }
        drop(report_tx);
        let cluster = Cluster {
            workers: &inboxes,
            reports: &report_rx,
        };
        let result = phases(engine, graph, &cluster, observer, &mut progress);
        peak = ledger.peak();
        observer(EngineEvent::Phase("released"));
        let releasing = Instant::now();
        stop.store(true, Ordering::Release);
        for inbox in &inboxes {
            // A worker that already exited has nothing left to drop.
            let _ = inbox.send(ToWorker::Stop);
        }
        for handle in handles {
            if handle.join().is_err() {
                return Err("a worker thread panicked".to_string());
            }
        }
        release = releasing.elapsed();
        result
    });
    let tasks_done = gauges.tasks_done.load(Ordering::Acquire);
    let (held_managed_bytes, held_managed_per_worker) = progress.held.unwrap_or_default();
    progress.phases.release = release;
    RunOutcome {
        wire_bytes: progress.wire_bytes,
        tasks_total,
        tasks_done,
        held_managed_bytes,
        held_managed_per_worker,
        peak_managed_bytes: peak,
        after_release_managed_bytes: ledger.managed(),
        wall_time: started.elapsed(),
        phases: progress.phases,
        complete: result.is_ok() && tasks_done == tasks_total,
        error: result.err(),
    }
}

fn held_now(ledger: &Ledger, workers: usize) -> (u64, Vec<u64>) {
    (
        ledger.managed(),
        (0..workers)
            .map(|worker| ledger.managed_by(worker))
            .collect(),
    )
}

fn phases(
    engine: &Parts,
    graph: &Graph,
    cluster: &Cluster,
    observer: &mut dyn FnMut(EngineEvent),
    progress: &mut Progress,
) -> Result<(), String> {
    let ledger = engine.ledger;
    let workers = cluster.workers.len();
    let cancel = &**engine.cancel;
    let account = Account::engine(ledger);
    let wire_error = |error: WireError| match error {
        WireError::Limit(limit) => format!("{limit} (submitting the graph); the run was stopped"),
        WireError::Format(message) => format!("cannot serialize the graph: {message}"),
    };

    observer(EngineEvent::Phase("submit"));
    let submitting = Instant::now();
    let result = (|| {
        let sent = wire::serialize_graph(graph, &account).map_err(wire_error)?;
        progress.wire_bytes = sent.len() as u64;
        let mut scattered = vec![false; graph.node_count()];
        for id in graph.node_ids() {
            if let NodeKind::Data { content } = graph.node(id).kind {
                let bytes = content_bytes(graph, content, &account)
                    .map_err(|limit| wire_error(WireError::Limit(limit)))?;
                let bytes = Arc::new(bytes);
                for worker in 0..workers {
                    cluster.send(
                        worker,
                        ToWorker::Scatter {
                            node: id,
                            bytes: Arc::clone(&bytes),
                        },
                    )?;
                }
                scattered[id as usize] = true;
            }
        }
        // The scheduler receives its own copy of the message; the client's is then dropped.
        let received = account
            .copy_of(&sent)
            .map_err(|limit| wire_error(WireError::Limit(limit)))?;
        drop(sent);
        let message = wire::read_graph(received).map_err(wire_error)?;
        cluster.barrier()?;
        Ok((message, scattered))
    })();
    progress.phases.submit = submitting.elapsed();
    let (message, scattered) = match result {
        Ok(parts) => parts,
        Err(error) => {
            progress.held = Some(held_now(ledger, workers));
            return Err(error);
        }
    };

    observer(EngineEvent::Phase("compute"));
    let computing = Instant::now();
    let result = Scheduler::new(graph, &message, &scattered, workers)
        .and_then(|mut scheduler| scheduler.compute(cluster, ledger, cancel, observer));
    // The scheduler forgets the graph once every task ran (or the run stopped).
    drop(message);
    progress.phases.compute = computing.elapsed();
    progress.held = Some(held_now(ledger, workers));
    result?;

    observer(EngineEvent::Phase("held"));
    let holding = Instant::now();
    while holding.elapsed() < engine.options.hold && !cancel.load(Ordering::Relaxed) {
        let left = engine.options.hold.saturating_sub(holding.elapsed());
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
    progress.phases.held = holding.elapsed();
    Ok(())
}
