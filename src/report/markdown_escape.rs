//! Text made inert in Markdown, for every report written as Markdown (check, analysis, diff):
//! names, keys and messages escaped so no markup gets through, and code spans that hold any text.

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
