//! Tasks read as a template's copy but for their numbers (see `visit_template`), built from the
//! numbers alone: a template is resolved once against the graph built so far (its function, its
//! chunk names, its payloads' contents, its fixed references) into a [`HitPlan`], and each copy is
//! then its own key's index, its references' indices and its sizes. [`HitPlan::check`] says when a
//! copy needs more (a key that only its text finds, a duplicate key, a payload's size to refuse,
//! a template whose keys are not chunk keys): the builder then builds it from the parts that the
//! template and the numbers make, so the graph and every error are those of the full path.

use crate::graph::intern::{KeyInterner, Probe};
use crate::graph::model::{Digest, NodeId};
use crate::graph::parts::{Fills, PartArg, PartKey, RefPlace, TaskParts, TemplatePlan};
use crate::units::MAX_SIZE_BYTES;

/// Plans kept: one per reader (two), each reading one template at a time.
pub(super) const PLANS: usize = 2;

/// A number of a task: the template's, or the task's own in slot `n`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Number<T> {
    Fixed(T),
    Slot(usize),
}

impl Number<u64> {
    /// The number of the task with `numbers`.
    pub(super) fn of(self, numbers: &[u64]) -> Option<u64> {
        match self {
            Number::Fixed(value) => Some(value),
            Number::Slot(n) => numbers.get(n).copied(),
        }
    }
}

impl Number<Option<u64>> {
    /// The number (or its absence) of the task with `numbers`.
    pub(super) fn of(self, numbers: &[u64]) -> Option<Option<u64>> {
        match self {
            Number::Fixed(value) => Some(value),
            Number::Slot(n) => numbers.get(n).map(|&value| Some(value)),
        }
    }
}

/// A key of a task: the same key for every copy, or a chunk key of the name in `slot` whose
/// index is the copy's number `number`.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyUse {
    Fixed(NodeId),
    Chunk { slot: u32, number: usize },
}

/// An argument of a task.
#[derive(Debug, Clone, Copy)]
pub(super) enum ArgUse {
    Ref(KeyUse),
    Payload {
        content: u32,
        size: Number<u64>,
        object_id: Number<Option<u64>>,
        sent: bool,
    },
}

/// A template resolved against the graph built so far (its own task among it).
#[derive(Debug)]
pub(super) struct HitPlan {
    /// The name slot of the task's own key, a chunk key whose index is the copy's number
    /// `own_number` (a key the same for every copy would be a duplicate: no plan).
    pub(super) own_slot: u32,
    pub(super) own_number: usize,
    pub(super) function: u32,
    pub(super) args: Vec<ArgUse>,
    pub(super) deps: Vec<KeyUse>,
    pub(super) output: Number<Option<u64>>,
    pub(super) spec: Number<Option<u64>>,
    pub(super) wire: Number<Option<u64>>,
}

/// A copy's own figures, once [`HitPlan::check`] found it can be built from its numbers.
pub(super) struct HitTask {
    /// Its own key's index.
    pub(super) own_index: usize,
    pub(super) output: Option<u64>,
    pub(super) spec: Option<u64>,
    pub(super) wire: Option<u64>,
}

impl HitPlan {
    /// The plan of a template against the graph built so far, with the graph's `keys`, its
    /// `function` ids and `content` ids: `None` when its copies must go the full way. The
    /// template's own task is not always built yet (a task cut by the buffer's end is read again
    /// and is then compared with itself, a copy of its own template), so everything is looked
    /// up here, and anything the graph does not hold yet gives `None`.
    pub(super) fn resolve(
        plan: &TemplatePlan,
        keys: &KeyInterner,
        function: impl Fn(&str) -> Option<u32>,
        content: impl Fn(&Digest) -> Option<u32>,
    ) -> Option<HitPlan> {
        let parts = &plan.parts;
        let mut own_number = None;
        let mut output = Number::Fixed(parts.output_bytes);
        let mut spec = Number::Fixed(parts.spec_bytes);
        let mut wire = Number::Fixed(parts.wire_bytes);
        // Per argument: the slots of its key's index, its size and its object id.
        let mut arg_numbers = vec![(None, None, None); parts.args.len()];
        let mut dep_numbers = vec![None; parts.deps.len()];
        for (n, slot) in plan.slots.iter().enumerate() {
            match slot.fills {
                Fills::OwnKey { index: true, .. } if own_number.is_none() => own_number = Some(n),
                Fills::Output => output = Number::Slot(n),
                Fills::Spec => spec = Number::Slot(n),
                Fills::Wire => wire = Number::Slot(n),
                Fills::Size { arg } => arg_numbers.get_mut(arg)?.1 = Some(n),
                Fills::ObjectId { arg } => arg_numbers.get_mut(arg)?.2 = Some(n),
                Fills::RefKey {
                    place: RefPlace::Arg(arg),
                    index: true,
                    ..
                } => arg_numbers.get_mut(arg)?.0 = Some(n),
                Fills::RefKey {
                    place: RefPlace::Dep(dep),
                    index: true,
                    ..
                } => *dep_numbers.get_mut(dep)? = Some(n),
                // A key with other numbers (or two indices): the full way.
                Fills::OwnKey { .. } | Fills::RefKey { .. } => return None,
            }
        }
        let split = parts.key_split?;
        let name = parts.key.get(2..2 + split.name_token as usize)?;
        let args = parts
            .args
            .iter()
            .zip(&arg_numbers)
            .map(|(arg, &(index, size, object_id))| match arg {
                PartArg::Ref(key) => Some(ArgUse::Ref(key_use(keys, parts, key, index)?)),
                PartArg::Payload(payload) => Some(ArgUse::Payload {
                    content: content(&payload.digest)?,
                    size: size.map_or(Number::Fixed(payload.size_bytes), Number::Slot),
                    object_id: object_id.map_or(Number::Fixed(payload.object_id), Number::Slot),
                    sent: payload.sent,
                }),
            })
            .collect::<Option<Vec<_>>>()?;
        let deps = parts
            .deps
            .iter()
            .zip(&dep_numbers)
            .map(|(key, &index)| key_use(keys, parts, key, index))
            .collect::<Option<Vec<_>>>()?;
        Some(HitPlan {
            own_slot: keys.chunk_slot_of(name)?,
            own_number: own_number?,
            function: function(&parts.function)?,
            args,
            deps,
            output,
            spec,
            wire,
        })
    }

