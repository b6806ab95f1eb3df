//! Renders a [`CheckReport`] as JUnit XML: one `<testsuite>` per graph, one `<testcase>` per
//! budget or regression check, a `<failure>` with the message when it failed. CI systems (GitHub,
//! GitLab, Jenkins) list the test cases.

use crate::check::CheckReport;

/// Escapes text for XML content and attribute values; drops characters XML 1.0 cannot hold.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report.
pub fn junit(report: &CheckReport) -> String {
    let total: usize = report.graphs.iter().map(|g| g.checks.len().max(1)).sum();
    let failures = report.failures().count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"graphprof check\" tests=\"{total}\" failures=\"{failures}\">\n"
    ));
    for graph in &report.graphs {
        let path = escape_xml(&graph.path);
        let failed = graph.checks.iter().filter(|c| !c.passed).count();
        out.push_str(&format!(
            "  <testsuite name=\"{path}\" tests=\"{}\" failures=\"{failed}\">\n",
            graph.checks.len().max(1)
        ));
        if graph.checks.is_empty() {
            out.push_str(&format!(
                "    <testcase classname=\"{path}\" name=\"analysed\"/>\n"
            ));
        }
        for check in &graph.checks {
            let name = escape_xml(&check.name);
            if check.passed {
                out.push_str(&format!(
                    "    <testcase classname=\"{path}\" name=\"{name}\">\n      <system-out>{}</system-out>\n    </testcase>\n",
                    escape_xml(&check.message)
                ));
            } else {
                let kind = if check.name.starts_with("budget") {
                    "budget"
                } else {
                    "regression"
                };
                let message = escape_xml(&check.message);
                out.push_str(&format!(
                    "    <testcase classname=\"{path}\" name=\"{name}\">\n      <failure type=\"{kind}\" message=\"{message}\">{message}</failure>\n    </testcase>\n"
                ));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape_xml("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }
}
