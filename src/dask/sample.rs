//! The Rust side of `graphprof sample --engine dask`: [`run_driver`] starts the embedded driver
//! with the user's Python, reads its line protocol line by line, hands every event to the
//! caller (for a progress bar), and returns one [`Series`] per strategy label with per-worker
//! `dask_process`, `dask_managed` and `rss` readings (and their sums, `worker` empty), the phase
//! marks, distributed's wire figure and warning per label, the workers and the versions.
//!
//! Interrupting (the caller sets [`DaskSampleOptions::interrupt`], e.g. from a Ctrl-C handler)
//! sends the driver SIGINT, which tears its LocalCluster down; the samples taken so far come
//! back with `interrupted` set. The whole run and the scheduler connection have timeouts, and
//! the child is never left running, nor its temporary files left behind, even when graphprof is
//! killed (the run's [`Scratch`] folder and its watchdog: see [`super::child`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::child::{self, Scratch, StdoutLine, TEARDOWN_GRACE, describe_status, telling_line};
use super::collect::{Collector, labels_for};
use super::embed::{DEFAULT_PYTHON, PythonPackage};
use super::error::DaskError;
use super::protocol::{DaskWorker, DriverErrorKind, DriverEvent, parse_line};
use super::sink::CsvSink;
use crate::graph::Strategy;
use crate::sample::series::Series;

pub use super::collect::DaskLabelOutcome;

/// Time Python gets to import dask and start before the connect timeout starts to count.
const STARTUP_ALLOWANCE: Duration = Duration::from_secs(30);
/// How often the loop wakes to check the interrupt flag and the deadlines.
const POLL: Duration = Duration::from_millis(100);

/// What to run on real Dask.
#[derive(Debug, Clone)]
pub struct DaskSampleOptions {
    /// The Python with dask and distributed (see [`resolve_python`](super::resolve_python)).
    pub python: OsString,
    /// Strategies, in order; empty for the driver's default (inline, scatter, delayed).
    pub strategies: Vec<Strategy>,
    /// Chunks of the seed case (`map_blocks` tasks).
    pub chunks: u64,
    /// Requested pickled size of the Mapper.
    pub payload_bytes: u64,
    /// Workers of the LocalCluster (ignored with `scheduler`).
    pub workers: u32,
    /// Sampling interval.
    pub interval: Duration,
    /// An existing scheduler, `tcp://HOST:PORT`; `None` starts a LocalCluster on 127.0.0.1.
    pub scheduler: Option<String>,
    /// How long to try to reach `scheduler`.
    pub timeout: Duration,
    /// How long results are held before release.
    pub hold: Duration,
    /// The whole run's limit; `None` for none. Labels still running are marked incomplete.
    pub run_timeout: Option<Duration>,
    /// The live sample sink: every sample is appended to this CSV file as it arrives (header
    /// written when the file is empty; the `samples.csv` row format), so a run that dies keeps
    /// them. `None` for none.
    pub sink: Option<PathBuf>,
    /// Set to stop the run (Ctrl-C): the driver gets SIGINT and tears its cluster down.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Labels to run in order instead of `strategies` (`as-given`, `scatter`, `scatter#2`, ...);
    /// with `replays`, one graph file per label.
    pub labels: Vec<String>,
    /// The user's collection, `SCRIPT.py:VARIABLE`: run as given and rewritten per label.
    pub collection: Option<OsString>,
    /// Graph files to replay, one per entry of `labels`.
    pub replays: Vec<PathBuf>,
    /// With `collection`: a JSON file holding the list of output keys to run (graph-format
    /// keys); every label runs the collection's graph culled to them.
    pub outputs: Option<PathBuf>,
    /// With `scheduler`: restart the workers before every label (a LocalCluster always gets
    /// fresh workers per label).
    pub restart_workers: bool,
}

impl Default for DaskSampleOptions {
    fn default() -> Self {
        DaskSampleOptions {
            python: OsString::from(DEFAULT_PYTHON),
            strategies: Vec::new(),
            chunks: 256,
            payload_bytes: 240 * 1024,
            workers: 2,
            interval: Duration::from_millis(100),
            scheduler: None,
            timeout: Duration::from_secs(10),
            hold: Duration::from_secs(2),
            run_timeout: None,
            sink: None,
            interrupt: None,
            labels: Vec::new(),
            collection: None,
            replays: Vec::new(),
            outputs: None,
            restart_workers: false,
        }
    }
}

/// The versions the driver reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaskVersions {
    /// `dask.__version__`.
    pub dask: String,
    /// `distributed.__version__`.
    pub distributed: String,
    /// The Python version.
    pub python: String,
}

