//! The fast path's task array read on two cores: the array is cut into segments at raw newlines,
//! each segment read by one of two threads from its own place in the input, and the tasks handed
//! to the builder in file order.
//!
//! A JSON string holds no raw newline, so a newline inside the task array is whitespace; the
//! segment after a newline starts there only if the segment before ends exactly at it: its last
//! task is followed by a comma before the newline and only whitespace from the comma up to the
//! newline. Each segment checks that of its own end, so every segment starts between two tasks
//! of the array, and the tasks read are exactly those a single reader reads. A file of any
//! other shape (a cut inside a task, the array ending before a cut, anything the fast path does
//! not take) is a [`Bail`], and the loader reads the file again on the single-threaded path,
//! which gives the same graph or the same error as before.

use super::build::GraphBuilder;
use super::model::Graph;
use super::scan::{Bail, Input, Reader, Scan, Scanner, Stop};
use super::visit::{self, Batch, Recent};
use std::io::Read;
use std::sync::mpsc::{Receiver, Sender, channel};

/// Where the segments' readers read from: any place of the input, as often as needed.
pub trait Source: Sync {
    /// A reader from one place of the input to its end.
    type At<'a>: Read + Send
    where
        Self: 'a;

    /// A reader from `offset` on.
    fn at(&self, offset: u64) -> Self::At<'_>;

    /// The input's length in bytes.
    fn byte_len(&self) -> u64;
}

impl Source for [u8] {
    type At<'a> = &'a [u8];

    fn at(&self, offset: u64) -> &[u8] {
        let start = usize::try_from(offset).map_or(self.len(), |at| at.min(self.len()));
        &self[start..]
    }

    fn byte_len(&self) -> u64 {
        self.len() as u64
    }
}

/// A regular file, read with `pread` so that readers at several places share one descriptor.
#[cfg(unix)]
pub struct FileSource<'a> {
    /// The file.
    pub file: &'a std::fs::File,
    /// Its length when opened.
    pub len: u64,
}

/// A reader of a [`FileSource`] from a place on.
#[cfg(unix)]
pub struct FileAt<'a> {
    file: &'a std::fs::File,
    offset: u64,
}

#[cfg(unix)]
impl Read for FileAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let read = self.file.read_at(buf, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

#[cfg(unix)]
impl Source for FileSource<'_> {
    type At<'a>
        = FileAt<'a>
    where
        Self: 'a;

    fn at(&self, offset: u64) -> FileAt<'_> {
        FileAt {
            file: self.file,
            offset,
        }
    }

    fn byte_len(&self) -> u64 {
        self.len
    }
}

/// How a source is cut and read.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// About how many bytes of the task array a segment takes.
    pub segment_bytes: u64,
    /// The read buffer of each reader.
    pub buffer_bytes: usize,
    /// Threads reading segments: 2, or 1 to read them all on the calling thread (the builder
    /// still builds on a thread of its own).
    pub readers: usize,
}

/// Batches one reader makes at most: when the builder lags, the reader waits for one back
/// rather than fill new buffers (a segment of 256 KiB is about 5 batches).
const BATCHES_PER_READER: usize = 12;

/// How far past a cut a newline is looked for; a cut with none there is dropped.
const NEWLINE_WINDOW_BYTES: usize = 64 << 10;
/// How much of that window is read at a time.
const NEWLINE_STEP_BYTES: usize = 1 << 10;

/// Reads a graph through the fast path with its task array cut in segments; `None` when the
/// fast path declines or the input does not have the shape the cuts need.
pub fn read_split<S: Source + ?Sized>(source: &S, plan: Plan) -> Option<Graph> {
    let mut builder = GraphBuilder::new();
    let mut scan = Scanner::new(source.at(0), plan.buffer_bytes);
    visit::read_fast_with(&mut scan, &mut builder, |scan, builder| {
        tasks(source, plan, scan, builder)
    })
    .ok()?;
    builder.finish().ok()
}

/// What a segment's reader sends to the builder.
enum Message {
    /// Tasks read, in order.
    Batch(Batch),
    /// The segment ended where it must: every task of it was sent.
    End,
}

/// Where the reader of a segment stands after a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// More tasks of this segment follow.
    More,
    /// The segment ended exactly at the next one's start.
    Cut,
    /// The array ended (the last segment only).
    Close,
}

