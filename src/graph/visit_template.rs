//! The task read last as a template for the next: the tasks of a layer are written alike, byte
//! for byte but for their numbers (`["f-77ab",12]` then `["f-77ab",13]`, the same function, the
//! same payload), so a task whose text is the template's with only the digits of its numbers
//! changed (as many digits, still canonical) is the template's parts with those numbers patched
//! in: one comparison of its bytes instead of a scan of every token. Anything else (another
//! length, another byte outside a number, a number the template does not place) is read in full,
//! and becomes the next template. Only an optimisation: the parts are those a full read gives.
//!
//! Parts copied from a template are marked with its generation ([`TaskParts::from_template`]):
//! a reader's buffers are reused batch after batch, so the buffers of a task often already hold
//! an earlier copy of the same template, and then only its numbers are written, in place.

use crate::graph::parts::{PartArg, TaskParts};
use crate::graph::scan::Cursor;

/// The last generation given to a template: every template learnt, by any reader, has its own.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The text of the task read last, its parts, and where its numbers are.
#[derive(Default)]
pub(in crate::graph) struct Template {
    /// This template's generation (never 0), in the parts copied from it.
    generation: u64,
    /// The task's text, from its `{` to its `}`.
    text: Vec<u8>,
    /// The parts a full read of `text` gave.
    parts: TaskParts,
    /// Where the numbers of `text` are and what each fills; `None` until a task is first
    /// compared with this template (most templates of a graph whose tasks differ are never
    /// compared past their length).
    slots: Option<Vec<Slot>>,
    /// The template holds a task.
    filled: bool,
    /// Which bytes of `text` must be the same (see [`fixed_mask`]), with `slots`.
    fixed: Vec<u64>,
    /// The numbers of the task being compared, one per slot (kept for reuse).
    values: Vec<u64>,
    /// Tasks compared with a template in a row that were not it: after [`MISSES_BEFORE_REST`],
    /// the next [`REST`] tasks are read in full without a comparison or a new template, so that
    /// a graph whose tasks all differ (a random DAG) pays for few comparisons and copies.
    misses: u32,
    /// Tasks still to read that way.
    rest: u32,
}

/// Misses in a row before a rest (see [`Template::misses`]).
const MISSES_BEFORE_REST: u32 = 8;
/// Tasks read in full during a rest.
const REST: u32 = 64;

/// A number of the template's text and the part it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Where its digits start in the text.
    start: usize,
    /// How many digits.
    len: usize,
    /// The template's number there.
    value: u64,
    /// The largest number a full read takes there (a key's numbers are at most `i64::MAX`).
    limit: u64,
    /// What it is.
    fills: Fills,
}

/// What a number of a task fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fills {
    /// `output_bytes`.
    Output,
    /// `spec_bytes`.
    Spec,
    /// `wire_bytes`.
    Wire,
    /// `size_bytes` of the payload that is argument `arg`.
    Size { arg: usize },
    /// `object_id` of the payload that is argument `arg`.
    ObjectId { arg: usize },
    /// A number of the task's own key, whose digits are at `at` in the tagged key; `index` when
    /// it is a chunk key's index, also in the key's split.
    OwnKey { at: usize, index: bool },
    /// A number of a referenced key, whose digits are at `at` in `refs`; `index` as above.
    RefKey {
        place: RefPlace,
        at: usize,
        index: bool,
    },
}

/// Where a referenced key is in the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefPlace {
    /// Argument `n`, a reference.
    Arg(usize),
    /// Extra dependency `n`.
    Dep(usize),
}

impl Template {
    /// When `rest` starts with a task that is this template but for the digits of its numbers:
    /// its parts in `parts` and its length; `None`, leaving `parts` as they were, otherwise.
    pub(in crate::graph) fn read(&mut self, rest: &[u8], parts: &mut TaskParts) -> Option<usize> {
        if !self.filled || self.rest > 0 {
            return None;
        }
        let read = self.compare(rest, parts);
        if read.is_some() {
            self.misses = 0;
        } else {
            self.misses += 1;
            if self.misses >= MISSES_BEFORE_REST {
                self.misses = 0;
                self.rest = REST;
            }
        }
        read
    }

