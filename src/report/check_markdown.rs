//! Renders a [`CheckReport`] as Markdown for a GitHub step summary or a merge request comment: a
//! verdict heading, a table per graph with ✅/❌, the failed checks, then the top offenders (new or
//! grown duplicated payloads by digest and type, and the layers that grew).

use super::check_text::{figures_table, layers_table, payloads_table, verdict};
use crate::check::CheckReport;

/// The Markdown report.
pub fn markdown(report: &CheckReport) -> String {
    let mark = |passed: bool| if passed { "✅" } else { "❌" };
    let mut out = format!(
        "## {} graphprof check: {}\n\n",
        mark(report.passed),
        verdict(report)
    );
    out.push_str(&format!("Baseline `{}`", report.baseline));
    if let Some(budget) = &report.budget {
        out.push_str(&format!(", budget `{budget}`"));
    }
    out.push_str(if report.sampled {
        ", sampled memory compared by median.\n"
    } else {
        ".\n"
    });
    for graph in &report.graphs {
        out.push_str(&format!("\n### {} `{}`", mark(graph.passed), graph.path));
        if let Some(name) = &graph.name {
            out.push_str(&format!(" — {}", name.replace('|', "\\|")));
        }
        out.push_str("\n\n");
        if !graph.in_baseline {
            out.push_str("_Not in the baseline: only the budget is checked._\n\n");
        }
        out.push_str(&figures_table(graph, "✅", "❌").to_markdown());
        let failed: Vec<_> = graph.checks.iter().filter(|c| !c.passed).collect();
        if !failed.is_empty() {
            out.push_str("\n**Failed checks**\n\n");
            for check in failed {
                out.push_str(&format!("- {}: {}\n", check.name, check.message));
            }
        }
        let payloads = payloads_table(graph, true);
        let layers = layers_table(graph);
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
    out
}
