//! Output formats, one file each: tables shared by the human formats, and the renderers of each
//! report. Nothing here computes a figure; it only shows what the earlier stages produced.

pub mod analysis;
pub mod plot;
pub mod samples_csv;
pub mod table;
