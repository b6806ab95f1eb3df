//! A plain table shared by every human-readable report: aligned columns for the terminal, a pipe
//! table for Markdown. Numeric-looking columns are right-aligned.

/// The longest cell a table shows whole; longer ones keep their start and end.
pub const MAX_CELL_CHARS: usize = 200;

/// `cell`, or its first and last characters around `…` when it is longer than
/// [`MAX_CELL_CHARS`].
pub fn elide(cell: String) -> String {
    let chars = cell.chars().count();
    if chars <= MAX_CELL_CHARS {
        return cell;
    }
    let head: String = cell.chars().take(MAX_CELL_CHARS - 41).collect();
    let tail: String = cell.chars().skip(chars - 40).collect();
    format!("{head}…{tail}")
}

/// A cell from a string that may be huge (a key, a name from a file): shortened like
/// [`elide`] without copying the whole string first.
pub fn cell(text: &str) -> String {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => elide(format!("{}{}", &text[..cut], tail_of(text))),
    }
}

/// The last 40 characters of `text`.
fn tail_of(text: &str) -> &str {
    let start = text.char_indices().rev().nth(39).map_or(0, |(at, _)| at);
    &text[start..]
}

/// A table: a header row and data rows of the same width.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// A table with these column names; columns listed in `right_aligned` hold numbers.
    pub fn new(header: &[&str], right_aligned: &[usize]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            right: (0..header.len())
                .map(|i| right_aligned.contains(&i))
                .collect(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped, and a cell longer than
    /// [`MAX_CELL_CHARS`] is shortened in the middle (a 50 MB key would otherwise be copied
    /// into every row and the header as padding: 884 MB for one key).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(elide).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The same table with every data cell passed through `escape` (for Markdown).
    pub fn map_cells(mut self, escape: impl Fn(&str) -> String) -> Self {
        for row in &mut self.rows {
            for cell in row.iter_mut() {
                *cell = escape(cell);
            }
        }
        self
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The same table with every cell, header included, made safe for a terminal
    /// ([`crate::escape::control`]): a cell can neither hold a newline nor a control sequence.
    fn escaped(&self) -> Table {
        let escape = |cell: &String| crate::escape::control(cell).into_owned();
        Table {
            header: self.header.iter().map(escape).collect(),
            rows: self
                .rows
                .iter()
                .map(|row| row.iter().map(escape).collect())
                .collect(),
            right: self.right.clone(),
        }
    }

    /// Aligned text, indented by `indent` spaces, one line per row plus the header.
    pub fn to_text(&self, indent: usize) -> String {
        let table = self.escaped();
        table.aligned(indent)
    }

    fn aligned(&self, indent: usize) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|col| {
                self.rows
                    .iter()
                    .map(|row| row[col].chars().count())
                    .chain([self.header[col].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(col, cell)| {
                    let pad = widths[col].saturating_sub(cell.chars().count());
                    if self.right[col] {
                        format!("{}{cell}", " ".repeat(pad))
                    } else {
                        format!("{cell}{}", " ".repeat(pad))
                    }
                })
                .collect();
            out.push_str(&" ".repeat(indent));
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// A Markdown pipe table; `|` in cells is escaped.
    pub fn to_markdown(&self) -> String {
        self.escaped().markdown()
    }

    fn markdown(&self) -> String {
        let escape = |cell: &str| cell.replace('|', "\\|");
        let mut out = String::new();
        out.push_str(&format!(
            "| {} |\n",
            self.header
                .iter()
                .map(|h| escape(h))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        let rule: Vec<&str> = self
            .right
            .iter()
            .map(|&right| if right { "---:" } else { "---" })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter()
                    .map(|c| escape(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_text_and_escapes_markdown() {
        let mut table = Table::new(&["name", "bytes"], &[1]);
        table.row(vec!["a|b".into(), "5".into()]);
        table.row(vec!["long name".into(), "12345".into()]);
        let text = table.to_text(2);
        assert_eq!(text.lines().nth(1), Some("  a|b            5"));
        let markdown = table.to_markdown();
        assert!(markdown.contains("| a\\|b | 5 |"), "{markdown}");
        assert!(markdown.contains("| --- | ---: |"), "{markdown}");
    }

    #[test]
    fn a_huge_cell_is_shortened_in_the_middle() {
        let mut table = Table::new(&["key"], &[]);
        table.row(vec![format!("start{}end", "k".repeat(1_000_000))]);
        let text = table.to_text(0);
        assert!(text.len() < 1000, "{} bytes", text.len());
        let row = text.lines().nth(1).expect("a row");
        assert!(row.starts_with("start") && row.ends_with("end") && row.contains('…'));
        assert_eq!(row.chars().count(), MAX_CELL_CHARS);
    }
}
