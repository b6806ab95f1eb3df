//! Loads a graph file by streaming it: the top-level object is visited field by field and each task
//! is handed to the [`GraphBuilder`] as soon as it is parsed, so the file is never held in memory
//! next to its parsed copy. Every problem becomes an [`InputError`] naming the file and the line
//! and column (while parsing) or the key (after parsing).
//!
//! A regular file is first read by the fast path ([`super::visit`]), which takes the common
//! subset of the format without serde; when it declines, or the graph is invalid, the file is read
//! again by the serde_json path below, which decides and names the place of any problem.

use super::build::{BuildError, GraphBuilder};
use super::model::Graph;
use super::raw::{FORMAT_NAME, FORMAT_VERSION, Header, Measured, RawData, RawTask};
use super::scan::{self, Scanner};
use super::split;
use super::visit;
use crate::error::{InputError, Place};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Size of the read buffer (and of a block read ahead); large enough that parsing, not I/O calls,
/// dominates.
const READ_BUFFER_BYTES: usize = 1 << 20;
/// Room before a block read ahead for the unread bytes of the one before: a task's text fits.
const READ_AHEAD_ROOM_BYTES: usize = 64 << 10;
/// A file at least this long has its task array read on two cores ([`split`]).
const SPLIT_MIN_BYTES: u64 = 8 << 20;
/// How the task array of a long file is cut and read: segments of about 256 KiB (at most three of
/// them in memory: the one being built and one read ahead by each reader, ~3,900 tasks; the
/// 1,000,000-task graph's peak RSS was 105.5 MB with 1 MiB segments, 101.2 MB with these and two
/// in memory, 99.5 MB before the split, 99.3 MB with these and three, its tasks in runs), each
/// read through 32 KiB (a segment's reader reads on past its end by up to one buffer).
const SPLIT_PLAN: split::Plan = split::Plan {
    segment_bytes: 256 << 10,
    buffer_bytes: 32 << 10,
    readers: 2,
};

/// Loads and validates the graph file at `path`; `-` reads standard input (named `<stdin>` in
/// errors).
pub fn load_graph(path: &Path) -> Result<Graph, InputError> {
    load_graph_with(path, SPLIT_MIN_BYTES, SPLIT_PLAN)
}

/// [`load_graph`] with a regular file of at least `split_min_bytes` read as `plan` says: for
/// tests, with small segments.
pub(super) fn load_graph_with(
    path: &Path,
    split_min_bytes: u64,
    plan: split::Plan,
) -> Result<Graph, InputError> {
    if path == Path::new("-") {
        // Standard input, read once through the serde path (a pipe cannot be read twice).
        let stdin = std::io::stdin().lock();
        return read_graph(
            Path::new("<stdin>"),
            BufReader::with_capacity(READ_BUFFER_BYTES, stdin),
        );
    }
    let file = File::open(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if file.metadata().map(|meta| meta.is_dir()).unwrap_or(false) {
        return Err(InputError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other("is a directory"),
        });
    }
    // The fast path reads regular files only: a pipe (`<(...)`) cannot be read twice or rewound.
    if file.metadata().is_ok_and(|meta| meta.is_file()) {
        let split = (split_min_bytes, plan);
        if let Some(graph) = fast_from_file(&file, READ_BUFFER_BYTES, READ_AHEAD_ROOM_BYTES, split)
        {
            return Ok(graph);
        }
        (&file)
            .seek(SeekFrom::Start(0))
            .map_err(|source| InputError::Read {
                path: path.to_path_buf(),
                source,
            })?;
    }
    read_graph(path, BufReader::with_capacity(READ_BUFFER_BYTES, file))
}

/// The fast path over a regular file: a long one with its task array read on two cores (see
/// [`split`]); when that declines (or the file is short), read ahead on a second thread in blocks
/// of `block_bytes` with `room` bytes before each for a step cut by the block before (see
/// [`scan::read_ahead`]).
fn fast_from_file(
    file: &File,
    block_bytes: usize,
    room: usize,
    (split_min_bytes, plan): (u64, split::Plan),
) -> Option<Graph> {
    #[cfg(unix)]
    if let Ok(meta) = file.metadata()
        && meta.len() >= split_min_bytes
    {
        let source = split::FileSource {
            file,
            len: meta.len(),
        };
        // `pread`: the file's own offset, which the path below reads from, stays at its start.
        if let Some(graph) = split::read_split(&source, plan) {
            return Some(graph);
        }
    }
    #[cfg(not(unix))]
    let _ = (split_min_bytes, plan);
    fast_read_ahead(file, block_bytes, room)
}

