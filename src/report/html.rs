//! Renders a [`CheckReport`] as one self-contained HTML file (inline CSS, no scripts, no external
//! resources) that a CI job keeps as an artifact: the verdict, a table per graph, the failed checks,
//! the top offenders, and, when memory was sampled, an inline SVG bar chart of memory per strategy
//! (median bars, min–max whiskers, the baseline median as a tick).

use super::check_text::{
    FIGURE_COLUMNS, TOP_OFFENDERS, budget_cell, change_cell, figure_label, value_cell, verdict,
};
use super::junit::escape_xml as escape;
use crate::check::compare::FigureRow;
use crate::check::{CheckReport, GraphCheck};
use crate::units::{Bytes, BytesDelta};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em}\
th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.pass{color:#1a7f37}.fail{color:#cf222e}code{font-size:12px}h2{margin-top:1.5em}\
td.pass{background:#dafbe1;font-weight:600}td.fail{background:#ffebe9;font-weight:600}\
td.na{color:#888}\
svg text{font:11px sans-serif}";

fn row_html(cells: &[String], numeric: &[usize]) -> String {
    let mut out = String::from("<tr>");
    for (i, cell) in cells.iter().enumerate() {
        let class = if numeric.contains(&i) {
            " class=\"n\""
        } else {
            ""
        };
        out.push_str(&format!("<td{class}>{}</td>", escape(cell)));
    }
    out.push_str("</tr>\n");
    out
}

fn header_html(names: &[&str]) -> String {
    let cells: String = names
        .iter()
        .map(|n| format!("<th>{}</th>", escape(n)))
        .collect();
    format!("<table>\n<tr>{cells}</tr>\n")
}

/// A status cell in words and colour (the emoji alone shows as an empty box without an emoji
/// font): `✅ ok` on green, `❌ FAIL` on red, a grey `-` for a check that does not apply.
fn status_html(status: Option<bool>) -> &'static str {
    match status {
        Some(true) => "<td class=\"pass\">✅ ok</td>",
        Some(false) => "<td class=\"fail\">❌ FAIL</td>",
        None => "<td class=\"na\">-</td>",
    }
}

fn figures(graph: &GraphCheck) -> String {
    let mut out = header_html(&FIGURE_COLUMNS);
    for row in &graph.rows {
        let numeric = |text: String| format!("<td class=\"n\">{}</td>", escape(&text));
        out.push_str(&format!(
            "<tr><td>{}</td>{}{}{}{}{}{}</tr>\n",
            escape(&figure_label(row)),
            numeric(value_cell(row.baseline, row.baseline_spread, row.unit)),
            numeric(value_cell(Some(row.now), row.now_spread, row.unit)),
            numeric(change_cell(row)),
            status_html(row.baseline_passed),
            numeric(budget_cell(row)),
            status_html(row.budget_passed),
        ));
    }
    out.push_str("</table>\n");
    out
}

fn offenders(graph: &GraphCheck) -> String {
    let mut out = String::new();
    let payloads: Vec<_> = graph.changes.grown_payloads().take(TOP_OFFENDERS).collect();
    if !payloads.is_empty() {
        out.push_str("<h4>Duplicated payloads that are new or grew</h4>\n");
        out.push_str(&header_html(&[
            "payload",
            "type",
            "size",
            "copies",
            "wasted change",
            "layers",
        ]));
        for p in payloads {
            out.push_str(&row_html(
                &[
                    p.digest.clone(),
                    p.type_name.clone().unwrap_or_else(|| "-".into()),
                    Bytes(p.size_bytes).to_string(),
                    format!("{} → {}", p.copies_before, p.copies_now),
                    BytesDelta(p.wasted_delta_bytes()).to_string(),
                    p.layers.join(", "),
                ],
                &[2, 3, 4],
            ));
        }
        out.push_str("</table>\n");
    }
    let layers: Vec<_> = graph.changes.grown_layers().take(TOP_OFFENDERS).collect();
    if !layers.is_empty() {
        out.push_str("<h4>Layers that grew (materialised bytes)</h4>\n");
        out.push_str(&header_html(&["layer", "baseline", "now", "change"]));
        for l in layers {
            let cell = |b: Option<u64>| b.map_or("-".to_string(), |b| Bytes(b).to_string());
            out.push_str(&row_html(
                &[
                    l.name.clone(),
                    cell(l.materialised_bytes_before),
                    cell(l.materialised_bytes_now),
                    BytesDelta(l.materialised_delta_bytes()).to_string(),
                ],
                &[1, 2, 3],
            ));
        }
        out.push_str("</table>\n");
    }
    out
}

/// A sampled figure's name as a reader says it: `peak_bytes` is "peak memory".
fn sampled_name(figure: &str) -> &'static str {
    match figure {
        "peak_bytes" => "peak memory",
        "held_bytes" => "held while results kept",
        "after_release_bytes" => "after release",
        _ => "memory",
    }
}

/// An SVG bar chart of the sampled rows: one group per strategy, one bar per figure (median),
/// a whisker for min–max, a black tick at the baseline median. Empty when nothing was sampled.
pub fn memory_chart(rows: &[FigureRow]) -> String {
    let sampled: Vec<&FigureRow> = rows.iter().filter(|r| r.now_spread.is_some()).collect();
    if sampled.is_empty() {
        return String::new();
    }
    let mut strategies: Vec<_> = sampled.iter().filter_map(|r| r.strategy).collect();
    strategies.dedup();
    let top = sampled
        .iter()
        .flat_map(|r| {
            [
                r.now_spread.map_or(0, |s| s.max),
                r.baseline_spread.map_or(0, |s| s.max),
            ]
        })
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let colours = ["#4e79a7", "#f28e2b", "#59a14f"];
    let (width, height, left, bottom, plot_top) = (640.0, 320.0, 90.0, 40.0, 56.0);
    let plot_height = height - bottom - plot_top;
    let group_width = (width - left - 20.0) / strategies.len() as f64;
    let bar_width = group_width / 4.0;
    let y = |bytes: u64| plot_top + plot_height * (1.0 - bytes as f64 / top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\">\n<title>Sampled memory per strategy \
         (median, min–max; tick: baseline median)</title>\n\
         <text x=\"{left}\" y=\"16\" style=\"font-size:14px;font-weight:600\">Sampled memory per \
         strategy: median of the runs, whisker min–max, black tick the baseline median</text>\n\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">memory above \
         the run's baseline</text>\n",
        plot_top + plot_height / 2.0
    );
    for step in 0..=4 {
        let bytes = (top * f64::from(step) / 4.0) as u64;
        let at = y(bytes);
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            width - 20.0,
            left - 6.0,
            at + 4.0,
            escape(&Bytes(bytes).to_string())
        ));
    }
    for (g, strategy) in strategies.iter().enumerate() {
        let x0 = left + g as f64 * group_width + bar_width / 2.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{strategy}</text>\n",
            x0 + bar_width * 1.5,
            height - bottom + 16.0
        ));
        for (i, row) in sampled
            .iter()
            .filter(|r| r.strategy == Some(*strategy))
            .enumerate()
        {
            let Some(spread) = row.now_spread else {
                continue;
            };
            let x = x0 + i as f64 * bar_width;
            let top_y = y(spread.median);
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {}</title></rect>\n",
                bar_width * 0.9,
                y(0) - top_y,
                colours[i % colours.len()],
                strategy,
                sampled_name(&row.figure),
                escape(&Bytes(spread.median).to_string())
            ));
            let mid = x + bar_width * 0.45;
            svg.push_str(&format!(
                "<line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\n",
                y(spread.min),
                y(spread.max)
            ));
            if let Some(base) = row.baseline_spread {
                let at = y(base.median);
                svg.push_str(&format!(
                    "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#000\" stroke-width=\"2\"/>\n",
                    x + bar_width * 0.9
                ));
            }
        }
    }
    for (i, figure) in ["peak_bytes", "held_bytes", "after_release_bytes"]
        .iter()
        .enumerate()
    {
        let x = left + i as f64 * 170.0;
        let name = sampled_name(figure);
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"37\">{name}</text>\n",
            colours[i],
            x + 14.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// The HTML report.
pub fn html(report: &CheckReport) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>graphprof check</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1 class=\"{}\">graphprof check: {}</h1>\n<p>Baseline <code>{}</code>{}</p>\n",
        if report.passed { "pass" } else { "fail" },
        escape(&verdict(report)),
        escape(&report.baseline),
        report.budget.as_ref().map_or(String::new(), |b| format!(
            ", budget <code>{}</code>",
            escape(b)
        ))
    );
    for graph in &report.graphs {
        out.push_str(&format!(
            "<h2 class=\"{}\">{} <code>{}</code></h2>\n",
            if graph.passed { "pass" } else { "fail" },
            if graph.passed { "✅ ok" } else { "❌ FAIL" },
            escape(&graph.path)
        ));
        if let Some(name) = &graph.name {
            out.push_str(&format!("<p>{}</p>\n", escape(name)));
        }
        out.push_str(&figures(graph));
        let failed: Vec<_> = graph.checks.iter().filter(|c| !c.passed).collect();
        if !failed.is_empty() {
            out.push_str("<h4>Failed checks</h4>\n<ul>\n");
            for check in failed {
                out.push_str(&format!(
                    "<li class=\"fail\">{}: {}</li>\n",
                    escape(&check.name),
                    escape(&check.message)
                ));
            }
            out.push_str("</ul>\n");
        }
        out.push_str(&offenders(graph));
        out.push_str(&memory_chart(&graph.rows));
    }
    out.push_str("</body>\n</html>\n");
    out
}
