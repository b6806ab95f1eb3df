//! One task as the loader's fast path reads it: the tagged key, the function name and the
//! arguments held in buffers that are cleared and reused for every task, so that reading a task
//! allocates nothing; or, for a task that is the template read before it but for its numbers
//! (see `visit_template`), the template ([`TemplatePlan`]) and the task's numbers.
//! [`super::build::GraphBuilder::add_parts`] adds it to the graph.

use super::model::Digest;
use std::ops::Range;
use std::sync::Arc;

/// An embedded payload given by digest and size (the fast path leaves `bytes_b64` to serde).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPayload {
    /// Content identity.
    pub digest: Digest,
    /// Serialized size in bytes.
    pub size_bytes: u64,
    /// Object identity, if given.
    pub object_id: Option<u64>,
    /// Whether it travels in the client's message (`sent`, true when absent).
    pub sent: bool,
    /// The type label: a range of [`TaskParts::types`].
    pub type_name: Option<Range<usize>>,
}

/// A chunk key `t["name",index]` as the reader split it, so the interner need not: exactly what
/// the interner's own split gives for the same tagged key (an index under 10^9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSplit {
    /// Length of the name with its quotes, which starts after `t[` (a key whose name is longer
    /// than a u32 counts is left for the interner to split).
    pub name_token: u32,
    /// The index.
    pub index: u32,
}

/// A tagged key in one of [`TaskParts`]' buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartKey {
    /// Where its text is.
    pub range: Range<usize>,
    /// Its name and index, for a chunk key.
    pub split: Option<ChunkSplit>,
}

/// One argument: a reference (a key in [`TaskParts::refs`]) or a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartArg {
    /// A tagged key in `refs`.
    Ref(PartKey),
    /// An embedded payload.
    Payload(PartPayload),
}

/// A task's fields, in reusable buffers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskParts {
    /// The tagged key (see [`super::key::Key::tagged`]).
    pub key: String,
    /// The key's name and index, for a chunk key.
    pub key_split: Option<ChunkSplit>,
    /// The function name.
    pub function: String,
    /// Arguments in order.
    pub args: Vec<PartArg>,
    /// Extra dependencies: keys in `refs`.
    pub deps: Vec<PartKey>,
    /// Tagged keys of references and dependencies, end to end.
    pub refs: String,
    /// Payload type labels, end to end.
    pub types: String,
    /// Size of the task's result, when given.
    pub output_bytes: Option<u64>,
    /// Serialized size without payloads, when given.
    pub spec_bytes: Option<u64>,
    /// Share of the client's message, when given.
    pub wire_bytes: Option<u64>,
    /// When the task was read as a template's copy but for its numbers (see `visit_template`):
    /// the template, whose slots [`Self::numbers`] fill. The fields above are then not the task's
    /// (they hold what an earlier task left): [`TemplatePlan::materialize`] gives them.
    pub(crate) hit: Option<Arc<TemplatePlan>>,
    /// With [`Self::hit`]: the task's number in each of the template's slots.
    pub(crate) numbers: Vec<u64>,
    /// With [`Self::hit`]: how many more copies of the template follow this task in the file,
    /// copy `n` with `numbers[s] + n * step[s]` in slot `s` (wrapping): a run of alike tasks
    /// handed on as one (see [`Self::extend_run`]).
    pub(crate) run: usize,
    /// With a run: each slot's step from one copy to the next (wrapping).
    pub(crate) step: Vec<u64>,
}

impl TaskParts {
    /// Empties every buffer, keeping their capacity.
    pub fn clear(&mut self) {
        self.key.clear();
        self.key_split = None;
        self.function.clear();
        self.args.clear();
        self.deps.clear();
        self.refs.clear();
        self.types.clear();
        self.output_bytes = None;
        self.spec_bytes = None;
        self.wire_bytes = None;
        self.hit = None;
        self.numbers.clear();
        self.run = 0;
        self.step.clear();
    }

    /// Takes `next`, the task read after this one and all its run, into the run when both are
    /// copies of one template and `next`'s numbers are the run's next (the first two copies set
    /// the step); `false`, with nothing changed, otherwise.
    pub(crate) fn extend_run(&mut self, next: &TaskParts) -> bool {
        let (Some(plan), Some(next_plan)) = (&self.hit, &next.hit) else {
            return false;
        };
        if !Arc::ptr_eq(plan, next_plan) || self.numbers.len() != next.numbers.len() {
            return false;
        }
        if self.run == 0 {
            self.step.clear();
            let steps = self.numbers.iter().zip(&next.numbers);
            self.step
                .extend(steps.map(|(&first, &second)| second.wrapping_sub(first)));
        } else {
            let copy = self.run as u64 + 1;
            let follows = (self.numbers.iter().zip(&self.step).zip(&next.numbers))
                .all(|((&first, &step), &number)| run_number(first, step, copy) == number);
            if !follows {
                return false;
            }
        }
        self.run += 1;
        true
    }

    /// The numbers of copy `copy` of the run (0: this task's own), into `out`.
    pub(crate) fn run_numbers(&self, copy: usize, out: &mut Vec<u64>) {
        out.clear();
        let numbers = self.numbers.iter().zip(&self.step);
        out.extend(numbers.map(|(&first, &step)| run_number(first, step, copy as u64)));
    }
}