    /// The copy with `numbers`, when it can be built from them, as the full path would build
    /// it: its keys found without their text, its own key not `defined` yet, every payload of
    /// its content's size (`content_size`) and under the limit. Nothing is built here.
    pub(super) fn check(
        &self,
        numbers: &[u64],
        keys: &KeyInterner,
        defined: impl Fn(NodeId) -> bool,
        content_size: impl Fn(u32) -> Option<u64>,
    ) -> Option<HitTask> {
        let own_index = usize::try_from(*numbers.get(self.own_number)?).ok()?;
        // The full path's limit on keys, with room for every key of the task.
        let room = 1 + self.args.len() + self.deps.len();
        if keys.len() + room >= u32::MAX as usize - 1 {
            return None;
        }
        match keys.probe(self.own_slot, own_index) {
            Probe::Known(id) if defined(id) => return None,
            Probe::NeedsText => return None,
            Probe::Known(_) | Probe::New => {}
        }
        for arg in &self.args {
            match *arg {
                ArgUse::Ref(key) => probe_use(keys, key, numbers)?,
                ArgUse::Payload {
                    content,
                    size,
                    object_id,
                    ..
                } => {
                    let size = size.of(numbers)?;
                    if size > MAX_SIZE_BYTES || Some(size) != content_size(content) {
                        return None;
                    }
                    object_id.of(numbers)?;
                }
            }
        }
        for &key in &self.deps {
            probe_use(keys, key, numbers)?;
        }
        Some(HitTask {
            own_index,
            output: self.output.of(numbers)?,
            spec: self.spec.of(numbers)?,
            wire: self.wire.of(numbers)?,
        })
    }
}

/// A referenced key of the template: a chunk key whose index is number `index`, or the key
/// itself (interned with the template's own task).
fn key_use(
    keys: &KeyInterner,
    parts: &TaskParts,
    key: &PartKey,
    index: Option<usize>,
) -> Option<KeyUse> {
    let tagged = parts.refs.get(key.range.clone())?;
    match (index, key.split) {
        (Some(number), Some(split)) => Some(KeyUse::Chunk {
            slot: keys.chunk_slot_of(tagged.get(2..2 + split.name_token as usize)?)?,
            number,
        }),
        (Some(_), None) => None,
        (None, _) => Some(KeyUse::Fixed(keys.find(tagged)?)),
    }
}

