//! A minimal JSON byte scanner for the loader's fast path: whitespace, punctuation, strings without
//! escapes, non-negative integers, and raw capture of any value, over a refilled read buffer. It
//! never allocates per token and never explains a problem: anything it does not accept, valid
//! JSON or not, is a [`Bail`], and the loader then reads the file again with serde_json, whose
//! messages name the line and column. So it must be strict (refuse whatever serde_json refuses)
//! but may be narrow (refuse escapes, negative numbers, floats, `null`).
//!
//! Tokens are read by a [`Cursor`] over the bytes already in the buffer, with no refill check per
//! token: [`Scanner::step`] runs a whole step (a task, a field) on a cursor and, when the step runs
//! off the end of the buffered bytes ([`Stop::Short`]), reads more and runs it again from its start.

use std::io::Read;

/// The fast path cannot take this input; the serde_json path decides (and explains).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// Result of a fast-path step.
pub type Scan<T> = Result<T, Bail>;

/// Why a [`Cursor`] stopped short of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The value may go on past the bytes the cursor holds: read more and try again.
    Short,
    /// The fast path cannot take this input, whatever follows.
    Bail,
}

impl From<Bail> for Stop {
    fn from(_: Bail) -> Stop {
        Stop::Bail
    }
}

/// Result of a cursor read.
pub type Step<T> = Result<T, Stop>;

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

/// A field name as written without spaces, `"name":`, at most 16 bytes, with its bytes as two
/// little-endian words (zero past its end) and the masks of its bytes, for [`Cursor::field`].
pub struct Field {
    text: &'static [u8],
    words: [u64; 2],
    masks: [u64; 2],
}

impl Field {
    /// The field `name`: `Field::new(b"\"key\":")`.
    pub const fn new(text: &'static [u8]) -> Field {
        assert!(
            text.len() <= 16 && text.len() >= 3,
            "a field of at most 16 bytes"
        );
        let (mut words, mut masks) = ([0u64; 2], [0u64; 2]);
        let mut at = 0;
        while at < text.len() {
            words[at / 8] |= (text[at] as u64) << (8 * (at % 8));
            masks[at / 8] |= 0xff << (8 * (at % 8));
            at += 1;
        }
        Field { text, words, masks }
    }

    /// The name without its quotes and colon.
    fn name(&self) -> &'static [u8] {
        let (_, name) = self.text.split_at(1);
        name.split_at(name.len() - 2).0
    }
}

