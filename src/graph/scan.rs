//! A minimal JSON byte scanner for the loader's fast path: whitespace, punctuation, strings without
//! escapes, non-negative integers, and raw capture of any value, over a refilled read buffer. It
//! never allocates per token and never explains a problem: anything it does not accept, valid
//! JSON or not, is a [`Bail`], and the loader then reads the file again with serde_json, whose
//! messages name the line and column. So it must be strict (refuse whatever serde_json refuses)
//! but may be narrow (refuse escapes, negative numbers, floats, `null`).

use std::io::Read;

/// The fast path cannot take this input; the serde_json path decides (and explains).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// Result of a fast-path step.
pub type Scan<T> = Result<T, Bail>;

/// Deepest nesting [`Scanner::capture`] takes; serde_json's own limit is 128 for the whole file.
const MAX_CAPTURE_DEPTH: usize = 100;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `word` that is `"`, `\` or a control character (< 0x20); only the lowest
/// flagged byte is exact, which is the one the string scan needs.
fn specials(word: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// Offset of the first `"`, `\` or control byte in `bytes`, if any.
fn first_special(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        let found = specials(word);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|offset| at + offset)
}

/// Reads JSON tokens from a reader through one growing buffer.
pub struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R: Read> Scanner<R> {
    /// A scanner with a read buffer of `capacity` bytes (grown for longer strings).
    pub fn new(reader: R, capacity: usize) -> Self {
        Scanner {
            reader,
            buf: vec![0; capacity.max(64)],
            pos: 0,
            end: 0,
        }
    }

    /// Moves the unread bytes to the front and reads more; `false` at the end of the input.
    fn refill(&mut self) -> Scan<bool> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(read) => {
                    self.end += read;
                    return Ok(true);
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Bail),
            }
        }
    }

    /// The next byte after whitespace, not consumed; `None` at the end of the input.
    pub fn peek(&mut self) -> Scan<Option<u8>> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                    byte => return Ok(Some(byte)),
                }
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// Consumes `byte` (after whitespace), or bails.
    pub fn expect(&mut self, byte: u8) -> Scan<()> {
        if self.peek()? == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    pub fn eat(&mut self, byte: u8) -> Scan<bool> {
        let found = self.peek()? == Some(byte);
        self.pos += usize::from(found);
        Ok(found)
    }

    /// After an element of an array or object: `true` on `,`, `false` on `close`.
    pub fn more(&mut self, close: u8) -> Scan<bool> {
        match self.peek()? {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// A string without escapes or control characters; valid until the next call.
    pub fn string(&mut self) -> Scan<&str> {
        let bytes = self.string_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| Bail)
    }

    /// The bytes of a string without escapes or control characters, not checked to be UTF-8:
    /// for comparing with known ASCII names, which only valid UTF-8 can equal.
    pub fn string_bytes(&mut self) -> Scan<&[u8]> {
        self.expect(b'"')?;
        let mut scanned = 0;
        loop {
            let start = self.pos;
            if let Some(offset) = first_special(&self.buf[start + scanned..self.end]) {
                let close = start + scanned + offset;
                if self.buf[close] != b'"' {
                    return Err(Bail);
                }
                self.pos = close + 1;
                return Ok(&self.buf[start..close]);
            }
            scanned = self.end - start;
            if !self.refill()? {
                return Err(Bail);
            }
        }
    }

    /// The next byte without skipping whitespace, refilling as needed.
    fn raw_byte(&mut self) -> Scan<Option<u8>> {
        if self.pos == self.end && !self.refill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// `true` or `false`, not followed by a letter or digit.
    pub fn boolean(&mut self) -> Scan<bool> {
        let (word, value): (&[u8], bool) = match self.peek()? {
            Some(b't') => (b"true", true),
            Some(b'f') => (b"false", false),
            _ => return Err(Bail),
        };
        for &expected in word {
            if self.raw_byte()? != Some(expected) {
                return Err(Bail);
            }
            self.pos += 1;
        }
        match self.raw_byte()? {
            Some(byte) if byte.is_ascii_alphanumeric() => Err(Bail),
            _ => Ok(value),
        }
    }

    /// A non-negative integer that fits in a u64, not followed by a fraction or exponent.
    pub fn unsigned(&mut self) -> Scan<u64> {
        let first = self.peek()?.ok_or(Bail)?;
        if !first.is_ascii_digit() {
            return Err(Bail);
        }
        self.pos += 1;
        let mut value = u64::from(first - b'0');
        if first != b'0' {
            // Up to 19 digits always fit; read them without refill checks when they are buffered.
            let limit = (self.pos + 18).min(self.end);
            while self.pos < limit && self.buf[self.pos].is_ascii_digit() {
                value = value * 10 + u64::from(self.buf[self.pos] - b'0');
                self.pos += 1;
            }
        }
        while let Some(byte) = self.raw_byte()? {
            match byte {
                b'0'..=b'9' if first != b'0' => {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(byte - b'0')))
                        .ok_or(Bail)?;
                    self.pos += 1;
                }
                b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+' => return Err(Bail),
                _ => break,
            }
        }
        Ok(value)
    }

    /// Copies one whole JSON value into `out` without checking it beyond its nesting; the caller
    /// hands `out` to serde_json, which checks everything.
    pub fn capture(&mut self, out: &mut Vec<u8>) -> Scan<()> {
        self.peek()?;
        let (mut depth, mut in_string) = (0usize, false);
        loop {
            let byte = self.raw_byte()?.ok_or(Bail)?;
            self.pos += 1;
            out.push(byte);
            if in_string {
                match byte {
                    b'\\' => {
                        let escaped = self.raw_byte()?.ok_or(Bail)?;
                        self.pos += 1;
                        out.push(escaped);
                    }
                    b'"' => in_string = false,
                    _ => {}
                }
                if !in_string && depth == 0 {
                    return Ok(());
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' if depth == MAX_CAPTURE_DEPTH => return Err(Bail),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1).ok_or(Bail)?,
                _ => {}
            }
            let next = self.raw_byte()?;
            let scalar_ends = matches!(
                next,
                None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            );
            if depth == 0 && !in_string && (byte == b'}' || byte == b']' || scalar_ends) {
                return Ok(());
            }
        }
    }

    /// Succeeds when only whitespace is left.
    pub fn finish(&mut self) -> Scan<()> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(Bail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(text: &str) -> Scanner<&[u8]> {
        // A tiny buffer so that every token crosses a refill.
        Scanner::new(text.as_bytes(), 3)
    }

    #[test]
    fn strings_numbers_and_punctuation_across_refills() {
        let mut scan = scanner(r#" ["abcdefghijklmnopqrstuvwxyz", 18446744073709551615, 0 ]"#);
        scan.expect(b'[').unwrap();
        assert_eq!(scan.string().unwrap(), "abcdefghijklmnopqrstuvwxyz");
        assert!(scan.more(b']').unwrap());
        assert_eq!(scan.unsigned().unwrap(), u64::MAX);
        assert!(scan.more(b']').unwrap());
        assert_eq!(scan.unsigned().unwrap(), 0);
        assert!(!scan.more(b']').unwrap());
        scan.finish().unwrap();
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        for text in [r#""a\"b""#, "\"tab\there\"", "\"open", "\"\u{1}\""] {
            assert_eq!(scanner(text).string(), Err(Bail), "{text}");
        }
        for text in ["01", "1.5", "1e3", "-1", "18446744073709551616", "x"] {
            assert_eq!(scanner(text).unsigned(), Err(Bail), "{text}");
        }
        assert!(scanner("é\"").string().is_err());
        let mut bytes = b"\"\xff\"".as_slice();
        assert_eq!(Scanner::new(&mut bytes, 8).string(), Err(Bail));
    }

    #[test]
    fn captures_nested_values() {
        for (text, value) in [
            (
                r#"{"a": [1, "x]\"}"], "b": {}} ,"#,
                r#"{"a": [1, "x]\"}"], "b": {}}"#,
            ),
            ("12 ,", "12"),
            (r#""s""#, r#""s""#),
            ("true}", "true"),
        ] {
            let mut out = Vec::new();
            scanner(text).capture(&mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), value);
        }
        assert!(specials(u64::from_le_bytes(*b"abcdefg\"")) != 0);
        assert_eq!(first_special(b"abcdefghij\\k"), Some(10));
    }
}