/// Everything a Dask run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaskRun {
    /// One series per label that sampled anything, in run order.
    pub series: Vec<Series>,
    /// One outcome per requested label (also those never run), in order.
    pub labels: Vec<DaskLabelOutcome>,
    /// The cluster's workers (the `worker` ids of the samples).
    pub workers: Vec<DaskWorker>,
    /// True for a LocalCluster graphprof started and tore down.
    pub local_cluster: bool,
    /// dask, distributed and Python versions, when the driver got that far.
    pub versions: Option<DaskVersions>,
    /// Warnings to show the user (interval shorter than the heartbeat, sink problems, ...).
    pub warnings: Vec<String>,
    /// The run was interrupted (Ctrl-C); the samples so far are kept.
    pub interrupted: bool,
    /// The run hit `run_timeout`.
    pub timed_out: bool,
    /// Where the samples were appended as they arrived.
    pub sink: Option<PathBuf>,
    /// The driver's exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
}

impl DaskRun {
    /// True when every label ran to its end.
    pub fn complete(&self) -> bool {
        self.labels.iter().all(|l| l.complete)
    }
}

fn driver_args(options: &DaskSampleOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["driver".into()];
    if !options.replays.is_empty() {
        for (label, path) in options.labels.iter().zip(&options.replays) {
            let mut pair = OsString::from(format!("{label}="));
            pair.push(path.as_os_str());
            args.push("--replay".into());
            args.push(pair);
        }
    } else if !options.labels.is_empty() {
        for label in &options.labels {
            args.push("--strategy".into());
            args.push(label.split('#').next().unwrap_or(label).into());
        }
    } else {
        for strategy in &options.strategies {
            args.push("--strategy".into());
            args.push(strategy.name().into());
        }
    }
    if let Some(target) = &options.collection {
        args.push("--collection".into());
        args.push(target.clone());
    }
    if let Some(path) = &options.outputs {
        args.push("--outputs".into());
        args.push(path.into());
    }
    if options.restart_workers {
        args.push("--restart-workers".into());
    }
    let pairs: [(&str, String); 6] = [
        ("--chunks", options.chunks.to_string()),
        ("--payload-bytes", options.payload_bytes.to_string()),
        ("--workers", options.workers.to_string()),
        (
            "--interval-ms",
            format!("{}", options.interval.as_secs_f64() * 1e3),
        ),
        ("--timeout-s", format!("{}", options.timeout.as_secs_f64())),
        ("--hold-s", format!("{}", options.hold.as_secs_f64())),
    ];
    for (flag, value) in pairs {
        args.push(flag.into());
        args.push(value.into());
    }
    if let Some(limit) = options.run_timeout {
        args.push("--compute-timeout-s".into());
        args.push(format!("{}", limit.as_secs_f64()).into());
    }
    if let Some(scheduler) = &options.scheduler {
        args.push("--scheduler".into());
        args.push(scheduler.into());
    }
    args
}

/// Runs the seed case on real Dask for each strategy and returns what was sampled.
///
/// `on_event` sees every protocol event as it arrives (progress, phases, samples, warnings).
/// Errors are for runs that produced nothing: no Python, missing packages, unreachable
/// scheduler, a driver that failed before sampling. A label whose worker died or whose task
/// failed comes back incomplete with its samples; so do interrupted and timed-out runs.
pub fn run_driver(
    options: &DaskSampleOptions,
    on_event: &mut dyn FnMut(&DriverEvent),
) -> Result<DaskRun, DaskError> {
    let never = AtomicBool::new(false);
    let cancel = options.interrupt.as_deref().unwrap_or(&never);
    let scratch = Scratch::new()?;
    run_driver_cancellable(options, &scratch, cancel, on_event)
}