    /// [`Self::read`] of a filled template.
    fn compare(&mut self, rest: &[u8], parts: &mut TaskParts) -> Option<usize> {
        let n = self.text.len();
        let new = rest.get(..n)?;
        // A cheap look first: the same last byte and the same first bytes.
        if new[n - 1] != b'}' || new.first_chunk::<8>() != self.text.first_chunk::<8>() {
            return None;
        }
        if self.slots.is_none() {
            let slots = slots(&self.text, &self.parts).unwrap_or_default();
            self.fixed = fixed_mask(n, &slots);
            self.slots = Some(slots);
        }
        let slots = self.slots.as_deref().unwrap_or_default();
        if !same_but_slots(new, &self.text, &self.fixed) {
            return None;
        }
        // Every number: as many digits as the template's, canonical, within a u64.
        self.values.clear();
        for slot in slots {
            let range = slot.start..slot.start + slot.len;
            let digits = &new[range.clone()];
            if same_digits(digits, &self.text[range]) {
                self.values.push(slot.value);
                continue;
            }
            let canonical = digits.len() == 1 || digits[0] != b'0';
            if !canonical || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            self.values
                .push(number(digits).filter(|&value| value <= slot.limit)?);
        }
        if parts.from_template != self.generation {
            parts.clear();
            copy(parts, &self.parts);
            parts.from_template = self.generation;
        }
        write_numbers(parts, &self.parts, slots, &self.values, new);
        Some(n)
    }

    /// Makes the task just read in full (`text`, from its `{` to its `}`, into `parts`) the
    /// template, unless it rests (see [`Template::misses`]); `parts` are then a copy of it.
    pub(in crate::graph) fn learn(&mut self, text: &[u8], parts: &mut TaskParts) {
        if self.rest > 0 {
            self.rest -= 1;
            return;
        }
        self.generation = GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.parts.clear();
        copy(&mut self.parts, parts);
        self.slots = None;
        self.filled = text.len() >= 8;
        parts.from_template = self.generation;
        self.parts.from_template = self.generation;
    }
}

/// One word per 8 bytes of a template's text, each byte 0xff where the text must be the same
/// and 0 in a number's digits.
fn fixed_mask(len: usize, slots: &[Slot]) -> Vec<u64> {
    let mut bytes = vec![0xffu8; len.div_ceil(8) * 8];
    for slot in slots {
        bytes[slot.start..slot.start + slot.len].fill(0);
    }
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes")))
        .collect()
}

/// `new` and `text` (as long) are the same wherever `fixed` says so.
fn same_but_slots(new: &[u8], text: &[u8], fixed: &[u64]) -> bool {
    let (a, a_tail) = new.as_chunks::<8>();
    let (b, b_tail) = text.as_chunks::<8>();
    let differ = a
        .iter()
        .zip(b)
        .zip(fixed)
        .fold(0, |differ, ((x, y), mask)| {
            differ | ((u64::from_le_bytes(*x) ^ u64::from_le_bytes(*y)) & mask)
        });
    let tail = a_tail
        .iter()
        .zip(b_tail)
        .enumerate()
        .fold(0, |differ, (at, (x, y))| {
            differ | (u64::from(x ^ y) << (8 * at))
        });
    differ == 0 && tail & fixed.get(a.len()).copied().unwrap_or(0) == 0
}

/// Two numbers' digits, as long, are the same: a loop, not a call, for a few bytes.
fn same_digits(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The value of canonical digits; `None` past a u64.
fn number(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |value, &digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// Fills `parts` (cleared) with the template's `from`.
fn copy(parts: &mut TaskParts, from: &TaskParts) {
    parts.key.push_str(&from.key);
    parts.refs.push_str(&from.refs);
    parts.key_split = from.key_split;
    parts.function.push_str(&from.function);
    parts.args.extend_from_slice(&from.args);
    parts.deps.extend_from_slice(&from.deps);
    parts.types.push_str(&from.types);
    parts.output_bytes = from.output_bytes;
    parts.spec_bytes = from.spec_bytes;
    parts.wire_bytes = from.wire_bytes;
}

/// Writes every number of `slots` into `parts`, a copy of the template `from` (but for its
/// numbers): `values`, whose digits are in `new`. A key's digits go into its tagged text (as
/// many as the template's, so every range stays) and its split.
fn write_numbers(
    parts: &mut TaskParts,
    from: &TaskParts,
    slots: &[Slot],
    values: &[u64],
    new: &[u8],
) {
    let digits = |slot: &Slot| &new[slot.start..slot.start + slot.len];
    let own = slots.iter().filter_map(|slot| match slot.fills {
        Fills::OwnKey { at, .. } => Some((at, digits(slot))),
        _ => None,
    });
    patch(&mut parts.key, &from.key, own);
    let refs = slots.iter().filter_map(|slot| match slot.fills {
        Fills::RefKey { at, .. } => Some((at, digits(slot))),
        _ => None,
    });
    patch(&mut parts.refs, &from.refs, refs);
    for (&value, slot) in values.iter().zip(slots) {
        match slot.fills {
            Fills::Output => parts.output_bytes = Some(value),
            Fills::Spec => parts.spec_bytes = Some(value),
            Fills::Wire => parts.wire_bytes = Some(value),
            Fills::Size { arg } => {
                if let Some(PartArg::Payload(payload)) = parts.args.get_mut(arg) {
                    payload.size_bytes = value;
                }
            }
            Fills::ObjectId { arg } => {
                if let Some(PartArg::Payload(payload)) = parts.args.get_mut(arg) {
                    payload.object_id = Some(value);
                }
            }
            Fills::OwnKey { index: false, .. } | Fills::RefKey { index: false, .. } => {}
            Fills::OwnKey { index: true, .. } => {
                if let Some(split) = &mut parts.key_split {
                    split.index = value as u32;
                }
            }
            Fills::RefKey {
                place, index: true, ..
            } => {
                let key = match place {
                    RefPlace::Arg(n) => match parts.args.get_mut(n) {
                        Some(PartArg::Ref(key)) => key,
                        _ => continue,
                    },
                    RefPlace::Dep(n) => match parts.deps.get_mut(n) {
                        Some(key) => key,
                        None => continue,
                    },
                };
                if let Some(split) = &mut key.split {
                    split.index = value as u32;
                }
            }
        }
    }
}

/// Writes the ASCII digits of each patch (in order, each as long as the text it replaces) into
/// `out`, a copy of `from` but for such digits: the text before the first patch stays where it
/// is, the rest is written again from `from`.
fn patch<'d>(out: &mut String, from: &str, patches: impl Iterator<Item = (usize, &'d [u8])>) {
    let mut patches = patches.peekable();
    let Some(&(first, _)) = patches.peek() else {
        return;
    };
    out.truncate(first);
    let mut last = first;
    for (at, digits) in patches {
        out.push_str(&from[last..at]);
        out.reserve(digits.len());
        for &digit in digits {
            out.push(char::from(digit));
        }
        last = at + digits.len();
    }
    out.push_str(&from[last..]);
}

