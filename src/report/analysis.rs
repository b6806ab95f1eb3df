//! Renders an [`Analysis`] for humans: the terminal summary (whose first screen answers the
//! questions a user has) and Markdown. The JSON report is the struct itself, serialised.

use super::markdown_escape::escape_markdown;
use super::table::Table;
use crate::analyze::duplication::DuplicateKind;
use crate::analyze::verdict::{describe, short_digest};
use crate::analyze::{Analysis, DuplicatedPayload, GroupSize};
use crate::units::{Bytes, BytesDelta};

/// Output format of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnalysisFormat {
    /// Human summary.
    Text,
    /// The full report as JSON (schema `graphprof-analysis`, version 1).
    Json,
    /// Markdown, for a CI page or an issue.
    Markdown,
}

/// Renders the analysis in the chosen format.
pub fn render(analysis: &Analysis, format: AnalysisFormat) -> String {
    match format {
        AnalysisFormat::Text => crate::escape::lines(&text(analysis)),
        AnalysisFormat::Markdown => crate::escape::lines(&markdown(analysis)),
        AnalysisFormat::Json => {
            let mut json = serde_json::to_string_pretty(analysis)
                .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
            json.push('\n');
            json
        }
    }
}

use crate::units::count;

fn sizes_table(a: &Analysis) -> Table {
    let s = &a.sizes;
    let mut table = Table::new(&["size", "bytes", "what it is"], &[1]);
    table.row(vec![
        "wire".into(),
        Bytes(s.wire_bytes).to_string(),
        "the one message the client sends, pickled; Dask's warning sees this".into(),
    ]);
    if let Some(measured) = s.wire_bytes_measured {
        table.row(vec![
            "wire (measured)".into(),
            Bytes(measured).to_string(),
            "what distributed reported sending".into(),
        ]);
    }
    table.row(vec![
        "materialised".into(),
        Bytes(s.materialised_bytes).to_string(),
        "the tasks' pickles, deserialised one by one".into(),
    ]);
    table.row(vec![
        "duplicated".into(),
        Bytes(a.duplicated_bytes).to_string(),
        format!(
            "pickles of payload copies beyond the first (x{:.1} duplication)",
            a.duplication_ratio
        ),
    ]);
    table.row(vec![
        "results".into(),
        Bytes(s.output_bytes).to_string(),
        "sum of the tasks' result sizes, in memory".into(),
    ]);
    if s.data_bytes > 0 {
        table.row(vec![
            "data".into(),
            Bytes(s.data_bytes).to_string(),
            "shared (scattered) data objects, once each".into(),
        ]);
    }
    table
}