/// The task array from its `[`, left with `scan` after its `]`.
fn tasks<'s, S: Source + ?Sized>(
    source: &'s S,
    plan: Plan,
    scan: &mut SourceScanner<'s, S>,
    builder: &mut GraphBuilder,
) -> Scan<()> {
    if scan.step(|c| {
        c.expect(b'[')?;
        c.eat(b']')
    })? {
        return Err(Bail);
    }
    let starts = segment_starts(source, scan.position(), plan.segment_bytes);
    let count = starts.len();
    let readers = plan.readers.clamp(1, 2);
    let (to_segment, from_segment): (Vec<_>, Vec<_>) = (0..count).map(|_| channel()).unzip();
    let (to_reader, recycled): (Vec<_>, Vec<_>) = (0..readers).map(|_| channel()).unzip();
    let (permit, permits): (Vec<_>, Vec<_>) = (0..readers).map(|_| channel::<()>()).unzip();
    let mut to_segment: Vec<Option<Sender<Message>>> = to_segment.into_iter().map(Some).collect();
    // Segment `i` is read by reader `i % readers`, its senders and receivers moved there.
    let mut jobs: Vec<Vec<(usize, Sender<Message>)>> = (0..readers).map(|_| Vec::new()).collect();
    for (index, sender) in to_segment.iter_mut().enumerate() {
        if let Some(sender) = sender.take() {
            jobs[index % readers].push((index, sender));
        }
    }
    let mut readers_side: Vec<_> = jobs.into_iter().zip(recycled).zip(permits).collect();
    let own = readers_side.remove(0);
    let starts = &starts;
    let last = std::thread::scope(|scope| {
        let building = scope.spawn(move || build(builder, from_segment, &to_reader, &permit));
        let other = readers_side.pop().map(|((jobs, recycled), permits)| {
            scope.spawn(move || {
                let mut reader = SegmentReader::new(source, plan, starts);
                reader.run(None, jobs, &recycled, &permits)
            })
        });
        let ((jobs, recycled), permits) = own;
        let mut reader = SegmentReader::new(source, plan, starts);
        let mine = reader.run(Some(scan), jobs, &recycled, &permits);
        drop(reader);
        let theirs = other.map_or(Ok(None), |other| other.join().unwrap_or(Err(Bail)));
        let built = building.join().unwrap_or(Err(Bail));
        let (mine, theirs) = (mine?, theirs?);
        built?;
        Ok(mine.or(theirs))
    })?;
    // The scanner of the last segment, when it is not `scan`, goes on after the array.
    if let Some(last) = last {
        *scan = last;
    }
    Ok(())
}

/// Segments read ahead of the one being built: one per reader, so that both readers read while
/// the builder builds (with one, a reader waited for the builder to begin a segment before it
/// began the next, and only one reader read at a time).
const SEGMENTS_AHEAD: usize = 2;

/// The builder's side: every segment's tasks in order, then `Ok` only if each segment ended
/// where it must. Once it has begun segment `i`, the reader of segment `i + SEGMENTS_AHEAD` may
/// start (so that at most that many segments wait in memory besides the one being built).
fn build(
    builder: &mut GraphBuilder,
    segments: Vec<Receiver<Message>>,
    recycle: &[Sender<Batch>],
    permit: &[Sender<()>],
) -> Scan<()> {
    let (readers, count) = (recycle.len(), segments.len());
    for (index, segment) in segments.into_iter().enumerate() {
        if index >= 1 && index + SEGMENTS_AHEAD < count {
            // The reader may be done and gone: nothing waits for this permit then.
            let _ = permit[(index + SEGMENTS_AHEAD) % readers].send(());
        }
        loop {
            match segment.recv() {
                Ok(Message::Batch(batch)) => {
                    for parts in &batch.tasks[..batch.len] {
                        builder.add_parts(parts).map_err(|_| Bail)?;
                    }
                    let _ = recycle[index % readers].send(batch);
                }
                Ok(Message::End) => break,
                // The reader bailed.
                Err(_) => return Err(Bail),
            }
        }
    }
    Ok(())
}

type SourceScanner<'a, S> = Scanner<Reader<<S as Source>::At<'a>>>;

/// One thread's reader of segments: its buffer and recent strings carried from one to the next.
struct SegmentReader<'a, 's, S: Source + ?Sized> {
    source: &'s S,
    plan: Plan,
    starts: &'a [u64],
    buffer: Vec<u8>,
    recent: Recent,
    /// Batches this reader made (see [`Batch::reuse`]).
    made: usize,
}

impl<'a, 's, S: Source + ?Sized> SegmentReader<'a, 's, S> {
    fn new(source: &'s S, plan: Plan, starts: &'a [u64]) -> Self {
        SegmentReader {
            source,
            plan,
            starts,
            buffer: Vec::new(),
            recent: Recent::default(),
            made: 0,
        }
    }

