//! What can stop a Dask export or a Dask run before it produced anything: one line the user can
//! act on (no Python, no dask, no scheduler, a failed exporter or driver).

use crate::error::InputError;

/// What can stop a Dask export or a Dask run before it produced anything.
#[derive(Debug, thiserror::Error)]
pub enum DaskError {
    /// The Python executable cannot be started.
    #[error(
        "cannot run Python {python:?}: {reason}; install Python 3, then the Dask packages graphprof supports: {pip}"
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
