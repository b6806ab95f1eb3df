//! graphprof: finds and measures memory waste in Dask-style task graphs, and proves the fix.
//!
//! Data flows one way: graph -> analysis -> run -> samples -> report. `commands` (in the binary)
//! is the only place that wires the stages together.

pub mod analyze;
pub mod check;
pub mod dask;
pub mod engine;
pub mod error;
pub mod escape;
pub mod graph;
pub mod output;
pub mod report;
pub mod sample;
pub mod units;
