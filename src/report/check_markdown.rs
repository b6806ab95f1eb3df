//! Renders a [`CheckReport`] as Markdown for a GitHub step summary or a merge request comment: a
//! verdict heading, a table per graph with ✅ ok / ❌ FAIL against the baseline and the budget apart, the failed checks, then the top offenders (new or
//! grown duplicated payloads by digest and type, and the layers that grew).

use super::check_text::{Cells, figures_table, layers_table, payloads_table, verdict};
use super::markdown_escape::{code_span, escape_markdown};
use crate::check::CheckReport;

/// The Markdown report.
pub fn markdown(report: &CheckReport) -> String {
    let mark = |passed: bool| if passed { "✅" } else { "❌" };
    let mut out = format!(
        "## {} graphprof check: {}\n\n",
        mark(report.passed),
        verdict(report)
    );
    out.push_str(&format!("Baseline {}", code_span(&report.baseline)));
    if let Some(budget) = &report.budget {
        out.push_str(&format!(", budget {}", code_span(budget)));
    }
    out.push_str(if report.sampled {
        ", sampled memory compared by median.\n"
    } else {
        ".\n"
    });
    for graph in &report.graphs {
        out.push_str(&format!(
            "\n### {} {} {}",
            mark(graph.passed),
            if graph.passed { "ok" } else { "FAIL" },
            code_span(&graph.path)
        ));
        if let Some(name) = &graph.name {
            out.push_str(&format!(" — {}", escape_markdown(name)));
        }
        out.push_str("\n\n");
        if !graph.in_baseline {
            out.push_str("_Not in the baseline: only the budget is checked._\n\n");
        }
        out.push_str(&figures_table(graph, "✅ ok", "❌ FAIL").to_markdown());
        let failed: Vec<_> = graph.checks.iter().filter(|c| !c.passed).collect();
        if !failed.is_empty() {
            out.push_str("\n**Failed checks**\n\n");
            for check in failed {
                out.push_str(&format!(
                    "- {}: {}\n",
                    escape_markdown(&check.name),
                    escape_markdown(&check.message)
                ));
            }
        }
        let payloads = payloads_table(graph, Cells::Markdown);
        let layers = layers_table(graph, Cells::Markdown);
        if !payloads.is_empty() || !layers.is_empty() {
            out.push_str("\n**Top offenders**\n\n");
        }
        if !payloads.is_empty() {
            out.push_str("Duplicated payloads that are new or grew:\n\n");
            out.push_str(&payloads.to_markdown());
            out.push('\n');
        }
        if !layers.is_empty() {
            out.push_str("Layers that grew (materialised bytes):\n\n");
            out.push_str(&layers.to_markdown());
        }
    }
    crate::escape::lines(&out)
}