/// Reads JSON tokens from a slice of buffered bytes. Every read that needs a byte past the end
/// of the slice is [`Stop::Short`], so a value cut by the end of the buffer is never mistaken for
/// a shorter one.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// The bytes not read yet.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    /// Consumes `count` bytes of [`Cursor::rest`] (at most all of them).
    #[inline]
    pub fn skip(&mut self, count: usize) {
        self.at = (self.at + count).min(self.bytes.len());
    }

    #[inline]
    fn byte(&self) -> Step<u8> {
        self.bytes.get(self.at).copied().ok_or(Stop::Short)
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Step<u8> {
        loop {
            match self.byte()? {
                b' ' | b'\n' | b'\r' | b'\t' => self.at += 1,
                byte => return Ok(byte),
            }
        }
    }

    /// Consumes `byte` (after whitespace), or bails.
    #[inline]
    pub fn expect(&mut self, byte: u8) -> Step<()> {
        if self.peek()? == byte {
            self.at += 1;
            Ok(())
        } else {
            Err(Stop::Bail)
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    #[inline]
    pub fn eat(&mut self, byte: u8) -> Step<bool> {
        let found = self.peek()? == byte;
        self.at += usize::from(found);
        Ok(found)
    }

    /// After an element of an array or object: `true` on `,`, `false` on `close`.
    #[inline]
    pub fn more(&mut self, close: u8) -> Step<bool> {
        match self.peek()? {
            b',' => {
                self.at += 1;
                Ok(true)
            }
            byte if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Stop::Bail),
        }
    }

    /// The bytes of a string without escapes or control characters, not checked to be UTF-8:
    /// for comparing with known ASCII names, which only valid UTF-8 can equal.
    #[inline]
    pub fn string_bytes(&mut self) -> Step<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        let close = start + first_special(&self.bytes[start..]).ok_or(Stop::Short)?;
        if self.bytes[close] != b'"' {
            return Err(Stop::Bail);
        }
        self.at = close + 1;
        Ok(&self.bytes[start..close])
    }

    /// Consumes the next string when its text is `known`, a string read before (so it holds no
    /// quote, backslash or control byte): one comparison instead of a scan. `false`, consuming
    /// nothing, when it is another string, another value, or cut by the end of the bytes.
    #[inline]
    pub fn eat_string(&mut self, known: &[u8]) -> Step<bool> {
        if self.peek()? != b'"' {
            return Ok(false);
        }
        let start = self.at + 1;
        let close = start + known.len();
        let found = self.bytes.get(close) == Some(&b'"') && &self.bytes[start..close] == known;
        if found {
            self.at = close + 1;
        }
        Ok(found)
    }

    /// Consumes `text` when the bytes start with it exactly (no whitespace skipped); `false`,
    /// consuming nothing, otherwise, also when the bytes end first.
    #[inline]
    pub fn eat_literal(&mut self, text: &[u8]) -> bool {
        let found = self.bytes.get(self.at..self.at + text.len()) == Some(text);
        if found {
            self.at += text.len();
        }
        found
    }

    /// The next field name of an object and its colon: the index in `fields` of the name. The
    /// fields are tried from `from` on as they are written, one comparison of two words each, so
    /// that a file written in their order, without spaces, costs one comparison per field; any
    /// other spacing or order is read as a string and looked up. A name not in `fields` is a
    /// bail.
    #[inline]
    pub fn field(&mut self, fields: &[Field], from: usize) -> Step<usize> {
        self.peek()?;
        if let Some(window) = self.bytes.get(self.at..self.at + 16) {
            let (low, high) = window.split_at(8);
            let low = u64::from_le_bytes(low.try_into().expect("8 bytes"));
            let high = u64::from_le_bytes(high.try_into().expect("8 bytes"));
            for (index, field) in fields.iter().enumerate().skip(from) {
                if low & field.masks[0] == field.words[0] && high & field.masks[1] == field.words[1]
                {
                    self.at += field.text.len();
                    return Ok(index);
                }
            }
        }
        let name = self.string_bytes()?;
        let index = fields
            .iter()
            .position(|field| field.name() == name)
            .ok_or(Stop::Bail)?;
        self.expect(b':')?;
        Ok(index)
    }

    /// A string without escapes or control characters.
    #[inline]
    pub fn string(&mut self) -> Step<&'a str> {
        let bytes = self.string_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| Stop::Bail)
    }

    /// A non-negative integer that fits in a u64, not followed by a fraction or exponent, and
    /// its digits (canonical: no leading zero).
    #[inline]
    pub fn unsigned_digits(&mut self) -> Step<(u64, &'a [u8])> {
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return Err(Stop::Bail);
        }
        let start = self.at;
        self.at += 1;
        let mut value = u64::from(first - b'0');
        loop {
            match self.byte()? {
                byte @ b'0'..=b'9' if first != b'0' => {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(byte - b'0')))
                        .ok_or(Stop::Bail)?;
                    self.at += 1;
                }
                b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+' => return Err(Stop::Bail),
                _ => return Ok((value, &self.bytes[start..self.at])),
            }
        }
    }

    /// A non-negative integer that fits in a u64, not followed by a fraction or exponent.
    #[inline]
    pub fn unsigned(&mut self) -> Step<u64> {
        self.unsigned_digits().map(|(value, _)| value)
    }

    /// `true` or `false`, not followed by a letter or digit.
    pub fn boolean(&mut self) -> Step<bool> {
        let (word, value): (&[u8], bool) = match self.peek()? {
            b't' => (b"true", true),
            b'f' => (b"false", false),
            _ => return Err(Stop::Bail),
        };
        for &expected in word {
            if self.byte()? != expected {
                return Err(Stop::Bail);
            }
            self.at += 1;
        }
        if self.byte()?.is_ascii_alphanumeric() {
            return Err(Stop::Bail);
        }
        Ok(value)
    }
}

