//! Runs one graph on the built-in engine under the sampler: the engine's exact managed-byte gauges
//! (total and per worker) and this process's RSS are read every tick, the engine's phases are
//! marked on the series. Shared by `graphprof sample` and `graphprof check --sample`.

use super::{Gauge, Measure, Phase, ProcessTree, SampleError, Sampler, Series, Source};
use crate::engine::{Engine, EngineError, EngineEvent, EngineOptions, RunOutcome};
use crate::graph::Graph;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How to sample a built-in run.
#[derive(Debug, Clone)]
pub struct BuiltinSampling {
    /// The engine's options: workers, hold, memory limit.
    pub engine: EngineOptions,
    /// Time between samples.
    pub interval: Duration,
    /// A CSV file the samples are appended to as they are taken.
    pub sink: Option<PathBuf>,
}

/// A sampled run: the series and the engine's own figures.
#[derive(Debug, Clone)]
pub struct SampledRun {
    /// The samples, with phases marked; `complete` is the engine's.
    pub series: Series,
    /// The engine's figures.
    pub outcome: RunOutcome,
}

/// Why a built-in run could not be sampled.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// The engine refused its options.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The sampler failed.
    #[error(transparent)]
    Sampler(#[from] SampleError),
}

fn phase(name: &str) -> Option<Phase> {
    match name {
        "submit" => Some(Phase::Submit),
        "compute" => Some(Phase::Compute),
        "held" => Some(Phase::Held),
        "released" => Some(Phase::Released),
        _ => None,
    }
}

/// Runs `graph` under the sampler. `cancel` (Ctrl-C) stops the run between tasks or ends the
/// hold early (the run is then incomplete); `on_task`
/// gets `(done, total)` after every task, for a progress bar.
pub fn sample_graph(
    label: &str,
    graph: &Graph,
    sampling: &BuiltinSampling,
    cancel: &Arc<AtomicBool>,
    on_task: &mut dyn FnMut(u64, u64),
) -> Result<SampledRun, BuiltinError> {
    let mut engine = Engine::new(sampling.engine.clone())?.with_cancel_flag(Arc::clone(cancel));
    let gauges = engine.gauges();
    let mut sources: Vec<Box<dyn Source>> = vec![
        Box::new(ProcessTree::current()),
        Box::new(Gauge {
            measure: Measure::Managed,
            worker: None,
            bytes: gauges.managed_total.clone(),
        }),
    ];
    for (worker, bytes) in gauges.managed_per_worker.iter().enumerate() {
        sources.push(Box::new(Gauge {
            measure: Measure::Managed,
            worker: Some(worker as u32),
            bytes: bytes.clone(),
        }));
    }
    let handle = Sampler::start(label, sampling.interval, sources, sampling.sink.clone())?;
    // Let the sampler see the level before the run starts.
    std::thread::sleep(sampling.interval.min(Duration::from_millis(50)) * 3);
    let mut outcome = engine.run(graph, &mut |event| match event {
        EngineEvent::Phase(name) => {
            if let Some(phase) = phase(name) {
                handle.mark(phase);
            }
        }
        EngineEvent::TaskDone { done, total } => on_task(done, total),
    });
    if cancel.load(Ordering::SeqCst) && outcome.complete {
        // Stopped while the results were held: every task ran, but the run was cut short.
        outcome.complete = false;
        outcome.error = Some("interrupted (Ctrl-C or SIGTERM) while the results were held".into());
    } else if cancel.load(Ordering::SeqCst) && outcome.error.as_deref() == Some("cancelled") {
        // Stopped between tasks: say by what, and how far the run got.
        outcome.error = Some(format!(
            "interrupted (Ctrl-C or SIGTERM) after {} of {} tasks",
            outcome.tasks_done, outcome.tasks_total
        ));
    }
    // Hand freed memory back to the system, so the next run's baseline is not this run's
    // leftovers (glibc keeps freed heap memory otherwise).
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap pages; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
    // One more interval so the level after release is sampled.
    std::thread::sleep(sampling.interval.min(Duration::from_millis(50)) * 3);
    let mut series = match handle.stop() {
        Ok(series) => series,
        Err(SampleError::SinkWrite { series, .. }) => *series,
        Err(other) => return Err(other.into()),
    };
    series.complete = outcome.complete;
    Ok(SampledRun { series, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Strategy;
    use crate::graph::generate::{GenerateOptions, GeneratorKind, generate_graph};

    #[test]
    fn an_early_interrupt_says_by_what_and_how_far_the_run_got() {
        let graph = generate_graph(&GenerateOptions {
            kind: GeneratorKind::MapBlocks,
            chunks: 64,
            payload_bytes: 1024,
            strategy: Strategy::Inline,
            ..GenerateOptions::default()
        })
        .expect("generates");
        let sampling = BuiltinSampling {
            engine: EngineOptions {
                workers: 2,
                hold: Duration::ZERO,
                memory_limit_bytes: None,
                ..EngineOptions::default()
            },
            interval: Duration::from_millis(2),
            sink: None,
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let run = sample_graph("inline", &graph, &sampling, &cancel, &mut |done, _| {
            if done == 10 {
                flag.store(true, Ordering::SeqCst);
            }
        })
        .expect("samples");
        assert!(!run.outcome.complete);
        let error = run.outcome.error.unwrap_or_default();
        assert!(
            error.starts_with("interrupted (Ctrl-C or SIGTERM) after "),
            "{error}"
        );
        assert!(
            error.ends_with(&format!("of {} tasks", graph.task_count())),
            "{error}"
        );
        // The phases up to the interrupt were marked, each with a boundary sample.
        assert!(run.series.phases.len() >= 2);
    }
}