/// The numbers of a task's text that the template may change, each checked against the parts a
/// full read gave: `None` (no number may change) for anything unexpected. A key's index is one
/// only for a chunk key `["name",index]` with a split, whose tagged form is `t` and the text.
fn slots(text: &[u8], parts: &TaskParts) -> Option<Vec<Slot>> {
    let mut walk = Walk::new(text);
    let mut slots = Vec::new();
    let (mut arg, mut dep) = (0, 0);
    walk.expect(b'{')?;
    loop {
        let name = walk.field()?;
        match name {
            b"key" => {
                let key = walk.key()?;
                let tagged = parts.key.as_bytes();
                key.slots(text, tagged, parts.key_split, &mut slots, |at, index| {
                    Fills::OwnKey { at, index }
                });
            }
            b"function" => walk.string()?,
            b"args" => {
                walk.expect(b'[')?;
                if !walk.eat(b']') {
                    loop {
                        walk.expect(b'{')?;
                        match walk.field()? {
                            b"ref" => {
                                let Some(PartArg::Ref(key)) = parts.args.get(arg) else {
                                    return None;
                                };
                                walk.ref_key(parts, key, RefPlace::Arg(arg), &mut slots)?;
                            }
                            b"payload" => {
                                let Some(PartArg::Payload(payload)) = parts.args.get(arg) else {
                                    return None;
                                };
                                walk.payload(arg, payload, &mut slots)?;
                            }
                            _ => return None,
                        }
                        walk.expect(b'}')?;
                        arg += 1;
                        if !walk.more(b']')? {
                            break;
                        }
                    }
                }
            }
            b"deps" => {
                walk.expect(b'[')?;
                if !walk.eat(b']') {
                    loop {
                        let key = parts.deps.get(dep)?;
                        walk.ref_key(parts, key, RefPlace::Dep(dep), &mut slots)?;
                        dep += 1;
                        if !walk.more(b']')? {
                            break;
                        }
                    }
                }
            }
            b"output_bytes" => walk.unsigned(parts.output_bytes?, Fills::Output, &mut slots)?,
            b"spec_bytes" => walk.unsigned(parts.spec_bytes?, Fills::Spec, &mut slots)?,
            b"wire_bytes" => walk.unsigned(parts.wire_bytes?, Fills::Wire, &mut slots)?,
            _ => return None,
        }
        if !walk.more(b'}')? {
            break;
        }
    }
    (walk.at() == text.len() && arg == parts.args.len() && dep == parts.deps.len()).then_some(slots)
}

/// Where a key is in a task's text: for an array, its text and its numbers' digits, each with
/// whether it is a chunk key's index (`["name",index]`).
#[derive(Default)]
struct KeyText {
    array: Option<std::ops::Range<usize>>,
    numbers: Vec<(std::ops::Range<usize>, bool)>,
}

