//! Real Dask: the Python side (`python/graphprof/`, installed or embedded), run with the user's Python.
//!
//! - [`export`]: `python -m graphprof.run export SCRIPT.py:VARIABLE -o graph.json`, a real
//!   collection's graph written in graph format v1 (then loaded and validated by the Rust loader).
//! - [`sample`]: the sampling driver for `graphprof sample --engine dask`; its line protocol
//!   ([`protocol`]) becomes one [`Series`](crate::sample::series::Series) per strategy label.
//!
//! - [`calibrate`]: `python -m graphprof.run calibrate`, the workers' RSS per held task beyond
//!   the results, for `graphprof calibrate`.
//!
//! Python is a child process started with `Command` and arguments, never a shell. Every failure
//! the user can fix (no Python, no dask, no scheduler) is one line in a [`DaskError`] saying what
//! to do, with the exact pip command where a package is missing.

pub mod calibrate;
pub mod child;
pub mod collect;
pub mod embed;
pub mod export;
pub mod protocol;
pub mod sample;
pub mod sink;

pub use embed::{PythonPackage, pip_command, resolve_python};
pub use export::{ExportOptions, ExportOutcome, run_export};
pub use protocol::{DaskWorker, DriverErrorKind, DriverEvent};
pub use sample::{
    DaskLabelOutcome, DaskRun, DaskSampleOptions, DaskVersions, run_driver, run_driver_cancellable,
};

use crate::error::InputError;

/// What can stop a Dask export or a Dask run before it produced anything.
#[derive(Debug, thiserror::Error)]
pub enum DaskError {
    /// The Python executable cannot be started.
    #[error(
        "cannot run Python {python:?}: {reason}; install Python 3, then the pinned Dask packages: {pip}"
    )]
    PythonNotFound {
        /// The Python that was tried.
        python: String,
        /// Why it could not be started.
        reason: String,
        /// The pip command to run once Python is there.
        pip: String,
    },
    /// Python runs but dask, distributed or another required package is missing.
    #[error("{text}; install with: {pip}")]
    MissingDependency {
        /// What is missing, as Python reported it.
        text: String,
        /// The exact pip command.
        pip: String,
    },
    /// The scheduler given with `--scheduler` did not answer in time.
    #[error("{text}")]
    Unreachable {
        /// The scheduler's address.
        scheduler: String,
        /// One line: what was tried, for how long, and what happened.
        text: String,
    },
    /// The exporter failed (a bad script or variable, an exception while walking the graph).
    #[error("dask export failed ({status}): {text}")]
    ExportFailed {
        /// How the exporter exited.
        status: String,
        /// The telling line of its stderr.
        text: String,
    },
    /// The exporter wrote a file that the graph loader refuses.
    #[error("the exported graph is invalid: {0}")]
    InvalidExport(InputError),
    /// The driver stopped before sampling anything, or broke the protocol.
    #[error("the Dask driver failed ({status}): {text}")]
    DriverFailed {
        /// How the driver exited.
        status: String,
        /// The telling line of its stderr or its `error` event.
        text: String,
    },
    /// An I/O problem on graphprof's side (temporary files, pipes, the sample sink).
    #[error("{action}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Why it failed (in the message, so not a `source`: errors print on one line).
        error: std::io::Error,
    },
}

impl DaskError {
    /// The error for a Python that cannot be spawned.
    pub fn python_not_found(python: &std::ffi::OsStr, error: &std::io::Error) -> DaskError {
        DaskError::PythonNotFound {
            python: python.to_string_lossy().into_owned(),
            reason: error.to_string(),
            pip: pip_command(std::ffi::OsStr::new(embed::DEFAULT_PYTHON)),
        }
    }
}
