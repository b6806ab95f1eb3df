//! The loader's fast path: reads a graph file with [`Scanner`] straight into the builder, one
//! task at a time through reusable [`TaskParts`], with no allocation per task and no serde
//! machinery. It accepts a strict subset of what the serde_json path accepts (no escapes in
//! strings, no `null`s, no `bytes_b64`, no repeated fields) and produces the same graph; on anything
//! else it bails and [`super::load`] reads the file with serde_json, which explains any problem.

use super::build::GraphBuilder;
use super::key::Key;
use super::model::{Digest, DigestAlgo};
use super::parts::{PartArg, PartPayload, TaskParts};
use super::raw::{FORMAT_NAME, FORMAT_VERSION, Header, Measured, RawData};
use super::scan::{Bail, Cursor, Field, Input, Scan, Scanner, Step, Stop};

/// Stands in until a payload's `digest` field is read; a payload without one is refused.
const PLACEHOLDER_DIGEST: Digest = Digest {
    algo: DigestAlgo::Blake3,
    hash: [0; 32],
};

/// The fields of a graph file, of a task, of a payload, of a data object, each as `"name":`, in
/// the order graphprof writes them; the index of each is its bit in [`Fields`].
const FILE_FIELDS: &[Field] = &[
    Field::new(b"\"format\":"),
    Field::new(b"\"version\":"),
    Field::new(b"\"name\":"),
    Field::new(b"\"meta\":"),
    Field::new(b"\"measured\":"),
    Field::new(b"\"data\":"),
    Field::new(b"\"tasks\":"),
    Field::new(b"\"contents\":"),
];
const TASK_FIELDS: &[Field] = &[
    Field::new(b"\"key\":"),
    Field::new(b"\"function\":"),
    Field::new(b"\"args\":"),
    Field::new(b"\"deps\":"),
    Field::new(b"\"output_bytes\":"),
    Field::new(b"\"spec_bytes\":"),
    Field::new(b"\"wire_bytes\":"),
];
const ARG_FIELDS: &[Field] = &[Field::new(b"\"ref\":"), Field::new(b"\"payload\":")];
const PAYLOAD_FIELDS: &[Field] = &[
    Field::new(b"\"size_bytes\":"),
    Field::new(b"\"digest\":"),
    Field::new(b"\"object_id\":"),
    Field::new(b"\"type\":"),
    Field::new(b"\"sent\":"),
];
const DATA_FIELDS: &[Field] = &[
    Field::new(b"\"key\":"),
    Field::new(b"\"size_bytes\":"),
    Field::new(b"\"digest\":"),
    Field::new(b"\"type\":"),
];

/// Reads a whole graph file into `builder`; `Err(Bail)` leaves the decision to serde_json.
pub fn read_fast<R: Input>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    read_fast_with(scan, builder, tasks)
}

/// [`read_fast`] with the task array (from its `[` to its `]`) read by `read_tasks`, which leaves
/// `scan` after the array (see [`super::split`]).
pub(super) fn read_fast_with<R: Input>(
    scan: &mut Scanner<R>,
    builder: &mut GraphBuilder,
    mut read_tasks: impl FnMut(&mut Scanner<R>, &mut GraphBuilder) -> Scan<()>,
) -> Scan<()> {
    let mut header = Header::default();
    let mut seen = Fields::default();
    let mut raw = Vec::new();
    scan.step(|c| c.expect(b'{'))?;
    loop {
        let bit = scan.step(|c| c.field(FILE_FIELDS, 0))? as u32;
        seen.first(bit)?;
        match bit {
            0 if scan.step(|c| Ok(c.string_bytes()? == FORMAT_NAME.as_bytes()))? => {}
            1 if scan.step(|c| c.unsigned())? == FORMAT_VERSION => {}
            2 => header.name = Some(scan.step(|c| c.string().map(str::to_string))?),
            3 => header.meta = captured(scan, &mut raw)?,
            4 => header.measured = Some(captured::<Measured, R>(scan, &mut raw)?),
            5 => data_objects(scan, builder)?,
            6 => read_tasks(scan, builder)?,
            7 => header.contents = captured(scan, &mut raw)?,
            _ => return Err(Bail),
        }
        if !scan.step(|c| c.more(b'}'))? {
            break;
        }
    }
    if !(seen.has(0) && seen.has(1) && seen.has(6)) {
        return Err(Bail);
    }
    scan.finish()?;
    builder.set_header(header);
    Ok(())
}