/// `Some` when a referenced key of a copy is found without its text.
fn probe_use(keys: &KeyInterner, key: KeyUse, numbers: &[u64]) -> Option<()> {
    match key {
        KeyUse::Fixed(_) => Some(()),
        KeyUse::Chunk { slot, number } => {
            let index = usize::try_from(*numbers.get(number)?).ok()?;
            (keys.probe(slot, index) != Probe::NeedsText).then_some(())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::GraphBuilder;
    use crate::graph::load::read_graph;
    use crate::graph::parts::TaskParts;
    use crate::graph::scan::Cursor;
    use crate::graph::visit::{Recent, task};

    const HEAD: &str = r#"{"format":"graphprof-graph","version":1,"tasks":["#;
    const DIGEST: &str = "blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5";

    /// Reads `tasks` one by one as the loader's fast path does and builds them: the graph (or
    /// the error), and how many were built from a template's numbers alone. The graph and the
    /// error must be those of the serde path, which reads every task in full.
    fn build(tasks: &[String]) -> (Result<String, String>, usize) {
        let mut builder = GraphBuilder::new();
        let (mut recent, mut parts) = (Recent::default(), TaskParts::default());
        let mut from_numbers = 0;
        let mut built = Ok(());
        for text in tasks {
            task(&mut Cursor::new(text.as_bytes()), &mut parts, &mut recent).expect("reads");
            if let Some(plan) = parts.hit.clone()
                && builder.add_hit(&plan, &parts.numbers)
            {
                from_numbers += 1;
                continue;
            }
            built = builder.add_parts(&parts);
            if built.is_err() {
                break;
            }
        }
        let fast = built
            .and_then(|()| builder.finish())
            .map(|graph| format!("{graph:?}"))
            .map_err(|error| error.message);
        let text = format!("{HEAD}{}]}}", tasks.join(","));
        let serde = read_graph(std::path::Path::new("g.json"), text.as_bytes())
            .map(|graph| format!("{graph:?}"));
        match (&fast, serde) {
            (Ok(fast), Ok(serde)) => assert_eq!(fast, &serde),
            (Err(fast), Err(serde)) => {
                assert!(serde.to_string().ends_with(fast.as_str()), "{serde}")
            }
            (fast, serde) => panic!("fast {fast:?}, serde {serde:?}"),
        }
        (fast, from_numbers)
    }

    fn source(i: u64) -> String {
        format!(r#"{{"key":["a-1",{i}],"function":"arange","output_bytes":8000}}"#)
    }

    fn chunk(i: u64, r: u64, size: u64) -> String {
        format!(
            r#"{{"key":["f-2",{i}],"function":"f","args":[{{"ref":["a-1",{r}]}},{{"payload":{{"size_bytes":{size},"digest":"{DIGEST}","object_id":1}}}}],"output_bytes":8000}}"#
        )
    }

    #[test]
    fn copies_of_a_template_are_built_from_their_numbers() {
        let mut tasks: Vec<String> = (10..60).map(source).collect();
        tasks.extend((10..60).map(|i| chunk(i, i, 245760)));
        let (graph, from_numbers) = build(&tasks);
        assert!(graph.is_ok());
        // All but the first task of each layer.
        assert_eq!(from_numbers, 98);
        // References before their keys are defined (placeholders), then the keys.
        let mut tasks: Vec<String> = (10..60).map(|i| chunk(i, i, 245760)).collect();
        tasks.extend((10..60).map(source));
        let (graph, from_numbers) = build(&tasks);
        assert!(graph.is_ok());
        assert_eq!(from_numbers, 98);
    }

    #[test]
    fn copies_that_need_more_go_the_full_way_with_the_same_outcome() {
        let sources = || (10..20).map(source).collect::<Vec<String>>();
        // A duplicate key: the same task twice.
        let mut tasks = sources();
        tasks.push(source(19));
        let (graph, _) = build(&tasks);
        assert!(graph.unwrap_err().contains("duplicate key"));
        // A payload given with another size than before.
        let mut tasks = sources();
        tasks.extend([chunk(10, 10, 245760), chunk(11, 11, 245761)]);
        let (graph, _) = build(&tasks);
        assert!(graph.unwrap_err().contains("was given with size"));
        // A size past the 1 TiB limit, as many digits as the template's.
        let mut tasks = sources();
        tasks.push(source(20).replace("8000", "1000000000000"));
        tasks.push(source(21).replace("8000", "9000000000000"));
        let (graph, _) = build(&tasks);
        assert!(graph.unwrap_err().contains("absurd"));
        // An index far past the others (a hashed key), after which new keys of the name are
        // looked up by text; a reference to the hashed key.
        // (Indices 10 to 63, then 100 to 110: dense; 999: past twice the table's length.)
        let mut tasks: Vec<String> = (10..64).chain(100..111).map(source).collect();
        tasks.extend([source(999), source(111)]);
        tasks.extend([chunk(100, 100, 245760), chunk(101, 999, 245760)]);
        let (graph, from_numbers) = build(&tasks);
        assert!(graph.is_ok());
        assert_eq!(from_numbers, 53 + 10);
        // A task that depends on itself (a cycle).
        let cyclic = vec![
            r#"{"key":["a-1",10],"function":"f","deps":[["a-1",11]]}"#.to_string(),
            r#"{"key":["a-1",11],"function":"f","deps":[["a-1",11]]}"#.to_string(),
        ];
        let (graph, _) = build(&cyclic);
        assert!(graph.unwrap_err().contains("cycle"));
    }
}

#[cfg(test)]
#[path = "build_hit_tests.rs"]
mod differential_tests;
