//! Output formats, one file each: tables shared by the human formats, and the renderers of each
//! report. Nothing here computes a figure; it only shows what the earlier stages produced.

pub mod analysis;
pub mod check_markdown;
pub mod check_text;
pub mod diff;
pub mod export;
pub mod html;
pub mod junit;
pub mod markdown_escape;
pub mod plot;
pub mod sample_files;
pub mod sample_folder;
pub mod sample_layers;
pub mod sample_report;
pub mod sample_table;
pub mod samples_csv;
pub mod sweep;
pub mod sweep_fit;
pub mod sweep_plot;
pub mod table;