/// Which fields of one object were seen, to refuse a repeated one.
#[derive(Default)]
struct Fields(u32);

impl Fields {
    fn first(&mut self, bit: u32) -> Scan<()> {
        if self.has(bit) {
            return Err(Bail);
        }
        self.0 |= 1 << bit;
        Ok(())
    }

    fn has(&self, bit: u32) -> bool {
        self.0 & (1 << bit) != 0
    }
}

/// A value handed whole to serde_json: `meta`, `measured` and `contents`, small and rare.
fn captured<T: serde::de::DeserializeOwned, R: Input>(
    scan: &mut Scanner<R>,
    raw: &mut Vec<u8>,
) -> Scan<T> {
    raw.clear();
    scan.capture(raw)?;
    serde_json::from_slice(raw).map_err(|_| Bail)
}

/// Tasks handed from the reading thread to the building thread at a time (each of a run counted):
/// few, so that the batches in flight between the two cores take little memory.
pub(super) const BATCH_TASKS: usize = 256;
/// Batches in flight between the two threads.
const BATCHES_IN_FLIGHT: usize = 4;

/// A batch of tasks read and not yet built: the first `len` of `tasks` are filled (the rest keep
/// their buffers for reuse), a run of alike tasks in one (see [`TaskParts::extend_run`]).
pub(super) struct Batch {
    pub(super) tasks: Vec<TaskParts>,
    pub(super) len: usize,
    /// Tasks in the batch, each of a run counted.
    count: usize,
}

impl Batch {
    /// An empty batch with room for [`BATCH_TASKS`] tasks.
    pub(super) fn new() -> Batch {
        Batch {
            tasks: Vec::with_capacity(BATCH_TASKS),
            len: 0,
            count: 0,
        }
    }

    /// Holds [`BATCH_TASKS`] tasks (in fewer entries when some are runs): the builder takes it.
    pub(super) fn full(&self) -> bool {
        self.count >= BATCH_TASKS
    }

    /// Counts the task just read into [`Self::next_parts`]: into the run of the entry before
    /// when it goes on with it, as an entry of its own otherwise.
    pub(super) fn commit(&mut self) {
        self.count += 1;
        let (done, rest) = self.tasks.split_at_mut(self.len);
        let Some(next) = rest.first_mut() else {
            return;
        };
        if done.last_mut().is_some_and(|last| last.extend_run(next)) {
            return;
        }
        next.run = 0;
        self.len += 1;
    }

    /// A batch to fill: one the builder gave back; a new one while fewer than `most` were
    /// made (`made` counts them); else the next one the builder gives back, so that the tasks of
    /// a reader that runs ahead of the builder go into buffers already grown. A bail when the
    /// builder is gone.
    pub(super) fn reuse(
        recycled: &std::sync::mpsc::Receiver<Batch>,
        made: &mut usize,
        most: usize,
    ) -> Scan<Batch> {
        let mut batch = match recycled.try_recv() {
            Ok(batch) => batch,
            Err(_) if *made < most => {
                *made += 1;
                Batch::new()
            }
            Err(_) => recycled.recv().map_err(|_| Bail)?,
        };
        batch.len = 0;
        batch.count = 0;
        Ok(batch)
    }

    /// The buffers of the next task; the caller counts it with [`Self::commit`] once it is read.
    pub(super) fn next_parts(&mut self) -> &mut TaskParts {
        if self.tasks.len() == self.len {
            self.tasks.push(TaskParts::default());
        }
        &mut self.tasks[self.len]
    }
}

