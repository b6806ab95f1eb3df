//! Renders a [`GraphDiff`] as text, Markdown or JSON: the totals before and after, new duplicated
//! payloads, payloads whose copies changed, layers whose bytes changed, tasks added and removed.

use super::check_text::Cells;
use super::markdown_escape::code_span;
use super::table::Table;
use crate::check::diff::GraphDiff;
use crate::units::{Bytes, BytesDelta};

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Human summary.
    Text,
    /// Markdown.
    Markdown,
    /// JSON (schema `graphprof-diff`, version 1).
    Json,
}

fn tables(d: &GraphDiff, cells: Cells) -> Vec<(String, Table)> {
    let mut out = Vec::new();
    let mut totals = Table::new(&["figure", "old", "new", "change"], &[1, 2, 3]);
    let (a, b) = (&d.old_figures, &d.new_figures);
    for (name, old, new) in [
        ("wire_bytes", a.wire_bytes, b.wire_bytes),
        (
            "materialised_bytes",
            a.materialised_bytes,
            b.materialised_bytes,
        ),
        ("duplicated_bytes", a.duplicated_bytes, b.duplicated_bytes),
    ] {
        totals.row(vec![
            name.into(),
            Bytes(old).to_string(),
            Bytes(new).to_string(),
            BytesDelta(i128::from(new) - i128::from(old)).to_string(),
        ]);
    }
    totals.row(vec![
        "tasks".into(),
        crate::units::count(a.tasks),
        crate::units::count(b.tasks),
        crate::units::signed_count(i128::from(b.tasks) - i128::from(a.tasks)),
    ]);
    out.push(("Totals".to_string(), totals));
    let payload_table = |payloads: &[crate::check::PayloadChange]| {
        super::check_text::payload_changes_table(payloads, cells)
    };
    let c = &d.changes;
    out.push((
        "New duplicated payloads".into(),
        payload_table(&c.new_payloads),
    ));
    out.push((
        "Duplicated payloads whose copies changed".into(),
        payload_table(&c.changed_payloads),
    ));
    out.push((
        "Payloads no longer duplicated".into(),
        payload_table(&c.gone_payloads),
    ));
    let mut layers = Table::new(&["layer", "tasks", "old", "new", "change"], &[1, 2, 3, 4]);
    for l in &c.layers {
        let bytes = |b: Option<u64>| b.map_or("-".to_string(), |b| Bytes(b).to_string());
        let tasks = |t: Option<u64>| t.map_or("-".to_string(), crate::units::count);
        layers.row(vec![
            cells.name(&l.name),
            format!("{} → {}", tasks(l.tasks_before), tasks(l.tasks_now)),
            bytes(l.materialised_bytes_before),
            bytes(l.materialised_bytes_now),
            BytesDelta(l.materialised_delta_bytes()).to_string(),
        ]);
    }
    out.push(("Layers whose bytes changed (materialised)".into(), layers));
    out
}

fn tasks_line(d: &GraphDiff, cells: Cells) -> String {
    let mut line = format!(
        "tasks: {} added, {} removed{}",
        crate::units::count(d.tasks_added),
        crate::units::count(d.tasks_removed),
        if d.tasks_by_key {
            " (by key)"
        } else {
            " (by count: reports carry no keys)"
        }
    );
    if !d.added_keys.is_empty() {
        line.push_str(&format!("; added e.g. {}", cells.names(&d.added_keys)));
    }
    if !d.removed_keys.is_empty() {
        line.push_str(&format!("; removed e.g. {}", cells.names(&d.removed_keys)));
    }
    line
}

/// Renders the diff.
pub fn render(d: &GraphDiff, format: DiffFormat) -> String {
    match format {
        DiffFormat::Json => {
            let mut json = serde_json::to_string_pretty(d).unwrap_or_else(|e| e.to_string());
            json.push('\n');
            json
        }
        DiffFormat::Text => {
            let (old, new) = (
                crate::escape::control(&d.old),
                crate::escape::control(&d.new),
            );
            let mut out = format!("graphprof diff: {old} -> {new}\n");
            for (title, table) in tables(d, Cells::Text) {
                if table.is_empty() {
                    continue;
                }
                out.push_str(&format!("\n{title}:\n{}", table.to_text(2)));
            }
            out.push_str(&format!("\n{}\n", tasks_line(d, Cells::Text)));
            if !d.all_layers {
                out.push_str("(layers: an analysis report keeps only its top layers; compared where both list them)\n");
            }
            crate::escape::lines(&out)
        }
        DiffFormat::Markdown => {
            let mut out = format!(
                "## graphprof diff: {} → {}\n",
                code_span(&d.old),
                code_span(&d.new)
            );
            for (title, table) in tables(d, Cells::Markdown) {
                if table.is_empty() {
                    continue;
                }
                out.push_str(&format!("\n**{title}**\n\n{}", table.to_markdown()));
            }
            out.push_str(&format!("\n{}\n", tasks_line(d, Cells::Markdown)));
            crate::escape::lines(&out)
        }
    }
}
