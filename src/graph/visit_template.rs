//! The task read last as a template for the next: the tasks of a layer are written alike, byte
//! for byte but for their numbers (`["f-77ab",12]` then `["f-77ab",13]`, the same function, the
//! same payload), so a task whose text is the template's with only the digits of its numbers
//! changed (as many digits, still canonical) is the template's parts with those numbers in its
//! slots: one comparison of its bytes instead of a scan of every token. Anything else (another
//! length, another byte outside a number, a number the template does not place) is read in full,
//! and becomes the next template. Only an optimisation: the parts are those a full read gives.
//!
//! A task read this way is handed on as the template ([`TemplatePlan`], shared with the builder)
//! and its numbers, not as a copy of the template's parts with its numbers written in: the builder
//! builds most such tasks from the numbers alone (see `build_hit`), and
//! [`TemplatePlan::materialize`] makes the parts of the others.

use crate::graph::parts::{Fills, PartArg, RefPlace, Slot, TaskParts, TemplatePlan, copy};
use crate::graph::scan::Cursor;
use std::sync::Arc;

/// The last generation given to a template: every template learnt, by any reader, has its own.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The text of the task read last, its parts, and where its numbers are.
#[derive(Default)]
pub(in crate::graph) struct Template {
    /// This template's generation (never 0).
    generation: u64,
    /// The task's text, from its `{` to its `}`.
    text: Vec<u8>,
    /// The parts a full read of `text` gave, until a task is first compared with this template:
    /// then they move into `plan`.
    parts: TaskParts,
    /// The parts and where the numbers of `text` are (see [`TemplatePlan`]); `None` until a task
    /// is first compared with this template (most templates of a graph whose tasks differ are
    /// never compared past their length).
    plan: Option<Arc<TemplatePlan>>,
    /// Which bytes of `text` must be the same (see [`fixed_mask`]), with `plan`.
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

impl Template {
    /// When `rest` starts with a task that is this template but for the digits of its numbers:
    /// the template and the task's numbers in `parts` (see [`TaskParts::hit`]) and its length;
    /// `None`, leaving `parts` as they were, otherwise.
    pub(in crate::graph) fn read(&mut self, rest: &[u8], parts: &mut TaskParts) -> Option<usize> {
        // A text of at least 8 bytes (the first look compares 8) holds a task.
        if self.text.len() < 8 || self.rest > 0 {
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

    /// [`Self::read`] of a template that holds a task.
    fn compare(&mut self, rest: &[u8], parts: &mut TaskParts) -> Option<usize> {
        let n = self.text.len();
        let new = rest.get(..n)?;
        // A cheap look first: the same last byte and the same first bytes.
        if new[n - 1] != b'}' || new.first_chunk::<8>() != self.text.first_chunk::<8>() {
            return None;
        }
        if self.plan.is_none() {
            let slots = slots(&self.text, &self.parts).unwrap_or_default();
            self.fixed = fixed_mask(n, &slots);
            self.plan = Some(Arc::new(TemplatePlan {
                generation: self.generation,
                parts: std::mem::take(&mut self.parts),
                slots,
            }));
        }
        let plan = self.plan.as_ref()?;
        if !same_but_slots(new, &self.text, &self.fixed) {
            return None;
        }
        // Every number: as many digits as the template's, canonical, within its limit; digits
        // that are the template's are its number (most of a task's numbers stay as they are).
        self.values.clear();
        for slot in &plan.slots {
            let range = slot.start..slot.start + slot.len;
            let digits = new.get(range.clone())?;
            let value = if same_digits(digits, self.text.get(range)?) {
                slot.value
            } else {
                canonical_number(digits, slot.limit)?
            };
            self.values.push(value);
        }
        // The buffers of a batch come back to the reader: most already name this template.
        if !parts.hit.as_ref().is_some_and(|hit| Arc::ptr_eq(hit, plan)) {
            parts.hit = Some(Arc::clone(plan));
        }
        parts.numbers.clear();
        parts.numbers.extend_from_slice(&self.values);
        Some(n)
    }

    /// Makes the task just read in full (`text`, from its `{` to its `}`, into `parts`) the
    /// template, unless it rests (see [`Template::misses`]).
    pub(in crate::graph) fn learn(&mut self, text: &[u8], parts: &TaskParts) {
        if self.rest > 0 {
            self.rest -= 1;
            return;
        }
        self.generation = GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.parts.clear();
        copy(&mut self.parts, parts);
        self.plan = None;
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

/// The value of canonical digits (one digit, or no leading zero) of at most `limit`; `None` for
/// anything else (a byte that is not a digit, a value past `limit` or past a u64).
fn canonical_number(digits: &[u8], limit: u64) -> Option<u64> {
    let (&first, _) = digits.split_first()?;
    if first == b'0' && digits.len() > 1 {
        return None;
    }
    // 19 digits never pass a u64: no check per digit.
    let value = if digits.len() <= 19 {
        digits.iter().try_fold(0u64, |value, &digit| {
            let digit = digit.wrapping_sub(b'0');
            (digit < 10).then(|| value * 10 + u64::from(digit))
        })?
    } else {
        number(digits)?
    };
    (value <= limit).then_some(value)
}

/// The value of digits; `None` past a u64 or for a byte that is not a digit.
fn number(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |value, &digit| {
        let digit = digit.wrapping_sub(b'0');
        if digit >= 10 {
            return None;
        }
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
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