/// Reads the tasks on this thread and builds them on a second one, in file order, so scanning
/// the text and interning the keys overlap on two cores. Any problem on either side is a bail.
fn tasks<R: Input>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    if scan.step(|c| {
        c.expect(b'[')?;
        c.eat(b']')
    })? {
        return Err(Bail);
    }
    let (full, to_build) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (empty, recycled) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let building = scope.spawn(move || -> Scan<()> {
            for batch in to_build {
                for parts in &batch.tasks[..batch.len] {
                    builder.add_parts(parts).map_err(|_| Bail)?;
                }
                // The reader may be done and gone: then the batch is simply dropped.
                let _ = empty.send(batch);
            }
            Ok(())
        });
        let read = read_batches(scan, &full, &recycled);
        drop(full);
        let built = building.join().unwrap_or(Err(Bail));
        read.and(built)
    })
}

fn read_batches<R: Input>(
    scan: &mut Scanner<R>,
    full: &std::sync::mpsc::SyncSender<Batch>,
    recycled: &std::sync::mpsc::Receiver<Batch>,
) -> Scan<()> {
    let mut recent = Recent::default();
    loop {
        let mut batch = recycled.try_recv().unwrap_or_else(|_| Batch::new());
        batch.len = 0;
        batch.count = 0;
        let mut more = true;
        while more && !batch.full() {
            let parts = batch.next_parts();
            // A task cut by the end of the buffer is read again whole once more is buffered.
            more = scan.step(|c| {
                task(c, parts, &mut recent)?;
                c.more(b']')
            })?;
            batch.commit();
        }
        // A send fails only when the builder stopped on an invalid task.
        full.send(batch).map_err(|_| Bail)?;
        if !more {
            return Ok(());
        }
    }
}

/// Reads one task into `parts` (buffers of an earlier task, or empty): by comparison with the
/// task read last when it is that one but for its numbers, in full otherwise.
pub(super) fn task(c: &mut Cursor<'_>, parts: &mut TaskParts, recent: &mut Recent) -> Step<()> {
    c.peek()?;
    let text = c.rest();
    if let Some(len) = recent.template.read(text, parts) {
        c.skip(len);
        return Ok(());
    }
    parts.clear();
    let start = c.offset();
    task_fields(c, parts, recent)?;
    recent.template.learn(&text[..c.offset() - start], parts);
    Ok(())
}

/// Reads one task in full, field by field.
fn task_fields(c: &mut Cursor<'_>, parts: &mut TaskParts, recent: &mut Recent) -> Step<()> {
    let mut seen = Fields::default();
    c.expect(b'{')?;
    if c.eat(b'}')? {
        return Err(Stop::Bail);
    }
    let mut next = 0;
    loop {
        let bit = c.field(TASK_FIELDS, next)?;
        next = bit + 1;
        seen.first(bit as u32)?;
        match bit {
            0 => parts.key_split = key(c, &mut parts.key, recent)?,
            1 => Recent::repeated(c, &mut recent.function, &mut parts.function)?,
            2 => args(c, parts, recent)?,
            3 => deps(c, parts, recent)?,
            4 => parts.output_bytes = Some(c.unsigned()?),
            5 => parts.spec_bytes = Some(c.unsigned()?),
            _ => parts.wire_bytes = Some(c.unsigned()?),
        }
        if !c.more(b'}')? {
            break;
        }
    }
    if seen.has(0) && seen.has(1) {
        Ok(())
    } else {
        Err(Stop::Bail)
    }
}

fn deps(c: &mut Cursor<'_>, parts: &mut TaskParts, recent: &mut Recent) -> Step<()> {
    c.expect(b'[')?;
    if c.eat(b']')? {
        return Ok(());
    }
    loop {
        let dep = part_key(c, parts, recent)?;
        parts.deps.push(dep);
        if !c.more(b']')? {
            return Ok(());
        }
    }
}