/// [`run_driver`] with the interrupt flag given by reference (e.g. the `sample` command's
/// Ctrl-C flag; `options.interrupt` is then ignored) and the run's private `scratch` folder
/// (where the caller put the `replays` and `outputs` files): the embedded package is written
/// there, and its watchdog kills the driver's group should graphprof die.
pub fn run_driver_cancellable(
    options: &DaskSampleOptions,
    scratch: &Scratch,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(&DriverEvent),
) -> Result<DaskRun, DaskError> {
    let sink = match &options.sink {
        Some(path) => Some(CsvSink::open(path.clone()).map_err(|error| DaskError::Io {
            action: "cannot open the sample sink",
            error,
        })?),
        None => None,
    };
    let sink_path = options.sink.clone();
    let expected = if options.labels.is_empty() {
        labels_for(&options.strategies)
    } else {
        options.labels.clone()
    };
    let mut collector = Collector::new(options.interval.as_secs_f64() * 1e3, &expected, sink);

    let package = PythonPackage::for_python_in(&options.python, scratch.path())?;
    let mut args = driver_args(options);
    // A LocalCluster's workers keep their scratch space (`dask-scratch-space`, spilled data) in
    // the run's private folder, not world-writable in TMPDIR under a lax umask.
    args.push("--local-directory".into());
    args.push(scratch.path().join("workers").into());
    let command = package.command(&options.python, args);
    let mut child = child::spawn_in(command, scratch)
        .map_err(|error| DaskError::python_not_found(&options.python, &error))?;

    let started = Instant::now();
    let connect_deadline = options
        .scheduler
        .as_ref()
        .map(|_| started + STARTUP_ALLOWANCE + options.timeout);
    let run_deadline = options.run_timeout.map(|limit| {
        // The driver's own compute timeout fires first; this is the backstop.
        started + STARTUP_ALLOWANCE + limit + options.hold + TEARDOWN_GRACE
    });
    let mut stop: Option<(Instant, &'static str)> = None;
    let mut timed_out = false;
    let mut interrupted = false;
    let mut unreachable_by_us = false;
    loop {
        let now = Instant::now();
        if stop.is_none() {
            if cancel.load(Ordering::SeqCst) {
                interrupted = true;
                child.signal(libc::SIGINT);
                stop = Some((now + TEARDOWN_GRACE, "interrupted"));
            } else if run_deadline.is_some_and(|d| now >= d) {
                timed_out = true;
                child.signal(libc::SIGTERM);
                stop = Some((now + TEARDOWN_GRACE, "the run timed out"));
            } else if connect_deadline.is_some_and(|d| now >= d) && !collector.connected {
                unreachable_by_us = true;
                child.signal(libc::SIGTERM);
                stop = Some((now + TEARDOWN_GRACE, "the scheduler did not answer"));
            }
        }
        if let Some((deadline, _)) = stop
            && now >= deadline
        {
            child.kill_group();
            break;
        }
        match child.lines.recv_timeout(POLL) {
            Ok(StdoutLine::Line(line)) => match parse_line(&line) {
                Ok(event) => {
                    collector.handle(&event);
                    on_event(&event);
                }
                Err(error) => collector
                    .warnings
                    .push(format!("ignored a line the driver wrote ({error}): {line}")),
            },
            Ok(StdoutLine::Closed) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        collector.write_sink(false);
    }
    let status = match stop {
        Some((deadline, _)) => child
            .wait_for(deadline.saturating_duration_since(Instant::now()))
            .or_else(|| child.kill_group()),
        None => child
            .wait_for(TEARDOWN_GRACE)
            .or_else(|| child.kill_group()),
    };
    child.join_readers();
    let stderr = child.stderr_tail();
    let why = match stop {
        Some((_, why)) => why.to_string(),
        None => format!("the driver exited ({})", describe_status(status)),
    };
    let interrupted = interrupted || collector.interrupted;
    if timed_out {
        collector.warnings.push(format!(
            "the Dask run exceeded its time limit of {:.0} s and was stopped",
            options.run_timeout.unwrap_or_default().as_secs_f64()
        ));
    }
    if let Some((kind, text, pip)) = collector.fatal.clone() {
        return Err(fatal_error(options, kind, text, pip, status));
    }
    if unreachable_by_us {
        let scheduler = options.scheduler.clone().unwrap_or_default();
        return Err(DaskError::Unreachable {
            text: format!(
                "cannot reach the Dask scheduler at {scheduler} within {} s",
                options.timeout.as_secs_f64()
            ),
            scheduler,
        });
    }
    if !collector.started() && !interrupted {
        let text =
            telling_line(&stderr).unwrap_or_else(|| "it wrote nothing on stderr".to_string());
        return Err(DaskError::DriverFailed {
            status: describe_status(status),
            text,
        });
    }
    if !collector.ended
        && !interrupted
        && !timed_out
        && let Some(line) = telling_line(&stderr)
    {
        collector
            .warnings
            .push(format!("the Dask driver stopped early: {line}"));
    }
    let (series, labels) = collector.finish(&why);
    Ok(DaskRun {
        series,
        labels,
        workers: collector.workers.clone(),
        local_cluster: collector.local,
        versions: collector
            .hello
            .clone()
            .map(|(dask, distributed, python)| DaskVersions {
                dask,
                distributed,
                python,
            }),
        warnings: collector.warnings.clone(),
        interrupted,
        timed_out,
        sink: sink_path,
        exit_code: status.and_then(|s| s.code()),
    })
}

fn fatal_error(
    options: &DaskSampleOptions,
    kind: DriverErrorKind,
    text: String,
    pip: Option<String>,
    status: Option<std::process::ExitStatus>,
) -> DaskError {
    match kind {
        DriverErrorKind::MissingDependency => DaskError::MissingDependency {
            text,
            pip: pip.unwrap_or_else(|| super::pip_command(&options.python)),
        },
        DriverErrorKind::Unreachable => DaskError::Unreachable {
            scheduler: options.scheduler.clone().unwrap_or_default(),
            text,
        },
        _ => DaskError::DriverFailed {
            status: describe_status(status),
            text,
        },
    }
}