impl KeyText {
    /// The slots of the key's numbers, when its tagged form (`tagged`, split as `split`) is `t`
    /// and its text, so that each number's digits are in the tagged form too; `fills` makes a
    /// number's [`Fills`] from where its digits are in the tagged form and whether it is the
    /// index. None for a key given otherwise: its digits must then stay as they are.
    fn slots(
        &self,
        text: &[u8],
        tagged: &[u8],
        split: Option<crate::graph::parts::ChunkSplit>,
        slots: &mut Vec<Slot>,
        fills: impl Fn(usize, bool) -> Fills,
    ) {
        let Some(array) = self.array.clone() else {
            return;
        };
        if tagged.get(1..) != text.get(array.clone()) {
            return;
        }
        for (digits, index) in &self.numbers {
            let Some(value) = number(&text[digits.clone()]) else {
                return;
            };
            let index = *index && split.is_some();
            if index && split.map(|split| u64::from(split.index)) != Some(value) {
                return;
            }
            slots.push(Slot {
                start: digits.start,
                len: digits.len(),
                value,
                limit: i64::MAX as u64,
                fills: fills(1 + digits.start - array.start, index),
            });
        }
    }
}

/// A walk over a task's text that a full read accepted, with the scanner's [`Cursor`]: where it
/// is matters here, not only what it reads.
struct Walk<'a> {
    text: &'a [u8],
    c: Cursor<'a>,
}

impl<'a> Walk<'a> {
    fn new(text: &'a [u8]) -> Self {
        Walk {
            text,
            c: Cursor::new(text),
        }
    }

    /// Where the walk is in the text.
    fn at(&self) -> usize {
        self.c.offset()
    }

    fn peek(&mut self) -> Option<u8> {
        self.c.peek().ok()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.c.expect(byte).ok()
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.c.eat(byte).unwrap_or(false)
    }

    fn more(&mut self, close: u8) -> Option<bool> {
        self.c.more(close).ok()
    }

    fn string(&mut self) -> Option<()> {
        self.c.string_bytes().ok().map(|_| ())
    }

    /// A field's name and its colon.
    fn field(&mut self) -> Option<&'a [u8]> {
        let name = self.c.string_bytes().ok()?;
        self.expect(b':')?;
        Some(name)
    }

    /// A number's digits: where they are.
    fn digits(&mut self) -> Option<std::ops::Range<usize>> {
        self.peek()?;
        let start = self.at();
        let (_, digits) = self.c.unsigned_digits().ok()?;
        Some(start..start + digits.len())
    }

    /// A number that fills `fills`, whose value the full read gave as `value`.
    fn unsigned(&mut self, value: u64, fills: Fills, slots: &mut Vec<Slot>) -> Option<()> {
        let digits = self.digits()?;
        (number(&self.text[digits.clone()])? == value).then_some(())?;
        slots.push(Slot {
            start: digits.start,
            len: digits.len(),
            value,
            limit: u64::MAX,
            fills,
        });
        Some(())
    }

    /// A key: a string, or an array of a name and strings and numbers.
    fn key(&mut self) -> Option<KeyText> {
        let mut key = KeyText::default();
        if self.peek()? == b'"' {
            self.string()?;
            return Some(key);
        }
        self.expect(b'[')?;
        let start = self.at() - 1;
        self.string()?;
        let mut elements = 1;
        while self.more(b']')? {
            elements += 1;
            if self.peek()? == b'"' {
                self.string()?;
            } else {
                let digits = self.digits()?;
                key.numbers.push((digits, elements == 2));
            }
        }
        if elements != 2 {
            key.numbers.iter_mut().for_each(|(_, index)| *index = false);
        }
        key.array = Some(start..self.at());
        Some(key)
    }

    /// A referenced key, `key` in the parts, at `place`.
    fn ref_key(
        &mut self,
        parts: &TaskParts,
        key: &crate::graph::parts::PartKey,
        place: RefPlace,
        slots: &mut Vec<Slot>,
    ) -> Option<()> {
        let text = self.key()?;
        let tagged = parts.refs.as_bytes().get(key.range.clone())?;
        let offset = key.range.start;
        text.slots(self.text, tagged, key.split, slots, |at, index| {
            Fills::RefKey {
                place,
                at: offset + at,
                index,
            }
        });
        Some(())
    }

    /// A payload's object, argument `arg`, whose parts the full read gave as `payload`.
    fn payload(
        &mut self,
        arg: usize,
        payload: &crate::graph::parts::PartPayload,
        slots: &mut Vec<Slot>,
    ) -> Option<()> {
        self.expect(b'{')?;
        loop {
            match self.field()? {
                b"size_bytes" => self.unsigned(payload.size_bytes, Fills::Size { arg }, slots)?,
                b"object_id" => {
                    self.unsigned(payload.object_id?, Fills::ObjectId { arg }, slots)?
                }
                b"digest" | b"type" => self.string()?,
                b"sent" => {
                    self.c.boolean().ok()?;
                }
                _ => return None,
            }
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
#[path = "visit_template_tests.rs"]
mod tests;