fn duplicates_table(duplicates: &[DuplicatedPayload]) -> Table {
    let mut table = Table::new(
        &[
            "payload",
            "type",
            "kind",
            "size (pickled)",
            "in memory",
            "copies",
            "objects",
            "extra copies, in memory",
            "layers",
            "e.g.",
        ],
        &[3, 4, 5, 6, 7],
    );
    for d in duplicates {
        let kind = match d.kind {
            DuplicateKind::Copied => "copied",
            DuplicateKind::EqualObjects => "equal objects",
        };
        table.row(vec![
            short_digest(&d.digest),
            d.type_name.clone().unwrap_or_else(|| "-".into()),
            kind.into(),
            Bytes(d.size_bytes).to_string(),
            d.in_memory_bytes
                .map_or_else(|| "unknown".into(), |bytes| Bytes(bytes).to_string()),
            count(d.copies),
            count(d.objects),
            Bytes(d.held_wasted_bytes).to_string(),
            d.layers
                .iter()
                .map(|l| l.layer.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            d.example_keys.join(", "),
        ]);
    }
    table
}

fn groups_table(first: &str, groups: &[GroupSize], with_wasted: bool) -> Table {
    let mut header = vec![first, "tasks", "wire", "materialised", "results"];
    if with_wasted {
        header.push("wasted");
    }
    let mut table = Table::new(&header, &[1, 2, 3, 4, 5]);
    for g in groups {
        let mut row = vec![
            super::table::cell(&g.name),
            count(g.tasks),
            Bytes(g.wire_bytes).to_string(),
            Bytes(g.materialised_bytes).to_string(),
            Bytes(g.output_bytes).to_string(),
        ];
        if with_wasted {
            row.push(Bytes(g.wasted_bytes).to_string());
        }
        table.row(row);
    }
    table
}

fn tasks_table(a: &Analysis) -> Table {
    let mut table = Table::new(&["task", "layer", "materialised", "payloads"], &[2, 3]);
    for t in &a.largest_tasks {
        table.row(vec![
            super::table::cell(&t.key),
            super::table::cell(&t.layer),
            Bytes(t.materialised_bytes).to_string(),
            count(t.payloads),
        ]);
    }
    table
}

/// A held figure: "at least" when part of it cannot be known.
fn held_cell(bytes: u64, unknown: &[String]) -> String {
    if !unknown.is_empty() {
        format!(">= {}", Bytes(bytes))
    } else {
        Bytes(bytes).to_string()
    }
}

fn strategies_table(a: &Analysis) -> Table {
    let mut table = Table::new(
        &[
            "strategy",
            "wire (pickled)",
            "materialised (pickled)",
            "held (RSS)",
            "saves (held)",
            "transient",
            "how it runs",
        ],
        &[1, 2, 3, 4, 5],
    );
    for s in &a.strategies {
        let saves = if s.strategy == "as-given" {
            "-".to_string()
        } else {
            BytesDelta(i128::from(s.saved_held_bytes)).to_string()
        };
        table.row(vec![
            s.strategy.clone(),
            Bytes(s.wire_bytes).to_string(),
            Bytes(s.materialised_bytes).to_string(),
            held_cell(s.held_bytes, &s.held_unknown),
            saves,
            Bytes(s.transient_bytes).to_string(),
            s.variant.clone(),
        ]);
    }
    table
}

/// What the held figure as given is made of, and what is unknown.
fn held_parts_lines(a: &Analysis) -> Vec<String> {
    let Some(given) = a.strategies.first() else {
        return Vec::new();
    };
    let p = &given.held_parts;
    let mut lines = vec![format!(
        "Held as given: results {}, the held tasks' copies {}, copies kept by released ancestors {}, \
         bookkeeping {}, shared objects {}; heap the allocator keeps of freed copies {} (RSS, not \
         objects).",
        Bytes(p.results_bytes),
        Bytes(p.held_task_copies_bytes),
        Bytes(p.kept_ancestor_copies_bytes),
        Bytes(p.bookkeeping_bytes),
        Bytes(p.shared_objects_bytes),
        Bytes(p.allocator_kept_bytes),
    )];
    if !given.held_unknown.is_empty() {
        lines.push(crate::escape::control(&format!(
            "Held figures are lower bounds: they leave out {} (`graphprof dask export` sizes the \
             results of a collection's outputs).",
            given.held_unknown.join(" and ")
        ))
        .into_owned());
    }
    lines
}

fn held_layers_table(a: &Analysis) -> Table {
    let mut table = Table::new(
        &[
            "layer",
            "in memory",
            "results",
            "released, run_spec kept",
            "run_specs (in memory)",
        ],
        &[1, 2, 3, 4],
    );
    for layer in &a.held_layers {
        let results = if layer.unknown_results > 0 {
            format!(
                "{} + {} unknown",
                Bytes(layer.results_bytes),
                count(layer.unknown_results)
            )
        } else {
            Bytes(layer.results_bytes).to_string()
        };
        table.row(vec![
            super::table::cell(&crate::escape::control(&layer.layer)),
            count(layer.tasks_in_memory),
            results,
            count(layer.released_kept),
            Bytes(layer.run_spec_bytes).to_string(),
        ]);
    }
    table
}

/// "What to fix": every finding worth acting on, most costly first, with its fix.
fn findings_lines(a: &Analysis) -> Vec<String> {
    a.findings
        .iter()
        .enumerate()
        .map(|(i, blame)| {
            let line = format!("{}. {}. Fix: {}.", i + 1, describe(blame), blame.fix);
            crate::escape::control(&line).into_owned()
        })
        .collect()
}

/// What the held figures assume of a payload copy.
fn basis_line(a: &Analysis) -> &'static str {
    match a.payload_memory_basis.as_str() {
        "in-memory" => "Held figures use each payload's in-memory size, measured by the exporter.",
        "mixed" => {
            "Held figures use the in-memory size where the exporter measured it, else the pickled size (unknown in-memory size)."
        }
        _ => {
            "Held figures use pickled sizes: the in-memory size of the payloads is unknown (export the collection with graphprof dask export to measure it)."
        }
    }
}

fn verdict_line(a: &Analysis) -> String {
    let w = &a.warning;
    let mark = if w.fires {
        "WARNING FIRES"
    } else if w.silent_growth {
        "SILENT GROWTH"
    } else {
        "ok"
    };
    format!("{mark}: {}", crate::escape::control(&w.explanation))
}

