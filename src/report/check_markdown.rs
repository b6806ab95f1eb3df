//! Renders a [`CheckReport`] as Markdown for a GitHub step summary or a merge request comment: a
//! verdict heading, a table per graph with ✅ ok / ❌ FAIL against the baseline and the budget apart, the failed checks, then the top offenders (new or
//! grown duplicated payloads by digest and type, and the layers that grew).

use super::check_text::{Cells, figures_table, layers_table, payloads_table, verdict};
use crate::check::CheckReport;

/// Text from a graph or a report (a name, a key, a type label, a message) made inert in Markdown:
/// `&`, `<` and `>` become entities so no HTML gets through, and `|`, backticks and backslashes
/// become entities so they cannot end a table cell, open a code span or escape what follows.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::escape::control(&text.replace(['\n', '\r'], " ")).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\\' => out.push_str("&#92;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown code span of `text`, shown verbatim: the fence is one backtick longer than the
/// longest run of backticks in it (padded with spaces when it starts or ends with one). Inside a
/// table, the table escapes `|`, which GitHub undoes inside code spans too.
pub fn code_span(text: &str) -> String {
    let text = crate::escape::control(&text.replace(['\n', '\r'], " ")).into_owned();
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_carries_no_markup_and_code_spans_hold_any_backticks() {
        assert_eq!(
            escape_markdown("<script>a|b`c\\&"),
            "&lt;script&gt;a&#124;b&#96;c&#92;&amp;"
        );
        assert_eq!(code_span("a.json"), "`a.json`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`a``"), "``` `a`` ```");
    }
}