fn args(c: &mut Cursor<'_>, parts: &mut TaskParts, recent: &mut Recent) -> Step<()> {
    c.expect(b'[')?;
    if c.eat(b']')? {
        return Ok(());
    }
    loop {
        c.expect(b'{')?;
        match c.field(ARG_FIELDS, 0)? {
            0 => {
                let arg = PartArg::Ref(part_key(c, parts, recent)?);
                parts.args.push(arg);
            }
            _ => {
                // Filled in place: a payload is large, and returning it costs a copy.
                parts.args.push(PartArg::Payload(PartPayload {
                    digest: PLACEHOLDER_DIGEST,
                    size_bytes: 0,
                    object_id: None,
                    type_name: None,
                    sent: true,
                }));
                match parts.args.last_mut() {
                    Some(PartArg::Payload(filled)) => {
                        payload(c, filled, &mut parts.types, recent)?;
                    }
                    _ => return Err(Stop::Bail),
                }
            }
        }
        c.expect(b'}')?;
        if !c.more(b']')? {
            return Ok(());
        }
    }
}

/// Reads a payload into `payload`, which holds the defaults; type labels go to `types`.
fn payload(
    c: &mut Cursor<'_>,
    payload: &mut PartPayload,
    types: &mut String,
    recent: &mut Recent,
) -> Step<()> {
    let mut seen = Fields::default();
    let (mut digest, mut size_bytes) = (None, None);
    c.expect(b'{')?;
    if c.eat(b'}')? {
        return Err(Stop::Bail);
    }
    let mut next = 0;
    loop {
        let bit = c.field(PAYLOAD_FIELDS, next)?;
        next = bit + 1;
        seen.first(bit as u32)?;
        match bit {
            0 => size_bytes = Some(c.unsigned()?),
            1 => digest = Some(recent.digest(c)?),
            2 => payload.object_id = Some(c.unsigned()?),
            4 => payload.sent = c.boolean()?,
            _ => {
                let start = types.len();
                Recent::repeated(c, &mut recent.type_name, types)?;
                payload.type_name = Some(start..types.len());
            }
        }
        if !c.more(b'}')? {
            break;
        }
    }
    payload.digest = digest.ok_or(Stop::Bail)?;
    payload.size_bytes = size_bytes.ok_or(Stop::Bail)?;
    Ok(())
}

/// Shared data objects are few: each is read into a [`RawData`] and added as the serde path does.
fn data_objects<R: Input>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    if scan.step(|c| {
        c.expect(b'[')?;
        c.eat(b']')
    })? {
        return Ok(());
    }
    let mut tagged = String::new();
    let mut recent = Recent::default();
    loop {
        let (data, more) = scan.step(|c| {
            tagged.clear();
            let data = data_object(c, &mut tagged, &mut recent)?;
            Ok((data, c.more(b']')?))
        })?;
        builder.add_data(data).map_err(|_| Bail)?;
        if !more {
            return Ok(());
        }
    }
}

fn data_object(c: &mut Cursor<'_>, tagged: &mut String, recent: &mut Recent) -> Step<RawData> {
    let mut seen = Fields::default();
    let mut data = RawData {
        key: Key::string(""),
        size_bytes: None,
        digest: None,
        bytes_b64: None,
        type_name: None,
    };
    c.expect(b'{')?;
    let mut next = 0;
    loop {
        let bit = c.field(DATA_FIELDS, next)?;
        next = bit + 1;
        seen.first(bit as u32)?;
        match bit {
            0 => {
                key(c, tagged, recent)?;
                data.key = Key::from_tagged(tagged);
            }
            1 => data.size_bytes = Some(c.unsigned()?),
            2 => data.digest = Some(c.string()?.to_string()),
            _ => data.type_name = Some(c.string()?.to_string()),
        }
        if !c.more(b'}')? {
            break;
        }
    }
    if seen.has(0) {
        Ok(data)
    } else {
        Err(Stop::Bail)
    }
}

#[path = "visit_keys.rs"]
mod keys;
#[path = "visit_template.rs"]
mod template;
pub(super) use keys::Recent;
use keys::{key, part_key};
