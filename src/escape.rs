//! The one place where text that came from a file (keys, function, layer and field names, type
//! labels, graph names, paths) is made safe for a terminal or a CI log: every control character
//! (C0 including newline and tab, DEL, C1 such as the 8-bit CSI U+009B) and every invisible
//! bidirectional or zero-width formatting character is written as a Python-style escape (`\x1b`,
//! `\u202e`), so a graph can neither move the cursor, clear the screen, set the window title nor
//! split a one-line error or a table row. HTML and JUnit reports escape for their own formats.
//!
//! It is also where such text is bounded in an error: [`quote`] keeps at most [`QUOTE_CHARS`]
//! characters of a string from a file and then says its length, so a 50 MB key makes a short line.

use std::borrow::Cow;

/// Most characters of one string from a file that an error message quotes.
pub const QUOTE_CHARS: usize = 200;

/// Longest message [`quote_within`] leaves whole once its quoted strings are bounded.
const MESSAGE_CHARS: usize = 2_000;

/// `text` as an error quotes it: whole when it has at most [`QUOTE_CHARS`] characters, else its
/// first [`QUOTE_CHARS`] and its length: `abc... (50,000,000 bytes)`. Borrowed when whole.
pub fn quote(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!(
            "{}... ({} bytes)",
            &text[..end],
            crate::units::count(text.len() as u64)
        )),
    }
}

/// A message written by a parser (serde_json, toml), with every `"..."` or `` `...` `` string in
/// it bounded by [`quote`], as the parser quotes what it read (`invalid type: string "..."`,
/// ``unknown field `...` ``); a message still longer than 2,000 characters is bounded whole.
pub fn quote_within(message: &str) -> Cow<'_, str> {
    if message.len() <= QUOTE_CHARS {
        return Cow::Borrowed(message);
    }
    let mut out = String::new();
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let mark = rest.as_bytes()[open];
        let (before, quoted) = rest.split_at(open + 1);
        out.push_str(before);
        // The closing mark: the next one not escaped by a backslash (serde_json writes strings
        // with Rust's escapes).
        let mut escaped = false;
        let close = quoted.bytes().position(|b| {
            let found = b == mark && !escaped;
            escaped = !escaped && b == b'\\' && mark == b'"';
            found
        });
        match close {
            Some(close) => {
                out.push_str(&quote(&quoted[..close]));
                out.push(mark as char);
                rest = &quoted[close + 1..];
            }
            None => {
                rest = quoted;
                break;
            }
        }
    }
    out.push_str(rest);
    if out.len() > MESSAGE_CHARS {
        return Cow::Owned(quote(&out).into_owned());
    }
    Cow::Owned(out)
}

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
    fn quotes_are_bounded_with_their_length() {
        assert_eq!(quote("short"), "short");
        let long = "é".repeat(250);
        let quoted = quote(&long);
        assert_eq!(
            quoted,
            format!("{}... (500 bytes)", "é".repeat(QUOTE_CHARS))
        );
        let message = format!(
            "invalid type: string \"{}\\\"x\", expected u64",
            "k".repeat(5000)
        );
        assert_eq!(
            quote_within(&message),
            format!(
                "invalid type: string \"{}... (5,003 bytes)\", expected u64",
                "k".repeat(QUOTE_CHARS)
            )
        );
        let field = format!("unknown field `{}`, expected `a`", "f".repeat(300));
        assert!(quote_within(&field).ends_with("... (300 bytes)`, expected `a`"));
        let unclosed = format!("a \"{}", "u".repeat(50_000));
        assert!(quote_within(&unclosed).len() < 300);
    }

    #[test]
    fn lines_keep_their_newlines() {
        assert_eq!(lines("a\u{1b}b\nc\td\n"), "a\\x1bb\nc\\x09d\n");
        assert_eq!(lines("ok\n"), "ok\n");
    }
}
