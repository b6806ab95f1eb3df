//! The JSON export: `{"schema": "graphprof-sample-export", "version": 1, "interrupted": ..,
//! "runs": [RunFigures, ..]}`, pretty-printed.

use super::{Exporter, RunFigures};
use crate::report::sample_report::SampleReport;
use serde::{Deserialize, Serialize};

/// Value of the `schema` field of the JSON export.
pub const EXPORT_SCHEMA: &str = "graphprof-sample-export";

/// The JSON export's document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Export {
    /// Always `graphprof-sample-export`.
    pub schema: String,
    /// Schema version, 1.
    pub version: u32,
    /// True when Ctrl-C or SIGTERM stopped the runs.
    pub interrupted: bool,
    /// One entry per run, in run order.
    pub runs: Vec<RunFigures>,
}

/// Writes [`Export`] as JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn export(&self, report: &SampleReport) -> Vec<u8> {
        let export = Export {
            schema: EXPORT_SCHEMA.to_string(),
            version: 1,
            interrupted: report.interrupted,
            runs: report.runs.iter().map(RunFigures::of).collect(),
        };
        // Plain structs of numbers and strings always serialise.
        let mut bytes = serde_json::to_vec_pretty(&export).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}