fn fast_read_ahead<R: Read + Send>(reader: R, block_bytes: usize, room: usize) -> Option<Graph> {
    let mut builder = GraphBuilder::new();
    let read = std::thread::scope(|scope| {
        let (input, feed) = scan::read_ahead(block_bytes, room);
        scope.spawn(move || feed.run(reader));
        let mut scanner = Scanner::with_input(input, Vec::new());
        // Dropping the scanner when done (or bailing) stops the feed, and the scope waits for it.
        visit::read_fast(&mut scanner, &mut builder)
    });
    read.ok()?;
    builder.finish().ok()
}

fn fast_from<R: Read>(reader: R, capacity: usize) -> Option<Graph> {
    let mut builder = GraphBuilder::new();
    let mut scanner = Scanner::new(reader, capacity);
    visit::read_fast(&mut scanner, &mut builder).ok()?;
    builder.finish().ok()
}

/// The fast path alone over bytes in memory, with a read buffer of `capacity` bytes (at least 64):
/// for the fuzz targets' differential check against [`read_graph`]. `None` when it declines. It
/// reads through the scanner's own buffer, not ahead on another thread as a file is read (the
/// read-ahead's cuts and joins have their own tests, and every fixture is read both ways): a
/// thread per input made LeakSanitizer report glibc's thread-exit list as a leak now and then.
///
/// The bytes are also read with the task array cut in segments of `capacity` bytes ([`split`],
/// every segment on this thread, so no more threads than above), and that must give the same
/// graph or decline: this entry point panics when it does not, as the fuzz target's own check.
#[doc(hidden)]
pub fn read_fast_bytes(bytes: &[u8], capacity: usize) -> Option<Graph> {
    let whole = fast_from(bytes, capacity);
    let plan = split::Plan {
        segment_bytes: capacity as u64,
        buffer_bytes: capacity,
        readers: 1,
    };
    if let Some(cut) = split::read_split(bytes, plan) {
        assert_eq!(
            whole.as_ref().map(|graph| format!("{graph:?}")),
            Some(format!("{cut:?}")),
            "the task array read in segments of {capacity} bytes gives another graph"
        );
    }
    whole
}

/// Parses and validates a graph from any reader; `path` names it in errors.
pub fn read_graph<R: Read>(path: &Path, reader: R) -> Result<Graph, InputError> {
    let mut builder = GraphBuilder::new();
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let outcome = (FileSeed {
        builder: &mut builder,
    })
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Err(error) = outcome {
        if error.is_io() {
            return Err(InputError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(error.to_string()),
            });
        }
        return Err(InputError::from_json(path, &error));
    }
    builder.finish().map_err(|error| build_error(path, error))
}

fn build_error(path: &Path, error: BuildError) -> InputError {
    let place = error.key.map_or(Place::File, Place::Key);
    InputError::invalid(path, place, error.message)
}

struct FileSeed<'a> {
    builder: &'a mut GraphBuilder,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

