//! The one place where text that came from a file (keys, function, layer and field names, type
//! labels, graph names, paths) is made safe for a terminal or a CI log: every control character
//! (C0 including newline and tab, DEL, C1 such as the 8-bit CSI U+009B) and every invisible
//! bidirectional or zero-width formatting character is written as a Python-style escape (`\x1b`,
//! `\u202e`), so a graph can neither move the cursor, clear the screen, set the window title nor
//! split a one-line error or a table row. HTML and JUnit reports escape for their own formats.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// `text` with every unsafe character escaped; borrowed when there is none (the usual case).
pub fn control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{:04x}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// A rendered multi-line report made safe line by line: the newlines between lines stay, every
/// other unsafe character is escaped (what [`control`] does within each line).
pub fn lines(text: &str) -> String {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return text.to_string();
    }
    text.split('\n').map(control).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(control("plain é ✓"), "plain é ✓");
        assert!(matches!(control("plain"), Cow::Borrowed(_)));
        assert_eq!(control("a\u{1b}]0;T\u{7}"), "a\\x1b]0;T\\x07");
        assert_eq!(control("f\u{1b}[2J\n\t\r"), "f\\x1b[2J\\x0a\\x09\\x0d");
        assert_eq!(control("\u{7f}\u{9b}\u{202e}"), "\\x7f\\x9b\\u202e");
    }

    #[test]
    fn lines_keep_their_newlines() {
        assert_eq!(lines("a\u{1b}b\nc\td\n"), "a\\x1bb\nc\\x09d\n");
        assert_eq!(lines("ok\n"), "ok\n");
    }
}
