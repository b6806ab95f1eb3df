//! Report outputs, one file per format.

pub mod plot;
pub mod samples_csv;
