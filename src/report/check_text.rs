//! Renders a [`CheckReport`] for the terminal: a verdict line, a table per graph, the failed
//! checks and the top offenders. Also holds the cell formatting the Markdown and HTML reports share.

use super::markdown_escape::{code_span, escape_markdown};
use super::table::Table;
use crate::check::compare::{
    Amount, CheckReport, FigureRow, GraphCheck, Unit, format_amount, ratios_equal,
};
use crate::check::{LayerChange, PayloadChange};
use crate::units::{Bytes, BytesDelta};

/// How table cells holding text from the graph file (names, keys, type labels) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cells {
    /// As they are, for the terminal.
    Text,
    /// Escaped for Markdown, digests as code.
    Markdown,
}

impl Cells {
    /// A name, key or label.
    pub fn name(self, text: &str) -> String {
        match self {
            Cells::Text => crate::escape::control(text).into_owned(),
            Cells::Markdown => escape_markdown(text),
        }
    }

    /// A digest: code in Markdown.
    pub fn code(self, text: &str) -> String {
        match self {
            Cells::Text => crate::escape::control(text).into_owned(),
            Cells::Markdown => code_span(text),
        }
    }

    /// A list of names, comma-separated.
    pub fn names(self, names: &[String]) -> String {
        names
            .iter()
            .map(|name| self.name(name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How many offenders of each kind the reports list.
pub const TOP_OFFENDERS: usize = 10;

/// The figure's label: `wire_bytes`, `inline peak_bytes`.
pub fn figure_label(row: &FigureRow) -> String {
    match row.strategy {
        Some(strategy) => format!("{strategy} {}", row.figure),
        None => row.figure.clone(),
    }
}

/// A value cell, with the spread of sampled figures: `1.20 MiB (1.18–1.25 MiB)`.
pub fn value_cell(
    amount: Option<Amount>,
    spread: Option<crate::check::Spread>,
    unit: Unit,
) -> String {
    match (amount, spread) {
        (None, _) => "-".to_string(),
        (Some(amount), Some(spread)) if spread.min != spread.max => format!(
            "{} ({}–{})",
            format_amount(amount, unit),
            Bytes(spread.min),
            Bytes(spread.max)
        ),
        (Some(amount), _) => format_amount(amount, unit),
    }
}

/// The change against the baseline with its sign and percent: `+2.00 KiB (+3.1%)`. A figure the
/// baseline does not have is `new`; growth from a baseline of 0 has no percentage (`from 0`).
/// Ratios equal to within [`ratios_equal`] (a ratio read back from JSON) show no change.
pub fn change_cell(row: &FigureRow) -> String {
    let Some(baseline) = row.baseline else {
        return "new".to_string();
    };
    let (now, base) = (row.now.as_f64(), baseline.as_f64());
    let delta = match (row.now, baseline) {
        (Amount::Whole(now), Amount::Whole(base)) => {
            let delta = i128::from(now) - i128::from(base);
            match row.unit {
                Unit::Bytes => BytesDelta(delta).to_string(),
                _ if delta == 0 => "0".to_string(),
                _ => crate::units::signed_count(delta),
            }
        }
        _ if ratios_equal(now, base) => return "0 (0%)".to_string(),
        _ => format!("{:+.3}", now - base),
    };
    let percent = if base == 0.0 {
        if now == 0.0 {
            "0%".to_string()
        } else {
            "from 0".to_string()
        }
    } else {
        let p = (now - base) / base * 100.0;
        if p == 0.0 {
            "0%".to_string()
        } else {
            format!("{p:+.1}%")
        }
    };
    format!("{delta} ({percent})")
}

/// The budget cell: the limit, or `-`.
pub fn budget_cell(row: &FigureRow) -> String {
    let mut cell = row
        .budget
        .map_or("-".to_string(), |limit| format_amount(limit, row.unit));
    if let Some(tolerance) = row.tolerance_percent {
        cell.push_str(&format!(" (±{tolerance}%)"));
    }
    cell
}

/// The column names of a graph's table: the baseline and the budget each with its own status.
pub const FIGURE_COLUMNS: [&str; 7] = [
    "figure",
    "baseline",
    "now",
    "change",
    "vs baseline",
    "budget",
    "vs budget",
];

/// A status cell: `pass` or `fail`, or `-` for a check that does not apply.
pub fn status_cell(status: Option<bool>, pass: &str, fail: &str) -> String {
    match status {
        Some(true) => pass.to_string(),
        Some(false) => fail.to_string(),
        None => "-".to_string(),
    }
}

/// The rows of a graph's table: figure, baseline, now, change, status against the baseline,
/// budget, status against the budget.
pub fn figures_table(graph: &GraphCheck, pass: &str, fail: &str) -> Table {
    let mut table = Table::new(&FIGURE_COLUMNS, &[1, 2, 3, 5]);
    for row in &graph.rows {
        table.row(vec![
            figure_label(row),
            value_cell(row.baseline, row.baseline_spread, row.unit),
            value_cell(Some(row.now), row.now_spread, row.unit),
            change_cell(row),
            status_cell(row.baseline_passed, pass, fail),
            budget_cell(row),
            status_cell(row.budget_passed, pass, fail),
        ]);
    }
    table
}

/// The top offenders: new duplicated payloads and payloads with more copies.
pub fn payloads_table(graph: &GraphCheck, cells: Cells) -> Table {
    payload_changes_table(graph.changes.grown_payloads().take(TOP_OFFENDERS), cells)
}

/// A table of payload changes: digest, type, size, copies before and now, wasted change, layers.
/// Shared by `check` (the top offenders) and `diff` (every change).
pub fn payload_changes_table<'a>(
    payloads: impl IntoIterator<Item = &'a PayloadChange>,
    cells: Cells,
) -> Table {
    let mut table = Table::new(
        &[
            "payload",
            "type",
            "size",
            "copies",
            "wasted change",
            "layers",
        ],
        &[2, 3, 4],
    );
    for payload in payloads {
        table.row(vec![
            cells.code(&payload.digest),
            payload
                .type_name
                .as_deref()
                .map_or_else(|| "-".into(), |name| cells.name(name)),
            Bytes(payload.size_bytes).to_string(),
            format!("{} → {}", payload.copies_before, payload.copies_now),
            BytesDelta(payload.wasted_delta_bytes()).to_string(),
            cells.names(&payload.layers),
        ]);
    }
    table
}

/// The layers that are new or grew.
pub fn layers_table(graph: &GraphCheck, cells: Cells) -> Table {
    let mut table = Table::new(&["layer", "baseline", "now", "change"], &[1, 2, 3]);
    let grown: Vec<&LayerChange> = graph.changes.grown_layers().take(TOP_OFFENDERS).collect();
    for layer in grown {
        let cell = |bytes: Option<u64>| bytes.map_or("-".to_string(), |b| Bytes(b).to_string());
        table.row(vec![
            cells.name(&layer.name),
            cell(layer.materialised_bytes_before),
            cell(layer.materialised_bytes_now),
            BytesDelta(layer.materialised_delta_bytes()).to_string(),
        ]);
    }
    table
}

/// The one-line verdict.
pub fn verdict(report: &CheckReport) -> String {
    let failed = report.graphs.iter().filter(|g| !g.passed).count();
    if report.passed {
        format!(
            "passed: {} graph{} within budget and baseline",
            report.graphs.len(),
            if report.graphs.len() == 1 { "" } else { "s" }
        )
    } else {
        format!("FAILED: {failed} of {} graphs", report.graphs.len())
    }
}

/// The terminal summary.
pub fn text(report: &CheckReport) -> String {
    let mut out = format!("graphprof check: {}\n", verdict(report));
    for graph in &report.graphs {
        out.push_str(&format!(
            "\n{}  {}{}\n",
            crate::escape::control(&graph.path),
            if graph.passed { "ok" } else { "FAILED" },
            if graph.in_baseline {
                ""
            } else {
                "  (not in the baseline)"
            }
        ));
        out.push_str(&figures_table(graph, "ok", "FAIL").to_text(2));
        for check in graph.checks.iter().filter(|c| !c.passed) {
            let failed = format!("{}: {}", check.name, check.message);
            out.push_str(&format!("  failed {}\n", crate::escape::control(&failed)));
        }
        let payloads = payloads_table(graph, Cells::Text);
        if !payloads.is_empty() {
            out.push_str("  duplicated payloads that are new or grew:\n");
            out.push_str(&payloads.to_text(4));
        }
        let layers = layers_table(graph, Cells::Text);
        if !layers.is_empty() {
            out.push_str("  layers that grew (materialised bytes):\n");
            out.push_str(&layers.to_text(4));
        }
    }
    crate::escape::lines(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::baseline::{ExactFigures, GraphFigures};
    use crate::check::{Baseline, GraphLimits, compare_graph};

    /// 16 / 15 is one of the ratios serde_json reads back one bit off without `float_roundtrip`.
    #[test]
    fn a_ratio_read_back_from_the_baseline_shows_no_change() {
        let ratio = 16.0 / 15.0;
        let now = GraphFigures {
            path: "a.json".into(),
            name: None,
            figures: ExactFigures {
                wire_bytes: 1,
                materialised_bytes: 16,
                duplicated_bytes: 1,
                duplication_ratio: ratio,
                tasks: 1,
            },
            duplicates: Vec::new(),
            layers: Vec::new(),
            sampled: Default::default(),
        };
        let json = Baseline::new(vec![now.clone()]).to_json();
        let baseline: Baseline = serde_json::from_str(&json).unwrap();
        let limits = GraphLimits {
            max_duplication_ratio: Some(crate::check::budget::Limit {
                value: baseline.graphs[0].figures.duplication_ratio,
                origin: "graphprof.toml:1".into(),
            }),
            ..GraphLimits::default()
        };
        let check = compare_graph(&now, baseline.graph("a.json"), &limits);
        let row = check
            .rows
            .iter()
            .find(|r| r.figure == "duplication_ratio")
            .unwrap();
        assert_eq!(change_cell(row), "0 (0%)");
        assert!(check.passed, "{:?}", check.checks);
    }

    #[test]
    fn growth_from_zero_is_not_called_new() {
        let row = FigureRow {
            figure: "held_bytes".into(),
            strategy: Some(crate::graph::Strategy::Inline),
            unit: Unit::Bytes,
            baseline: Some(Amount::Whole(0)),
            now: Amount::Whole(4096),
            baseline_spread: None,
            now_spread: None,
            budget: None,
            tolerance_percent: Some(10.0),
            passed: true,
            baseline_passed: Some(true),
            budget_passed: None,
        };
        assert_eq!(change_cell(&row), "+4.00 KiB (from 0)");
        let missing = FigureRow {
            baseline: None,
            ..row
        };
        assert_eq!(change_cell(&missing), "new");
    }
}
