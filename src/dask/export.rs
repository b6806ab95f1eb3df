//! `graphprof dask export SCRIPT.py:VARIABLE -o graph.json`: runs the embedded exporter with the
//! user's Python, turns its failures into one-line [`DaskError`]s, and loads the file it wrote
//! with the Rust loader, so what comes back has passed the same validation as `analyze`. The
//! embedded package goes in a private [`Scratch`] folder, removed with the exporter's process
//! group should graphprof die.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::child::{self, Scratch, StdoutLine, describe_status, telling_line};
use super::embed::PythonPackage;
use super::error::DaskError;
use crate::graph::{Graph, load_graph};

/// Exit code of `python -m graphprof.run export` when a package is missing.
const EXPORTER_EXIT_MISSING: i32 = 2;
/// Exit code of the exporter when the scheduler cannot be reached.
const EXPORTER_EXIT_UNREACHABLE: i32 = 3;
/// What the Python side writes before the pip command.
const INSTALL_WITH: &str = "; install with: ";

/// What to export, and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The Python to run (see [`resolve_python`](super::resolve_python)).
    pub python: OsString,
    /// `SCRIPT.py:VARIABLE`: the script is imported as a module, the variable is the collection.
    pub target: OsString,
    /// The graph file to write (replaced atomically by the exporter).
    pub output: PathBuf,
    /// Record `measured.wire_bytes`: distributed's own figure for the graph message.
    pub measure_wire: bool,
    /// An existing scheduler (`tcp://HOST:PORT`): persist there to measure the wire, and size
    /// scattered data on the worker that holds it.
    pub scheduler: Option<String>,
    /// How long to try to reach the scheduler.
    pub connect_timeout: Duration,
    /// The graph's name in reports; the exporter uses the target when `None`.
    pub name: Option<String>,
    /// Literals pickled smaller than this are framing, not payloads (the exporter's default 1024).
    pub min_payload_bytes: Option<u64>,
    /// Size non-array outputs' results by running a few of their subgraphs in the exporter.
    pub run_outputs: bool,
}

/// A finished export.
#[derive(Debug)]
pub struct ExportOutcome {
    /// The exported graph, loaded and validated.
    pub graph: Graph,
    /// The exporter's summary line (`wrote graph.json: N tasks, M data objects`).
    pub summary: Option<String>,
}

/// Runs the exporter and loads what it wrote.
pub fn run_export(options: &ExportOptions) -> Result<ExportOutcome, DaskError> {
    let scratch = Scratch::new()?;
    run_export_in(options, &scratch)
}

/// [`run_export`] with the embedded package written in `scratch` (which may hold
/// `options.output` too), whose watchdog kills the exporter's group should graphprof die.
pub fn run_export_in(
    options: &ExportOptions,
    scratch: &Scratch,
) -> Result<ExportOutcome, DaskError> {
    let package = PythonPackage::for_python_in(&options.python, scratch.path())?;
    let mut args: Vec<OsString> = vec![
        "export".into(),
        options.target.clone(),
        "-o".into(),
        options.output.clone().into_os_string(),
        "--timeout-s".into(),
        format!("{}", options.connect_timeout.as_secs_f64()).into(),
    ];
    if options.measure_wire {
        args.push("--measure-wire".into());
    }
    if let Some(scheduler) = &options.scheduler {
        args.push("--scheduler".into());
        args.push(scheduler.into());
    }
    if let Some(name) = &options.name {
        args.push("--name".into());
        args.push(name.into());
    }
    if let Some(bytes) = options.min_payload_bytes {
        args.push("--min-payload-bytes".into());
        args.push(bytes.to_string().into());
    }
    if !options.run_outputs {
        args.push("--no-run-outputs".into());
    }
    let command = package.command(&options.python, &args);
    let mut child = child::spawn_in(command, scratch)
        .map_err(|error| DaskError::python_not_found(&options.python, &error))?;
    // The exporter writes nothing on stdout; drain it until it closes.
    while let Ok(line) = child.lines.recv() {
        if matches!(line, StdoutLine::Closed) {
            break;
        }
    }
    let status = child.wait();
    child.join_readers();
    let stderr = child.stderr_tail();
    let code = status.and_then(|s| s.code());
    if code == Some(0) {
        let graph = load_graph(&options.output).map_err(DaskError::InvalidExport)?;
        let summary = stderr
            .iter()
            .rev()
            .find_map(|line| line.strip_prefix("graphprof: wrote "))
            .map(|rest| format!("wrote {rest}"));
        return Ok(ExportOutcome { graph, summary });
    }
    let text = telling_line(&stderr).unwrap_or_else(|| "no message on stderr".to_string());
    let text = text
        .strip_prefix("graphprof: ")
        .unwrap_or(&text)
        .to_string();
    if code == Some(EXPORTER_EXIT_MISSING)
        && let Some((what, pip)) = text.split_once(INSTALL_WITH)
    {
        return Err(DaskError::MissingDependency {
            text: what.to_string(),
            pip: pip.to_string(),
        });
    }
    if code == Some(EXPORTER_EXIT_UNREACHABLE) {
        return Err(DaskError::Unreachable {
            scheduler: options.scheduler.clone().unwrap_or_default(),
            text,
        });
    }
    Err(DaskError::ExportFailed {
        status: describe_status(status),
        text,
    })
}