const FIELDS: &[&str] = &[
    "format", "version", "name", "meta", "measured", "data", "tasks", "contents",
];

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a graphprof graph: an object with \"format\", \"version\" and \"tasks\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut header = Header::default();
        let (mut format, mut version, mut tasks_seen) = (false, false, false);
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(field) = map.next_key::<String>()? {
            if let Some(&known) = FIELDS.iter().find(|&&known| known == field) {
                if seen.contains(&known) {
                    return Err(de::Error::duplicate_field(known));
                }
                seen.push(known);
            }
            match field.as_str() {
                "format" => {
                    let value: String = map.next_value()?;
                    if value != FORMAT_NAME {
                        return Err(de::Error::custom(format!(
                            "\"format\" is \"{value}\", expected \"{FORMAT_NAME}\""
                        )));
                    }
                    format = true;
                }
                "version" => {
                    let value: u64 = map.next_value()?;
                    if value != FORMAT_VERSION {
                        return Err(de::Error::custom(format!(
                            "unknown format version {value}; this graphprof reads version {FORMAT_VERSION}"
                        )));
                    }
                    version = true;
                }
                "name" => header.name = Some(map.next_value()?),
                "meta" => header.meta = map.next_value()?,
                "measured" => header.measured = Some(map.next_value::<Measured>()?),
                "contents" => header.contents = map.next_value()?,
                "data" => {
                    map.next_value_seed(ItemsSeed::<RawData> {
                        builder: self.builder,
                        add: GraphBuilder::add_data,
                        empty: None,
                    })?;
                }
                "tasks" => {
                    map.next_value_seed(ItemsSeed::<RawTask> {
                        builder: self.builder,
                        add: GraphBuilder::add_task,
                        empty: Some("\"tasks\" is empty: the graph has no tasks"),
                    })?;
                    tasks_seen = true;
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        if !format {
            return Err(de::Error::missing_field("format"));
        }
        if !version {
            return Err(de::Error::missing_field("version"));
        }
        if !tasks_seen {
            return Err(de::Error::missing_field("tasks"));
        }
        self.builder.set_header(header);
        Ok(())
    }
}

/// Streams an array, adding each element to the builder as soon as it is parsed.
struct ItemsSeed<'a, T> {
    builder: &'a mut GraphBuilder,
    add: fn(&mut GraphBuilder, T) -> Result<(), BuildError>,
    /// The error for an empty array, when one is refused; reported at the array's end.
    empty: Option<&'static str>,
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for ItemsSeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = 0u64;
        while let Some(item) = seq.next_element::<T>()? {
            (self.add)(self.builder, item).map_err(de::Error::custom)?;
            items += 1;
        }
        match self.empty {
            Some(message) if items == 0 => Err(de::Error::custom(message)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Graph, String> {
        read_graph(Path::new("g.json"), text.as_bytes()).map_err(|error| error.to_string())
    }

    const HEAD: &str = r#""format": "graphprof-graph", "version": 1"#;

    #[test]
    fn loads_tuple_keys_payloads_and_forward_references() {
        let text = format!(
            r#"{{{HEAD}, "tasks": [
              {{"key": ["f-1", 0], "function": "f", "args": [{{"ref": ["a-1", 0]}},
                 {{"payload": {{"size_bytes": 10, "digest": "sha256:{hex}", "object_id": 1}}}}]}},
              {{"key": ["a-1", 0], "function": "arange", "output_bytes": 8000}}
            ]}}"#,
            hex = "ab".repeat(32)
        );
        let graph = load(&text).unwrap();
        assert_eq!(graph.task_count(), 2);
        assert_eq!(graph.contents.len(), 1);
        assert_eq!(graph.key_display(0), "('f-1', 0)");
        assert_eq!(graph.dependencies(0), vec![1]);
        assert_eq!(graph.topological_order(), &[1, 0]);
    }

    #[test]
    fn errors_carry_line_column_or_key() {
        let dup = format!(
            "{{{HEAD}, \"tasks\": [\n{{\"key\": \"a\", \"function\": \"f\"}},\n{{\"key\": \"a\", \"function\": \"f\"}}]}}"
        );
        let message = load(&dup).unwrap_err();
        assert!(message.starts_with("g.json: line 3, column"), "{message}");
        assert!(message.contains("key a: duplicate key"), "{message}");

        let missing = format!(
            r#"{{{HEAD}, "tasks": [{{"key": "b", "function": "f", "deps": ["nowhere"]}}]}}"#
        );
        assert_eq!(
            load(&missing).unwrap_err(),
            "g.json: key b: depends on missing key nowhere"
        );

        let cycle = format!(
            r#"{{{HEAD}, "tasks": [{{"key": "x", "function": "f", "deps": ["y"]}},
                {{"key": "y", "function": "f", "args": [{{"ref": "x"}}]}}]}}"#
        );
        let message = load(&cycle).unwrap_err();
        assert!(message.contains("cycle through"), "{message}");
        assert!(message.contains('x') && message.contains('y'), "{message}");
    }

    /// The fast path's graph, when it takes the file.
    fn fast(path: &Path) -> Option<Graph> {
        let file = File::open(path).unwrap();
        let whole = (u64::MAX, SPLIT_PLAN);
        let graph = fast_from_file(&file, READ_BUFFER_BYTES, READ_AHEAD_ROOM_BYTES, whole);
        // The same with blocks of 7 bytes and 5 bytes of room: every step is cut, most are
        // longer than the room and joined with the next block.
        let small = fast_from_file(&File::open(path).unwrap(), 7, 5, whole);
        assert_eq!(
            format!("{small:?}"),
            format!("{graph:?}"),
            "{}",
            path.display()
        );
        graph
    }

    fn fixture_files(folder: &str) -> Vec<std::path::PathBuf> {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut files: Vec<_> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn fast_path_reads_the_fixtures_exactly_as_serde_does() {
        let files = fixture_files("fixtures");
        assert!(files.len() >= 4);
        for path in files {
            let slow = read_graph(&path, File::open(&path).unwrap()).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let Some(fast) = fast(&path) else {
                // The hand-written fixture uses what the fast path leaves to serde.
                assert!(read_fast_bytes(&bytes, 64).is_none(), "{}", path.display());
                continue;
            };
            // The fuzz targets' entry point, with the smallest buffer, reads it the same way.
            let small = read_fast_bytes(&bytes, 64).unwrap();
            assert_eq!(
                format!("{small:?}"),
                format!("{fast:?}"),
                "{}",
                path.display()
            );
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn fast_path_takes_generated_graphs_and_declines_every_bad_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.json");
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-inline-64.json");
        std::fs::copy(seed, &path).unwrap();
        assert!(fast(&path).is_some());
        for path in fixture_files("fixtures/bad") {
            assert!(fast(&path).is_none(), "{}", path.display());
        }
    }

    #[test]
    fn fast_path_declines_what_serde_must_judge() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        let task = r#"{"key": ["f-1", 0], "function": "f"}"#;
        for text in [
            format!(r#"{{{HEAD}, "tasks": [{task}], "tasks": [{task}]}}"#),
            format!(r#"{{{HEAD}, "tasks": [{{"key": "a", "function": "f", "function": "g"}}]}}"#),
            format!(r#"{{{HEAD}, "tasks": [{{"key": "a\"b", "function": "f"}}]}}"#),
            format!(
                r#"{{{HEAD}, "tasks": [{{"key": "a", "function": "f", "output_bytes": null}}]}}"#
            ),
            format!(r#"{{{HEAD}, "tasks": [{task}]}} x"#),
            format!(r#"{{{HEAD}, "meta": {{"a": [1, }}, "tasks": [{task}]}}"#),
            format!(r#"{{{HEAD}, "tasks": [{{"key": ["f", -1], "function": "f"}}]}}"#),
        ] {
            std::fs::write(&path, &text).unwrap();
            assert!(fast(&path).is_none(), "{text}");
            let serde = read_graph(&path, File::open(&path).unwrap()).map(|g| format!("{g:?}"));
            let loaded = load_graph(&path).map(|g| format!("{g:?}"));
            assert_eq!(
                loaded.map_err(|e| e.to_string()),
                serde.map_err(|e| e.to_string()),
                "{text}"
            );
        }
        let ok = format!(
            r#"{{{HEAD}, "name": "n", "meta": {{"a": [1, "x"]}}, "measured": {{"wire_bytes": 5}},
               "data": [{{"key": "d", "size_bytes": 3, "digest": "blake3:{hex}"}}],
               "tasks": [{{"key": ["f-1", 0], "function": "f", "spec_bytes": 9,
                  "args": [{{"ref": "d"}}, {{"payload": {{"size_bytes": 3, "digest": "blake3:{hex}", "type": "T"}}}}],
                  "deps": [["f-1", 1]]}},
                 {{"key": ["f-1", 1], "function": "g", "output_bytes": 0}}]}}"#,
            hex = "ab".repeat(32)
        );
        std::fs::write(&path, &ok).unwrap();
        let slow = read_graph(&path, File::open(&path).unwrap()).unwrap();
        assert_eq!(format!("{:?}", fast(&path).unwrap()), format!("{slow:?}"));
    }

    #[test]
    fn bytes_are_hashed_and_checked() {
        // base64 of "hello"
        let good = format!(
            r#"{{{HEAD}, "tasks": [{{"key": "t", "function": "f", "args": [{{"payload": {{"bytes_b64": "aGVsbG8="}}}}]}}]}}"#
        );
        let graph = load(&good).unwrap();
        assert_eq!(graph.contents[0].size_bytes, 5);
        assert_eq!(
            graph.contents[0].digest,
            super::super::model::Digest::of(super::super::model::DigestAlgo::Blake3, b"hello")
        );
        let bad = good.replace(
            "\"bytes_b64\"",
            &format!("\"digest\": \"blake3:{}\", \"bytes_b64\"", "00".repeat(32)),
        );
        assert!(load(&bad).unwrap_err().contains("digest mismatch"));
    }
}
