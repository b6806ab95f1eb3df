//! Reading ahead on another thread: [`read_ahead`] gives an [`Input`] for the [`Scanner`] and a
//! [`Feed`] to run on a second thread, which reads the file into blocks while the scanner parses
//! the block before. A block is handed over whole, not copied: the scanner's unread bytes (the
//! start of a step cut by the block's end, a task at most, usually) are copied into the room left
//! free at the front of the next block, so the bulk of the file is copied once, by the kernel,
//! and on the other thread. A step longer than that room is joined with the block in a new
//! buffer, so any length is read.
//!
//! [`Scanner`]: super::Scanner

use super::{Bail, Input, Scan};
use std::io::Read;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Blocks read and not yet parsed: the next one is read while the scanner works on this one.
const BLOCKS_IN_FLIGHT: usize = 2;

/// A block: its buffer, with the file's bytes in `buf[room..end]`.
type Block = (Vec<u8>, usize);

/// The scanner's side: blocks in, spent buffers back.
pub struct ReadAhead {
    blocks: Receiver<Scan<Block>>,
    spent: Sender<Vec<u8>>,
    room: usize,
    block_len: usize,
}

/// The reading thread's side: see [`Feed::run`].
pub struct Feed {
    blocks: SyncSender<Scan<Block>>,
    spent: Receiver<Vec<u8>>,
    room: usize,
    block_len: usize,
}

/// An input reading ahead in blocks of `block_bytes` with `room` bytes free before each for the
/// unread bytes of the one before, and the feed to run on another thread.
pub fn read_ahead(block_bytes: usize, room: usize) -> (ReadAhead, Feed) {
    let (blocks_in, blocks_out) = sync_channel(BLOCKS_IN_FLIGHT);
    let (spent_in, spent_out) = channel();
    let block_len = room + block_bytes.max(1);
    (
        ReadAhead {
            blocks: blocks_out,
            spent: spent_in,
            room,
            block_len,
        },
        Feed {
            blocks: blocks_in,
            spent: spent_out,
            room,
            block_len,
        },
    )
}

impl Feed {
    /// Reads `reader` to its end in blocks, each filled unless the input ends, and sends them;
    /// a read error is sent as a bail (the serde path reads the file again and names it). Stops
    /// as soon as the scanner is gone (it bailed or finished).
    pub fn run<R: Read>(self, mut reader: R) {
        loop {
            let mut buf = self
                .spent
                .try_recv()
                .unwrap_or_else(|_| vec![0; self.block_len]);
            let mut end = self.room;
            while end < buf.len() {
                match reader.read(&mut buf[end..]) {
                    Ok(0) => break,
                    Ok(read) => end += read,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        let _ = self.blocks.send(Err(Bail));
                        return;
                    }
                }
            }
            // The end of the input: dropping the sender tells the scanner.
            if end == self.room || self.blocks.send(Ok((buf, end))).is_err() {
                return;
            }
        }
    }
}

impl Input for ReadAhead {
    fn refill(&mut self, buf: &mut Vec<u8>, pos: &mut usize, end: &mut usize) -> Scan<bool> {
        // A closed channel is the end of the input.
        let Ok(block) = self.blocks.recv() else {
            return Ok(false);
        };
        let (mut next, next_end) = block?;
        let unread = &buf[*pos..*end];
        let spent = if unread.len() <= self.room {
            let start = self.room - unread.len();
            next[start..self.room].copy_from_slice(unread);
            (*pos, *end) = (start, next_end);
            std::mem::replace(buf, next)
        } else {
            // A step longer than the room: its bytes and the block's, end to end.
            let mut joined = Vec::with_capacity(unread.len() + next_end - self.room);
            joined.extend_from_slice(unread);
            joined.extend_from_slice(&next[self.room..next_end]);
            (*pos, *end) = (0, joined.len());
            let _ = self.spent.send(next);
            std::mem::replace(buf, joined)
        };
        // Only a block's own buffer is read into again; the feed may be gone already.
        if spent.len() == self.block_len {
            let _ = self.spent.send(spent);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scanner;
    use super::*;

    /// Reads every string of `[ "...", ... ]` through a read-ahead input of `block` bytes with
    /// `room` bytes of room, the feed on a second thread.
    fn strings(text: &[u8], block: usize, room: usize) -> Scan<Vec<String>> {
        std::thread::scope(|scope| {
            let (input, feed) = read_ahead(block, room);
            scope.spawn(move || feed.run(text));
            let mut scan = Scanner::with_input(input, Vec::new());
            let mut out = Vec::new();
            scan.step(|c| c.expect(b'['))?;
            loop {
                out.push(scan.step(|c| c.string().map(str::to_string))?);
                if !scan.step(|c| c.more(b']'))? {
                    break;
                }
            }
            scan.finish()?;
            Ok(out)
        })
    }

    #[test]
    fn steps_cut_by_a_block_are_read_whole_within_the_room_and_beyond_it() {
        let long = "x".repeat(100);
        let text = format!(r#"["a", "bcdefgh", "{long}", "ij", "", "klmnopqrstu"]"#);
        let expected = ["a", "bcdefgh", &long, "ij", "", "klmnopqrstu"];
        for (block, room) in [(1, 0), (3, 2), (7, 5), (16, 64), (4096, 64)] {
            let read = strings(text.as_bytes(), block, room);
            assert_eq!(read, Ok(expected.iter().map(|s| s.to_string()).collect()));
        }
        // A value cut by the end of the input is a bail, as with a plain reader.
        assert_eq!(strings(br#"["abc", "de"#, 3, 2), Err(Bail));
    }

    /// Fails after `good` bytes.
    struct Failing<'a> {
        good: &'a [u8],
    }

    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.good.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.good.read(buf)
        }
    }

    #[test]
    fn a_read_error_is_a_bail() {
        let read = std::thread::scope(|scope| {
            let (input, feed) = read_ahead(4, 4);
            scope.spawn(move || {
                feed.run(Failing {
                    good: br#"["abc", "#,
                })
            });
            let mut scan = Scanner::with_input(input, Vec::new());
            scan.step(|c| c.expect(b'['))?;
            scan.step(|c| c.string().map(str::to_string))?;
            scan.step(|c| c.more(b']'))?;
            scan.step(|c| c.string().map(str::to_string))
        });
        assert_eq!(read, Err(Bail));
    }

    #[test]
    fn the_feed_stops_when_the_scanner_is_gone() {
        // A bail at the first byte, and far more blocks than are ever in flight: the feed waits
        // to send until the scanner is dropped (a broken feed hangs this test).
        let mut text = vec![b' '; 1 << 16];
        text[0] = b'x';
        let first = std::thread::scope(|scope| {
            let (input, feed) = read_ahead(8, 8);
            let feeding = scope.spawn(move || feed.run(text.as_slice()));
            let mut scan = Scanner::with_input(input, Vec::new());
            let byte = scan.step(|c| c.expect(b'{'));
            drop(scan);
            feeding.join().expect("the feed ends");
            byte
        });
        assert_eq!(first, Err(Bail));
    }
}
