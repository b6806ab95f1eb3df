//! The loader's fast path: reads a graph file with [`Scanner`] straight into the builder, one
//! task at a time through reusable [`TaskParts`], with no allocation per task and no serde
//! machinery. It accepts a strict subset of what the serde_json path accepts (no escapes in
//! strings, no `null`s, no `bytes_b64`, no repeated fields) and produces the same graph; on anything
//! else it bails and [`super::load`] reads the file with serde_json, which explains any problem.

use super::build::GraphBuilder;
use super::key::Key;
use super::key::itoa_u64;
use super::model::{Digest, DigestAlgo};
use super::parts::{PartArg, PartPayload, TaskParts};
use super::raw::{FORMAT_NAME, FORMAT_VERSION, Header, Measured, RawData};
use super::scan::{Bail, Scan, Scanner};
use std::io::Read;

/// Stands in until a payload's `digest` field is read; a payload without one is refused.
const PLACEHOLDER_DIGEST: Digest = Digest {
    algo: DigestAlgo::Blake3,
    hash: [0; 32],
};

/// Reads a whole graph file into `builder`; `Err(Bail)` leaves the decision to serde_json.
pub fn read_fast<R: Read>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    let mut header = Header::default();
    let mut seen = Fields::default();
    let mut raw = Vec::new();
    scan.expect(b'{')?;
    loop {
        let field = scan.string_bytes()?;
        let bit = match field {
            b"format" => 0,
            b"version" => 1,
            b"name" => 2,
            b"meta" => 3,
            b"measured" => 4,
            b"data" => 5,
            b"tasks" => 6,
            b"contents" => 7,
            _ => return Err(Bail),
        };
        seen.first(bit)?;
        scan.expect(b':')?;
        match bit {
            0 if scan.string()? == FORMAT_NAME => {}
            1 if scan.unsigned()? == FORMAT_VERSION => {}
            2 => header.name = Some(scan.string()?.to_string()),
            3 => header.meta = captured(scan, &mut raw)?,
            4 => header.measured = Some(captured::<Measured, R>(scan, &mut raw)?),
            5 => data_objects(scan, builder)?,
            6 => tasks(scan, builder)?,
            7 => header.contents = captured(scan, &mut raw)?,
            _ => return Err(Bail),
        }
        if !scan.more(b'}')? {
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
fn captured<T: serde::de::DeserializeOwned, R: Read>(
    scan: &mut Scanner<R>,
    raw: &mut Vec<u8>,
) -> Scan<T> {
    raw.clear();
    scan.capture(raw)?;
    serde_json::from_slice(raw).map_err(|_| Bail)
}

/// Tasks handed from the reading thread to the building thread at a time.
const BATCH_TASKS: usize = 2048;
/// Batches in flight between the two threads.
const BATCHES_IN_FLIGHT: usize = 4;

/// A batch of tasks read and not yet built: the first `len` of `tasks` are filled (the rest keep
/// their buffers for reuse).
struct Batch {
    tasks: Vec<TaskParts>,
    len: usize,
}

/// Reads the tasks on this thread and builds them on a second one, in file order, so scanning
/// the text and interning the keys overlap on two cores. Any problem on either side is a bail.
fn tasks<R: Read>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    scan.expect(b'[')?;
    if scan.eat(b']')? {
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

fn read_batches<R: Read>(
    scan: &mut Scanner<R>,
    full: &std::sync::mpsc::SyncSender<Batch>,
    recycled: &std::sync::mpsc::Receiver<Batch>,
) -> Scan<()> {
    loop {
        let mut batch = recycled.try_recv().unwrap_or_else(|_| Batch {
            tasks: Vec::with_capacity(BATCH_TASKS),
            len: 0,
        });
        batch.len = 0;
        let mut more = true;
        while more && batch.len < BATCH_TASKS {
            if batch.tasks.len() == batch.len {
                batch.tasks.push(TaskParts::default());
            }
            let parts = &mut batch.tasks[batch.len];
            parts.clear();
            task(scan, parts)?;
            batch.len += 1;
            more = scan.more(b']')?;
        }
        // A send fails only when the builder stopped on an invalid task.
        full.send(batch).map_err(|_| Bail)?;
        if !more {
            return Ok(());
        }
    }
}

fn task<R: Read>(scan: &mut Scanner<R>, parts: &mut TaskParts) -> Scan<()> {
    let mut seen = Fields::default();
    scan.expect(b'{')?;
    if scan.eat(b'}')? {
        return Err(Bail);
    }
    loop {
        let bit = match scan.string_bytes()? {
            b"key" => 0,
            b"function" => 1,
            b"args" => 2,
            b"deps" => 3,
            b"output_bytes" => 4,
            b"spec_bytes" => 5,
            b"wire_bytes" => 6,
            _ => return Err(Bail),
        };
        seen.first(bit)?;
        scan.expect(b':')?;
        match bit {
            0 => key(scan, &mut parts.key)?,
            1 => parts.function.push_str(scan.string()?),
            2 => args(scan, parts)?,
            3 => deps(scan, parts)?,
            4 => parts.output_bytes = Some(scan.unsigned()?),
            5 => parts.spec_bytes = Some(scan.unsigned()?),
            _ => parts.wire_bytes = Some(scan.unsigned()?),
        }
        if !scan.more(b'}')? {
            break;
        }
    }
    if seen.has(0) && seen.has(1) {
        Ok(())
    } else {
        Err(Bail)
    }
}

/// Appends a key in its tagged form (see [`Key::tagged`]).
fn key<R: Read>(scan: &mut Scanner<R>, out: &mut String) -> Scan<()> {
    if scan.peek()? == Some(b'"') {
        out.push('s');
        out.push_str(scan.string()?);
        return Ok(());
    }
    scan.expect(b'[')?;
    out.push_str("t[");
    push_plain_string(out, scan.string()?);
    while scan.more(b']')? {
        out.push(',');
        if scan.peek()? == Some(b'"') {
            push_plain_string(out, scan.string()?);
        } else {
            let index = scan.unsigned()?;
            if index > i64::MAX as u64 {
                return Err(Bail);
            }
            out.push_str(itoa_u64(index, &mut [0u8; 20]));
        }
    }
    out.push(']');
    Ok(())
}

/// Appends a JSON string the scanner read: it has no escapes and no control characters, so it is
/// written as it came, as `push_json_string` would write it.
fn push_plain_string(out: &mut String, text: &str) {
    out.push('"');
    out.push_str(text);
    out.push('"');
}

fn deps<R: Read>(scan: &mut Scanner<R>, parts: &mut TaskParts) -> Scan<()> {
    scan.expect(b'[')?;
    if scan.eat(b']')? {
        return Ok(());
    }
    loop {
        let start = parts.refs.len();
        key(scan, &mut parts.refs)?;
        parts.deps.push(start..parts.refs.len());
        if !scan.more(b']')? {
            return Ok(());
        }
    }
}

fn args<R: Read>(scan: &mut Scanner<R>, parts: &mut TaskParts) -> Scan<()> {
    scan.expect(b'[')?;
    if scan.eat(b']')? {
        return Ok(());
    }
    loop {
        scan.expect(b'{')?;
        let arg = match scan.string_bytes()? {
            b"ref" => {
                scan.expect(b':')?;
                let start = parts.refs.len();
                key(scan, &mut parts.refs)?;
                PartArg::Ref(start..parts.refs.len())
            }
            b"payload" => {
                scan.expect(b':')?;
                PartArg::Payload(payload(scan, parts)?)
            }
            _ => return Err(Bail),
        };
        scan.expect(b'}')?;
        parts.args.push(arg);
        if !scan.more(b']')? {
            return Ok(());
        }
    }
}

fn payload<R: Read>(scan: &mut Scanner<R>, parts: &mut TaskParts) -> Scan<PartPayload> {
    let mut seen = Fields::default();
    let (mut digest, mut size_bytes) = (None, None);
    let mut payload = PartPayload {
        digest: PLACEHOLDER_DIGEST,
        size_bytes: 0,
        object_id: None,
        type_name: None,
        sent: true,
    };
    scan.expect(b'{')?;
    if scan.eat(b'}')? {
        return Err(Bail);
    }
    loop {
        let bit = match scan.string_bytes()? {
            b"size_bytes" => 0,
            b"digest" => 1,
            b"object_id" => 2,
            b"type" => 3,
            b"sent" => 4,
            _ => return Err(Bail),
        };
        seen.first(bit)?;
        scan.expect(b':')?;
        match bit {
            0 => size_bytes = Some(scan.unsigned()?),
            1 => digest = Some(parts.digest(scan.string_bytes()?).ok_or(Bail)?),
            2 => payload.object_id = Some(scan.unsigned()?),
            4 => payload.sent = scan.boolean()?,
            _ => {
                let start = parts.types.len();
                parts.types.push_str(scan.string()?);
                payload.type_name = Some(start..parts.types.len());
            }
        }
        if !scan.more(b'}')? {
            break;
        }
    }
    payload.digest = digest.ok_or(Bail)?;
    payload.size_bytes = size_bytes.ok_or(Bail)?;
    Ok(payload)
}

/// Shared data objects are few: each is read into a [`RawData`] and added as the serde path does.
fn data_objects<R: Read>(scan: &mut Scanner<R>, builder: &mut GraphBuilder) -> Scan<()> {
    scan.expect(b'[')?;
    if scan.eat(b']')? {
        return Ok(());
    }
    let mut tagged = String::new();
    loop {
        tagged.clear();
        let data = data_object(scan, &mut tagged)?;
        builder.add_data(data).map_err(|_| Bail)?;
        if !scan.more(b']')? {
            return Ok(());
        }
    }
}

fn data_object<R: Read>(scan: &mut Scanner<R>, tagged: &mut String) -> Scan<RawData> {
    let mut seen = Fields::default();
    let mut data = RawData {
        key: Key::string(""),
        size_bytes: None,
        digest: None,
        bytes_b64: None,
        type_name: None,
    };
    scan.expect(b'{')?;
    loop {
        let bit = match scan.string_bytes()? {
            b"key" => 0,
            b"size_bytes" => 1,
            b"digest" => 2,
            b"type" => 3,
            _ => return Err(Bail),
        };
        seen.first(bit)?;
        scan.expect(b':')?;
        match bit {
            0 => {
                key(scan, tagged)?;
                data.key = Key::from_tagged(tagged);
            }
            1 => data.size_bytes = Some(scan.unsigned()?),
            2 => data.digest = Some(scan.string()?.to_string()),
            _ => data.type_name = Some(scan.string()?.to_string()),
        }
        if !scan.more(b'}')? {
            break;
        }
    }
    if seen.has(0) { Ok(data) } else { Err(Bail) }
}