    /// Reads the segments `jobs` in order, the first on `first` when given (the scanner already
    /// at the array's start); returns the scanner of the last segment of the array when it read
    /// it on a scanner of its own.
    fn run(
        &mut self,
        mut first: Option<&mut SourceScanner<'s, S>>,
        jobs: Vec<(usize, Sender<Message>)>,
        recycled: &Receiver<Batch>,
        permits: &Receiver<()>,
    ) -> Scan<Option<SourceScanner<'s, S>>> {
        let mut last = None;
        for (index, out) in jobs {
            let end = self.starts.get(index + 1).copied();
            if index > SEGMENTS_AHEAD {
                permits.recv().map_err(|_| Bail)?;
            }
            if index == 0
                && let Some(scan) = first.take()
            {
                segment(scan, end, &out, recycled, &mut self.recent, &mut self.made)?;
                continue;
            }
            let mut buffer = std::mem::take(&mut self.buffer);
            buffer.resize(self.plan.buffer_bytes.max(64), 0);
            let start = self.starts[index];
            let mut scan = Scanner::with_buffer(self.source.at(start), buffer).starting_at(start);
            segment(
                &mut scan,
                end,
                &out,
                recycled,
                &mut self.recent,
                &mut self.made,
            )?;
            if end.is_none() {
                last = Some(scan);
            } else {
                self.buffer = scan.into_buffer();
            }
        }
        Ok(last)
    }
}

/// Reads the tasks of one segment, which ends at `end` (the next segment's start) or, for the
/// last, at the array's `]`, and sends them in batches, then [`Message::End`].
fn segment<I: Input>(
    scan: &mut Scanner<I>,
    end: Option<u64>,
    out: &Sender<Message>,
    recycled: &Receiver<Batch>,
    recent: &mut Recent,
    made: &mut usize,
) -> Scan<()> {
    loop {
        let mut batch = Batch::reuse(recycled, made, BATCHES_PER_READER)?;
        let mut after = After::More;
        while after == After::More && !batch.full() {
            let parts = batch.next_parts();
            let here = scan.position();
            after = scan.step(|c| {
                visit::task(c, parts, recent)?;
                if !c.more(b']')? {
                    return if end.is_none() {
                        Ok(After::Close)
                    } else {
                        // The array ended before the next segment's start.
                        Err(Stop::Bail)
                    };
                }
                let Some(end) = end else {
                    return Ok(After::More);
                };
                let comma = here + c.offset() as u64 - 1;
                c.peek()?;
                let next = here + c.offset() as u64;
                match (next < end, comma < end) {
                    (true, _) => Ok(After::More),
                    // Only whitespace from the comma to the next segment's start: it starts
                    // between two tasks.
                    (false, true) => Ok(After::Cut),
                    // The last task ran over the next segment's start.
                    (false, false) => Err(Stop::Bail),
                }
            })?;
            batch.commit();
        }
        // A send fails only when the builder stopped.
        out.send(Message::Batch(batch)).map_err(|_| Bail)?;
        if after != After::More {
            return out.send(Message::End).map_err(|_| Bail);
        }
    }
}

/// The start of each segment of a task array that starts at `start`: `start` itself, then the
/// byte after the first newline at or after each further `segment_bytes` whose line starts with
/// `{` (a cut with none in the next [`NEWLINE_WINDOW_BYTES`], or none before the input's end, is
/// dropped).
fn segment_starts<S: Source + ?Sized>(source: &S, start: u64, segment_bytes: u64) -> Vec<u64> {
    let mut starts = vec![start];
    let len = source.byte_len();
    let segment_bytes = segment_bytes.max(1);
    let count = len.saturating_sub(start) / segment_bytes;
    // A line is short: the window is read a little at a time.
    let mut window = vec![0; NEWLINE_STEP_BYTES];
    // Where the last look for a task line ended: a cut before it would find the same line or
    // none, so the input is looked at once whatever the segments' size.
    let mut looked_to = start;
    for index in 1..=count {
        let cut = start + index * segment_bytes;
        if cut < looked_to {
            continue;
        }
        let previous = *starts.last().expect("the array's start");
        let mut reader = source.at(cut);
        let mut looked = 0;
        looked_to = loop {
            let filled = read_up_to(&mut reader, &mut window);
            if let Some(after) = task_line(&window[..filled]) {
                let next = cut + (looked + after) as u64;
                if next > previous && next < len {
                    starts.push(next);
                }
                break next;
            }
            looked += filled;
            if filled < window.len() || looked >= NEWLINE_WINDOW_BYTES {
                break cut + looked as u64;
            }
        };
    }
    starts
}

/// Where in `bytes` the first line that starts (after whitespace) with `{` begins: a cut there
/// likely falls between two tasks (one that does not is refused by the segment before it). A
/// newline whose next line is not all in `bytes` is passed over.
fn task_line(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(newline) = bytes[at..].iter().position(|&byte| byte == b'\n') {
        let after = at + newline + 1;
        let rest = &bytes[after..];
        if let Some(first) = rest.iter().position(|byte| !byte.is_ascii_whitespace())
            && rest[first] == b'{'
        {
            return Some(after);
        }
        at = after;
    }
    None
}

/// Fills as much of `buf` as the reader gives; a read error ends it early (the segment's own
/// reader will meet it again, and bail).
fn read_up_to(mut reader: impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(read) => filled += read,
        }
    }
    filled
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
