//! The CSV export: a header and one row per run, with the fields of [`RunFigures`] in order;
//! bytes and seconds are plain numbers, an empty cell is a figure not measured, and text is
//! quoted only when it has to be (RFC 4180).

use super::{Exporter, RunFigures};
use crate::report::sample_report::SampleReport;
use crate::sample::series::push_csv_field;

/// The header row, without a line end.
pub const CSV_EXPORT_HEADER: &str = "label,engine,complete,error,measure,wire_bytes,materialised_bytes,peak_bytes,peak_measured,held_bytes,after_release_bytes,held_managed_bytes,compute_s,wall_time_s";

/// Writes one row per run.
pub struct CsvExporter;

fn number<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

impl Exporter for CsvExporter {
    fn export(&self, report: &SampleReport) -> Vec<u8> {
        let mut out = String::from(CSV_EXPORT_HEADER);
        out.push('\n');
        for run in report.runs.iter().map(RunFigures::of) {
            push_csv_field(&mut out, &run.label);
            out.push(',');
            push_csv_field(&mut out, &run.engine);
            out.push_str(&format!(",{},", run.complete));
            push_csv_field(&mut out, run.error.as_deref().unwrap_or(""));
            let cells = [
                run.measure.to_string(),
                number(run.wire_bytes),
                number(run.materialised_bytes),
                number(run.peak_bytes),
                run.peak_measured.to_string(),
                number(run.held_bytes),
                number(run.after_release_bytes),
                number(run.held_managed_bytes),
                number(run.compute_s),
                run.wall_time_s.to_string(),
            ];
            for cell in cells {
                out.push(',');
                out.push_str(&cell);
            }
            out.push('\n');
        }
        out.into_bytes()
    }
}