/// Where a [`Scanner`] gets more bytes.
pub trait Input {
    /// Makes `buf[*pos..*end]` the unread bytes (`buf[*pos..*end]` on entry) followed by more of
    /// the input; `false` when the input has ended (the unread bytes stay `buf[*pos..*end]`).
    fn refill(&mut self, buf: &mut Vec<u8>, pos: &mut usize, end: &mut usize) -> Scan<bool>;
}

/// Any reader, read into the scanner's own buffer (a file is read ahead instead: see
/// [`read_ahead`]).
pub struct Reader<R>(R);

impl<R: Read> Input for Reader<R> {
    /// Moves the unread bytes to the front (doubling the buffer when they fill it) and reads
    /// until the buffer is full or the input ends.
    fn refill(&mut self, buf: &mut Vec<u8>, pos: &mut usize, end: &mut usize) -> Scan<bool> {
        buf.copy_within(*pos..*end, 0);
        *end -= *pos;
        *pos = 0;
        if *end == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let before = *end;
        while *end < buf.len() {
            match self.0.read(&mut buf[*end..]) {
                Ok(0) => break,
                Ok(read) => *end += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Bail),
            }
        }
        Ok(*end > before)
    }
}

/// Reads JSON from an [`Input`] through one buffer, a step at a time.
pub struct Scanner<I> {
    input: I,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The place in the input of `buf[0]` (wrapping: a refill may move the unread bytes either
    /// way), so that `base + pos` is the place of the next unread byte.
    base: u64,
}

impl<R: Read> Scanner<Reader<R>> {
    /// A scanner with a read buffer of `capacity` bytes (grown for longer steps).
    pub fn new(reader: R, capacity: usize) -> Self {
        Scanner::with_input(Reader(reader), vec![0; capacity.max(64)])
    }

    /// A scanner reading through `buf` (at least 64 bytes long), from another scanner maybe.
    pub fn with_buffer(reader: R, buf: Vec<u8>) -> Self {
        Scanner::with_input(Reader(reader), buf)
    }
}

impl<I: Input> Scanner<I> {
    /// A scanner reading `input` through `buf` (empty: the input brings its own buffers).
    pub fn with_input(input: I, buf: Vec<u8>) -> Self {
        Scanner {
            input,
            buf,
            pos: 0,
            end: 0,
            base: 0,
        }
    }

    /// The same scanner counting places from `start`: for an input that begins there.
    pub fn starting_at(mut self, start: u64) -> Self {
        self.base = start.wrapping_sub(self.pos as u64);
        self
    }

    /// The place in the input of the next unread byte (counted from [`Scanner::starting_at`]).
    pub fn position(&self) -> u64 {
        self.base.wrapping_add(self.pos as u64)
    }

    /// The read buffer, for another scanner to reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// More bytes after the unread ones; `false` at the end of the input.
    fn refill(&mut self) -> Scan<bool> {
        let before = self.position();
        let more = self
            .input
            .refill(&mut self.buf, &mut self.pos, &mut self.end);
        // The unread bytes may have moved in the buffer; their place in the input has not.
        self.base = before.wrapping_sub(self.pos as u64);
        more
    }

