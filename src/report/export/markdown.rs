//! The Markdown export: the terminal table as a pipe table (one row per run), with the notes
//! under it, for a merge request comment or `$GITHUB_STEP_SUMMARY`.

use super::Exporter;
use crate::report::sample_report::SampleReport;
use crate::report::sample_table::{sparse_note, table};

/// Writes the table as Markdown.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn export(&self, report: &SampleReport) -> Vec<u8> {
        let mut out = table(report).to_markdown();
        let note = sparse_note(report);
        if !note.is_empty() {
            out.push('\n');
            out.push_str(&note);
        }
        out.push_str("\nMemory is above each run's baseline.\n");
        out.into_bytes()
    }
}
