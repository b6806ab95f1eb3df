//! Keys and repeated strings as the fast path reads them: a key's tagged form (see
//! [`Key::tagged`]) appended to a task's buffers, and a chunk key's split, so that the interner
//! need not split it again; the strings read last ([`Recent`]), which the next tasks tend to
//! repeat.
//!
//! [`Key::tagged`]: crate::graph::key::Key::tagged

use crate::graph::model::Digest;
use crate::graph::parts::{ChunkSplit, PartKey, TaskParts};
use crate::graph::scan::{Cursor, Step, Stop};

/// Strings read last, kept across tasks because the next tasks tend to repeat them: a match costs
/// one comparison instead of a scan, a UTF-8 check and a parse. Only an optimisation: the result
/// is the same whatever they hold.
#[derive(Default)]
pub(in crate::graph) struct Recent {
    /// The digest text parsed last and its value.
    digest: Option<(Vec<u8>, Digest)>,
    /// The last two names of tuple keys (a task's key and its references alternate).
    names: [String; 2],
    /// Which of `names` the next new name replaces.
    next_name: usize,
    /// The last function name.
    pub(in crate::graph) function: String,
    /// The last type label of a payload.
    pub(in crate::graph) type_name: String,
    /// The task read last, for the next to be compared with.
    pub(in crate::graph) template: super::template::Template,
}

impl Recent {
    /// A digest (see [`Digest::parse`]); a bail when it is not one.
    pub(in crate::graph) fn digest(&mut self, c: &mut Cursor<'_>) -> Step<Digest> {
        if let Some((text, digest)) = &self.digest
            && c.eat_string(text)?
        {
            return Ok(*digest);
        }
        let text = c.string_bytes()?;
        let digest = std::str::from_utf8(text)
            .ok()
            .and_then(|text| Digest::parse(text).ok())
            .ok_or(Stop::Bail)?;
        self.digest = Some((text.to_vec(), digest));
        Ok(digest)
    }

    /// Appends a string that is likely the same as the last one read in its place (a function
    /// name, a type label) to `out`, without its quotes; `last` holds that one.
    pub(in crate::graph) fn repeated(
        c: &mut Cursor<'_>,
        last: &mut String,
        out: &mut String,
    ) -> Step<()> {
        if !last.is_empty() && c.eat_string(last.as_bytes())? {
            out.push_str(last);
            return Ok(());
        }
        let text = c.string()?;
        out.push_str(text);
        last.clear();
        last.push_str(text);
        Ok(())
    }

    /// Appends a string (the name of a tuple key) to `out`, without its quotes.
    fn name(&mut self, c: &mut Cursor<'_>, out: &mut String) -> Step<()> {
        for known in &self.names {
            if !known.is_empty() && c.eat_string(known.as_bytes())? {
                out.push_str(known);
                return Ok(());
            }
        }
        let text = c.string()?;
        out.push_str(text);
        let slot = &mut self.names[self.next_name];
        slot.clear();
        slot.push_str(text);
        self.next_name ^= 1;
        Ok(())
    }
}

/// Appends a key in its tagged form (see [`Key::tagged`]); for a chunk key `["name", index]` with
/// an index under 10^9, also where its name ends and its index, as the interner splits it.
///
/// [`Key::tagged`]: crate::graph::key::Key::tagged
pub(super) fn key(
    c: &mut Cursor<'_>,
    out: &mut String,
    recent: &mut Recent,
) -> Step<Option<ChunkSplit>> {
    if c.peek()? == b'[' {
        if let Some(split) = compact_chunk_key(c, out, recent) {
            return Ok(Some(split));
        }
    } else if c.peek()? == b'"' {
        out.push('s');
        out.push_str(c.string()?);
        return Ok(None);
    }
    c.expect(b'[')?;
    let start = out.len();
    out.push_str("t[\"");
    recent.name(c, out)?;
    out.push('"');
    let name_token = out.len() - start - 2;
    let mut elements = 1;
    let mut index = None;
    while c.more(b']')? {
        out.push(',');
        elements += 1;
        if c.peek()? == b'"' {
            push_plain_string(out, c.string()?);
        } else {
            let (value, digits) = c.unsigned_digits()?;
            if value > i64::MAX as u64 {
                return Err(Stop::Bail);
            }
            // The digits are canonical (no leading zero), as the number would be written.
            for &digit in digits {
                out.push(char::from(digit));
            }
            index = (elements == 2 && digits.len() <= 9).then_some(value as u32);
        }
    }
    out.push(']');
    let name_token = u32::try_from(name_token).ok();
    Ok(index
        .zip(name_token)
        .filter(|_| elements == 2)
        .map(|(index, name_token)| ChunkSplit { name_token, index }))
}

/// A chunk key written as graphprof writes it, `["name",index]` with no space, whose name is
/// one of the last two read and whose index has at most 9 digits (canonical): appended in its
/// tagged form, `t` and the same text, and split, as [`key`] would read it, in one pass with no
/// scan of the name. `None`, consuming nothing, for any other key or one cut by the end of the
/// bytes; [`key`] reads it then.
#[inline]
fn compact_chunk_key(c: &mut Cursor<'_>, out: &mut String, recent: &Recent) -> Option<ChunkSplit> {
    let rest = c.rest();
    if rest.get(..2)? != b"[\"" {
        return None;
    }
    let name = recent.names.iter().find(|known| {
        !known.is_empty()
            && rest.get(2..2 + known.len()) == Some(known.as_bytes())
            && rest.get(2 + known.len()..4 + known.len()) == Some(b"\",")
    })?;
    let digits_start = 4 + name.len();
    let digits_len = rest
        .get(digits_start..)?
        .iter()
        .take(10)
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    let digits = rest.get(digits_start..digits_start + digits_len)?;
    let canonical = digits_len == 1 || digits.first() != Some(&b'0');
    if digits_len == 0 || digits_len > 9 || !canonical {
        return None;
    }
    if rest.get(digits_start + digits_len) != Some(&b']') {
        return None;
    }
    let index = digits
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
    let name_token = u32::try_from(name.len() + 2).ok()?;
    out.reserve(name.len() + digits_len + 6);
    out.push_str("t[\"");
    out.push_str(name);
    out.push_str("\",");
    for &digit in digits {
        out.push(char::from(digit));
    }
    out.push(']');
    c.skip(digits_start + digits_len + 1);
    Some(ChunkSplit { name_token, index })
}

/// Appends a JSON string the scanner read: it has no escapes and no control characters, so it is
/// written as it came, as `push_json_string` would write it.
fn push_plain_string(out: &mut String, text: &str) {
    out.push('"');
    out.push_str(text);
    out.push('"');
}

/// A key into `parts.refs`.
pub(super) fn part_key(
    c: &mut Cursor<'_>,
    parts: &mut TaskParts,
    recent: &mut Recent,
) -> Step<PartKey> {
    let start = parts.refs.len();
    let split = key(c, &mut parts.refs, recent)?;
    Ok(PartKey {
        range: start..parts.refs.len(),
        split,
    })
}