    /// Runs `read` on a cursor over the buffered bytes and consumes what it read. When it runs
    /// off their end, more is read and `read` runs again from the same place (so it must start
    /// by resetting whatever it fills); at the end of the input that is a bail.
    pub fn step<T>(&mut self, mut read: impl FnMut(&mut Cursor<'_>) -> Step<T>) -> Scan<T> {
        loop {
            let mut cursor = Cursor::new(&self.buf[self.pos..self.end]);
            match read(&mut cursor) {
                Ok(value) => {
                    self.pos += cursor.offset();
                    return Ok(value);
                }
                Err(Stop::Bail) => return Err(Bail),
                Err(Stop::Short) => {
                    if !self.refill()? {
                        return Err(Bail);
                    }
                }
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

    /// The next byte after whitespace, not consumed; `None` at the end of the input.
    fn peek(&mut self) -> Scan<Option<u8>> {
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

#[path = "read_ahead.rs"]
mod read_ahead;
pub use read_ahead::{ReadAhead, read_ahead};

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(text: &str) -> Scanner<Reader<&[u8]>> {
        // A tiny buffer so that every token crosses a refill.
        Scanner::new(text.as_bytes(), 3)
    }

    #[test]
    fn strings_numbers_and_punctuation_across_refills() {
        let mut scan =
            scanner(r#" ["abcdefghijklmnopqrstuvwxyz", 18446744073709551615, 0 , true]"#);
        scan.step(|c| c.expect(b'[')).unwrap();
        let text = scan.step(|c| c.string().map(str::to_string)).unwrap();
        assert_eq!(text, "abcdefghijklmnopqrstuvwxyz");
        assert!(scan.step(|c| c.more(b']')).unwrap());
        assert_eq!(scan.step(|c| c.unsigned()).unwrap(), u64::MAX);
        assert!(scan.step(|c| c.more(b']')).unwrap());
        assert_eq!(scan.step(|c| c.unsigned()).unwrap(), 0);
        assert!(scan.step(|c| c.more(b']')).unwrap());
        assert!(scan.step(|c| c.boolean()).unwrap());
        assert!(!scan.step(|c| c.more(b']')).unwrap());
        scan.finish().unwrap();
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        let string = |text: &str| scanner(text).step(|c| c.string().map(str::to_string));
        for text in [r#""a\"b""#, "\"tab\there\"", "\"open", "\"\u{1}\""] {
            assert_eq!(string(text), Err(Bail), "{text}");
        }
        for text in [
            "01,",
            "1.5,",
            "1e3,",
            "-1,",
            "18446744073709551616,",
            "x,",
            "12",
        ] {
            assert_eq!(scanner(text).step(|c| c.unsigned()), Err(Bail), "{text}");
        }
        for text in ["truex", "tru,", "false", "nul,"] {
            assert_eq!(scanner(text).step(|c| c.boolean()), Err(Bail), "{text}");
        }
        assert!(string("é\"").is_err());
        let mut bytes = b"\"\xff\"".as_slice();
        let mut scan = Scanner::new(&mut bytes, 8);
        assert_eq!(scan.step(|c| c.string().map(str::to_string)), Err(Bail));
    }

    /// Every cut of a good value is `Short` (more may follow), never a bail or a shorter value.
    #[test]
    fn a_cut_value_is_short_never_a_different_value() {
        let value = r#" {"k": ["name-1", 1234, true, false], "d": "digest"} ,"#;
        let read = |c: &mut Cursor<'_>| -> Step<(String, u64, bool, bool, Vec<u8>)> {
            c.expect(b'{')?;
            assert_eq!(c.string_bytes()?, b"k");
            c.expect(b':')?;
            c.expect(b'[')?;
            let name = c.string()?.to_string();
            c.more(b']')?;
            let number = c.unsigned()?;
            c.more(b']')?;
            let yes = c.boolean()?;
            c.more(b']')?;
            let no = c.boolean()?;
            assert!(!c.more(b']')?);
            c.more(b'}')?;
            if !c.eat_string(b"d")? {
                assert_eq!(c.string_bytes()?, b"d");
            }
            c.expect(b':')?;
            let digest = if c.eat_string(b"digest")? {
                b"digest".to_vec()
            } else {
                c.string_bytes()?.to_vec()
            };
            assert!(!c.more(b'}')?);
            assert!(c.eat(b',')?);
            Ok((name, number, yes, no, digest))
        };
        let whole = read(&mut Cursor::new(value.as_bytes())).unwrap();
        assert_eq!(whole.0, "name-1");
        assert_eq!(whole.1, 1234);
        for cut in 0..value.len() {
            assert_eq!(
                read(&mut Cursor::new(&value.as_bytes()[..cut])).err(),
                Some(Stop::Short),
                "cut at {cut}"
            );
        }
        let mut other = Cursor::new(br#""digesT","#);
        assert!(!other.eat_string(b"digest").unwrap());
        assert_eq!(other.string_bytes().unwrap(), b"digesT");
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