/// Copy `copy`'s number in a slot whose first copy has `first` and whose step is `step`.
fn run_number(first: u64, step: u64, copy: u64) -> u64 {
    first.wrapping_add(step.wrapping_mul(copy))
}

/// A template as the builder sees it: the parts a full read of its text gave, and the slots of
/// its numbers. A task read as its copy is these parts with its own number in each slot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TemplatePlan {
    /// The template's generation: the same for every task read as its copy.
    pub(crate) generation: u64,
    /// The template's parts.
    pub(crate) parts: TaskParts,
    /// Where its numbers are and what each fills, in the order of the text.
    pub(crate) slots: Vec<Slot>,
}

/// A number of the template's text and the part it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Where its digits start in the text.
    pub(crate) start: usize,
    /// How many digits.
    pub(crate) len: usize,
    /// The template's number there.
    pub(crate) value: u64,
    /// The largest number a full read takes there (a key's numbers are at most `i64::MAX`).
    pub(crate) limit: u64,
    /// What it is.
    pub(crate) fills: Fills,
}

/// What a number of a task fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fills {
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
pub(crate) enum RefPlace {
    /// Argument `n`, a reference.
    Arg(usize),
    /// Extra dependency `n`.
    Dep(usize),
}

impl TemplatePlan {
    /// The parts of a task read as this template's copy with `numbers` (one per slot): those a
    /// full read of its text gives.
    pub(crate) fn materialize(&self, numbers: &[u64], out: &mut TaskParts) {
        out.clear();
        copy(out, &self.parts);
        write_numbers(out, &self.parts, &self.slots, numbers);
    }
}

/// Fills `parts` (cleared) with the template's `from`.
pub(crate) fn copy(parts: &mut TaskParts, from: &TaskParts) {
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

/// Writes every number of `slots` into `parts`, a copy of the template `from`: `values`, one per
/// slot, each with as many digits as the template's there (it was read from such digits). A key's
/// digits go into its tagged text (so every range stays) and its split.
fn write_numbers(parts: &mut TaskParts, from: &TaskParts, slots: &[Slot], values: &[u64]) {
    let mut own = Vec::new();
    let mut refs = Vec::new();
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
            Fills::OwnKey { at, index } => {
                own.push((at, value.to_string()));
                if index && let Some(split) = &mut parts.key_split {
                    split.index = value as u32;
                }
            }
            Fills::RefKey { place, at, index } => {
                refs.push((at, value.to_string()));
                if !index {
                    continue;
                }
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
    patch(&mut parts.key, &from.key, &own);
    patch(&mut parts.refs, &from.refs, &refs);
}

/// Writes each patch's digits (in order, each as long as the text it replaces) into `out`, a copy
/// of `from`: the text before the first patch stays where it is, the rest is written again from
/// `from`.
fn patch(out: &mut String, from: &str, patches: &[(usize, String)]) {
    let Some(&(first, _)) = patches.first() else {
        return;
    };
    out.truncate(first);
    let mut last = first;
    for (at, digits) in patches {
        out.push_str(from.get(last..*at).unwrap_or_default());
        out.push_str(digits);
        last = at + digits.len();
    }
    out.push_str(from.get(last..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_of(plan: &Arc<TemplatePlan>, numbers: &[u64]) -> TaskParts {
        TaskParts {
            hit: Some(Arc::clone(plan)),
            numbers: numbers.to_vec(),
            ..TaskParts::default()
        }
    }

    fn plan(generation: u64) -> Arc<TemplatePlan> {
        Arc::new(TemplatePlan {
            generation,
            parts: TaskParts::default(),
            slots: Vec::new(),
        })
    }

    #[test]
    fn copies_whose_numbers_step_evenly_make_one_run() {
        let (one, other) = (plan(1), plan(2));
        let mut run = copy_of(&one, &[7, 100, 5]);
        // The second copy sets the step, down and wrapping included.
        assert!(run.extend_run(&copy_of(&one, &[8, 98, 5])));
        assert!(run.extend_run(&copy_of(&one, &[9, 96, 5])));
        // Off the step, another template, a task read in full, other slots: no.
        assert!(!run.extend_run(&copy_of(&one, &[10, 95, 5])));
        assert!(!run.extend_run(&copy_of(&other, &[10, 94, 5])));
        assert!(!run.extend_run(&TaskParts::default()));
        assert!(!run.extend_run(&copy_of(&one, &[10, 94])));
        assert!(run.extend_run(&copy_of(&one, &[10, 94, 5])));
        assert_eq!(run.run, 3);
        let mut numbers = Vec::new();
        let copies: Vec<Vec<u64>> = (0..=run.run)
            .map(|copy| {
                run.run_numbers(copy, &mut numbers);
                numbers.clone()
            })
            .collect();
        assert_eq!(copies, [[7, 100, 5], [8, 98, 5], [9, 96, 5], [10, 94, 5]]);
        // Numbers that wrap around a u64 step as well.
        let mut wraps = copy_of(&one, &[u64::MAX - 1]);
        assert!(wraps.extend_run(&copy_of(&one, &[u64::MAX])));
        assert!(wraps.extend_run(&copy_of(&one, &[0])));
        wraps.run_numbers(2, &mut numbers);
        assert_eq!(numbers, [0]);
        // Cleared, a task is no run.
        run.clear();
        assert_eq!((run.run, run.step.len()), (0, 0));
    }
}