fn structure_line(a: &Analysis) -> String {
    let s = &a.structure;
    format!(
        "depth {}, widest level {}, {} roots, {} leaves, max fan-in {} ({}), max fan-out {} ({}), {} components",
        count(s.depth),
        count(s.widest_level),
        count(s.roots),
        count(s.leaves),
        count(s.max_fan_in),
        super::table::cell(&crate::escape::control(&s.max_fan_in_key)),
        count(s.max_fan_out),
        super::table::cell(&crate::escape::control(&s.max_fan_out_key)),
        count(s.components)
    )
}

fn title(a: &Analysis) -> String {
    let g = &a.graph;
    format!(
        "{} ({}): {} tasks, {} data objects, {} edges, {} layers, {} distinct payloads",
        crate::escape::control(g.name.as_deref().unwrap_or("graph")),
        crate::escape::control(&g.source),
        count(g.tasks),
        count(g.data_objects),
        count(g.edges),
        count(g.layers),
        count(g.distinct_payloads)
    )
}

/// The terminal summary.
pub fn text(a: &Analysis) -> String {
    let mut out = String::new();
    out.push_str(&title(a));
    out.push_str("\n\n");
    out.push_str(&sizes_table(a).to_text(2));
    out.push('\n');
    out.push_str(&verdict_line(a));
    out.push_str("\n\n");
    let findings = findings_lines(a);
    if !findings.is_empty() {
        out.push_str("What to fix (most costly first):\n");
        for line in &findings {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
    }
    if a.duplicates.is_empty() {
        out.push_str(
            "Duplicated payloads: none (no content is embedded in more than one task).\n\n",
        );
    } else {
        out.push_str(&format!(
            "Duplicated payloads ({}, found by content):\n",
            a.duplicates.len()
        ));
        out.push_str(&duplicates_table(&a.duplicates).to_text(2));
        out.push('\n');
    }
    out.push_str(&format!(
        "Strategies ({} workers; held = what the workers' memory grows by while the results are held):\n",
        a.options.workers
    ));
    out.push_str(&strategies_table(a).to_text(2));
    for line in held_parts_lines(a) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(basis_line(a));
    out.push('\n');
    if !a.held_layers.is_empty() {
        out.push_str("\nHeld per layer, as given:\n");
        out.push_str(&held_layers_table(a).to_text(2));
    }
    out.push_str("\nLayers:\n");
    out.push_str(&groups_table("layer", &a.layers, true).to_text(2));
    out.push_str("\nFunctions:\n");
    out.push_str(&groups_table("function", &a.functions, false).to_text(2));
    out.push_str("\nLargest tasks:\n");
    out.push_str(&tasks_table(a).to_text(2));
    out.push_str("\nStructure: ");
    out.push_str(&structure_line(a));
    out.push('\n');
    out
}

/// Markdown for a CI page or an issue. Everything that comes from the graph (names, keys, type
/// labels) is escaped, so a graph cannot inject HTML or break a table.
pub fn markdown(a: &Analysis) -> String {
    let md = |table: Table| table.map_cells(escape_markdown).to_markdown();
    let mut out = format!("## graphprof analysis: {}\n\n", escape_markdown(&title(a)));
    out.push_str(&md(sizes_table(a)));
    out.push_str(&format!("\n**{}**\n\n", escape_markdown(&verdict_line(a))));
    let findings = findings_lines(a);
    if !findings.is_empty() {
        out.push_str("### What to fix\n\n");
        for line in &findings {
            out.push_str(&format!("{}\n", escape_markdown(line)));
        }
        out.push('\n');
    }
    out.push_str("### Duplicated payloads\n\n");
    if a.duplicates.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str(&md(duplicates_table(&a.duplicates)));
        out.push('\n');
    }
    out.push_str(&format!(
        "### Strategies ({} workers)\n\n",
        a.options.workers
    ));
    out.push_str(&md(strategies_table(a)));
    out.push('\n');
    for line in held_parts_lines(a) {
        out.push_str(&format!("{}\n", escape_markdown(&line)));
    }
    out.push_str(&format!("\n{}\n", basis_line(a)));
    if !a.held_layers.is_empty() {
        out.push_str("\n### Held per layer, as given\n\n");
        out.push_str(&md(held_layers_table(a)));
    }
    out.push_str("\n### Layers\n\n");
    out.push_str(&md(groups_table("layer", &a.layers, true)));
    out.push_str("\n### Functions\n\n");
    out.push_str(&md(groups_table("function", &a.functions, false)));
    out.push_str("\n### Largest tasks\n\n");
    out.push_str(&md(tasks_table(a)));
    out.push_str(&format!(
        "\nStructure: {}\n",
        escape_markdown(&structure_line(a))
    ));
    out
}
