//! graphprof: find memory waste in Dask-like task graphs.
//!
//! The library behind the `graphprof` binary. Data flows one way:
//! graph -> analysis -> run -> samples -> report.

pub mod report;
pub mod sample;
