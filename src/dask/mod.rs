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
pub mod error;
pub mod export;
pub mod protocol;
pub mod sample;
pub mod sink;

pub use embed::{PythonPackage, pip_command, resolve_python};
pub use error::DaskError;
pub use export::{ExportOptions, ExportOutcome, run_export};
pub use protocol::{DaskWorker, DriverErrorKind, DriverEvent};
pub use sample::{
    DaskLabelOutcome, DaskRun, DaskSampleOptions, DaskVersions, run_driver, run_driver_cancellable,
};
