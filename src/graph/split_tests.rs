use super::*;
use crate::graph::load::{load_graph_with, read_fast_bytes, read_graph};
use std::path::Path;

const HEAD: &str = r#"{"format":"graphprof-graph","version":1,"name":"n""#;

/// A map-blocks-like graph, one task a line, with `line_end` after each line: sources, then
/// tasks that each use a source and a payload.
fn graph_text(chunks: usize, line_end: &str) -> String {
    let hex = "ab".repeat(32);
    let mut text = format!("{HEAD},{line_end}\"tasks\": [{line_end}");
    let mut tasks = Vec::new();
    for index in 0..chunks {
        tasks.push(format!(
            r#"{{"key":["a-1",{index}],"function":"arange","output_bytes":8000}}"#
        ));
    }
    for index in 0..chunks {
        tasks.push(format!(
            r#"{{"key":["f-2",{index}],"function":"f","args":[{{"ref":["a-1",{index}]}},{{"payload":{{"size_bytes":100,"digest":"blake3:{hex}","object_id":1,"type":"T"}}}}],"output_bytes":80}}"#
        ));
    }
    text.push_str(&tasks.join(&format!(",{line_end}")));
    text.push_str(&format!("{line_end}]}}{line_end}"));
    text
}

fn plan(segment_bytes: u64, readers: usize) -> Plan {
    Plan {
        segment_bytes,
        buffer_bytes: 64,
        readers,
    }
}

fn serde(text: &str) -> String {
    format!(
        "{:?}",
        read_graph(Path::new("g.json"), text.as_bytes()).unwrap()
    )
}

/// Where the task array of `text` starts (after its `[`).
fn array_start(text: &str) -> u64 {
    (text.find('[').unwrap() + 1) as u64
}

#[test]
fn segments_on_two_readers_give_the_graph_serde_gives() {
    for line_end in ["\n", "\r\n"] {
        let text = graph_text(300, line_end);
        let expected = serde(&text);
        for segment_bytes in [1, 100, 333, 1000, 4096, 100_000] {
            let starts = segment_starts(text.as_bytes(), array_start(&text), segment_bytes);
            if segment_bytes <= 4096 {
                assert!(starts.len() > 3, "{segment_bytes}: {starts:?}");
            }
            // Every segment after the first starts after a newline, on a task.
            for &start in &starts[1..] {
                assert_eq!(text.as_bytes()[start as usize - 1], b'\n');
                assert_eq!(text.as_bytes()[start as usize], b'{');
            }
            for readers in [1, 2] {
                let graph = read_split(text.as_bytes(), plan(segment_bytes, readers))
                    .unwrap_or_else(|| panic!("{segment_bytes} {readers} {line_end:?}"));
                assert_eq!(format!("{graph:?}"), expected, "{segment_bytes} {readers}");
            }
        }
    }
}

#[test]
fn a_task_array_without_newlines_is_one_segment() {
    let text = graph_text(50, "");
    assert!(!text.contains('\n'));
    assert_eq!(
        segment_starts(text.as_bytes(), array_start(&text), 10),
        vec![array_start(&text)]
    );
    let graph = read_split(text.as_bytes(), plan(10, 2)).unwrap();
    assert_eq!(format!("{graph:?}"), serde(&text));
}

/// A newline inside a task (a file written with indentation) makes a cut there; the segment
/// before then runs over the next one's start, and the whole read declines: it never reads a
/// task's inside as a task.
#[test]
fn a_cut_inside_a_task_declines() {
    let compact = graph_text(40, "\n");
    let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let expected = serde(&pretty);
    let start = array_start(&pretty);
    let mut declined = 0;
    for segment_bytes in (1..pretty.len() as u64).step_by(7) {
        let starts = segment_starts(pretty.as_bytes(), start, segment_bytes);
        match read_split(pretty.as_bytes(), plan(segment_bytes, 2)) {
            Some(graph) => assert_eq!(format!("{graph:?}"), expected, "{segment_bytes}"),
            None => {
                declined += 1;
                assert!(starts.len() > 1, "{segment_bytes}");
            }
        }
    }
    assert!(declined > 0);
    // A cut in a task whose inside parses as tasks: the segment from `{"key":["x",1],...` on
    // must not stand, since the task before it runs over it.
    let tricky = format!(
        "{HEAD},\"tasks\":[{{\"key\":\"a\",\"function\":\"f\",\"args\":[\n{{\"ref\":\"b\"}}]}},\n{{\"key\":\"b\",\"function\":\"g\"}}]}}"
    );
    let expected = serde(&tricky);
    for segment_bytes in 1..tricky.len() as u64 {
        if let Some(graph) = read_split(tricky.as_bytes(), plan(segment_bytes, 2)) {
            assert_eq!(format!("{graph:?}"), expected, "{segment_bytes}");
        }
    }
    // The array ending before a cut declines too.
    let tail = "{\"format\":\"graphprof-graph\",\"version\":1,\"tasks\":[{\"key\":\"a\",\"function\":\"f\"}\n],\n\"meta\":\n{\"a\":1}\n}".to_string();
    let start = array_start(&tail);
    let starts = segment_starts(tail.as_bytes(), start, 1);
    assert!(starts.iter().any(|&s| s as usize > tail.find(']').unwrap()));
    assert!(read_split(tail.as_bytes(), plan(1, 2)).is_none());
    // What the split declines, the fast path's other reader and serde still read alike.
    assert_eq!(
        format!("{:?}", read_fast_bytes(tail.as_bytes(), 64).unwrap()),
        serde(&tail)
    );
}

/// Errors in a later segment: the split declines and the file is read again, so the message is
/// serde's, with the line and column of the problem (or the key), as before.
#[test]
fn errors_in_a_later_segment_name_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.json");
    let good = graph_text(200, "\n");
    let at = good.find(r#"["f-2",195]"#).unwrap();
    let late = good[..at].lines().count();
    for (broken, expected) in [
        // A syntax error on a late line.
        (
            good.replacen(r#"["f-2",195],"function""#, r#"["f-2",195],"function"x"#, 1),
            format!("line {late}, column"),
        ),
        // A duplicate key in the last segment.
        (
            good.replacen(r#"["f-2",195]"#, r#"["f-2",1]"#, 1),
            "duplicate key".to_string(),
        ),
        // A missing dependency.
        (
            good.replacen(r#"{"ref":["a-1",197]}"#, r#"{"ref":["a-1",9999]}"#, 1),
            "depends on missing key".to_string(),
        ),
    ] {
        std::fs::write(&path, &broken).unwrap();
        let serde = read_graph(&path, std::fs::File::open(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(serde.contains(&expected), "{serde}");
        for segment_bytes in [64, 1000] {
            assert!(read_split(broken.as_bytes(), plan(segment_bytes, 2)).is_none());
            let loaded = load_graph_with(&path, 0, plan(segment_bytes, 2))
                .unwrap_err()
                .to_string();
            assert_eq!(loaded, serde);
        }
    }
    // And the good file loads through the split from disk, in several segments.
    std::fs::write(&path, &good).unwrap();
    let graph = load_graph_with(&path, 0, plan(1000, 2)).unwrap();
    assert_eq!(format!("{graph:?}"), serde(&good));
}

/// Reads `text` as one segment that ends at `end` (the last: `None`) with a 64-byte buffer: how
/// the read ended, every message it sent, and where the scanner stopped.
fn read_segment(text: &str, end: Option<u64>) -> (Scan<()>, Vec<Message>, u64) {
    let (out, sent) = channel();
    let (_recycle, recycled) = channel();
    let mut scan = Scanner::new(text.as_bytes(), 64);
    let read = segment(
        &mut scan,
        end,
        &out,
        &recycled,
        &mut Recent::default(),
        &mut 0,
    );
    drop(out);
    (read, sent.iter().collect(), scan.position())
}

/// The rule each segment checks at its end, alone: its last task is followed by a comma before
/// the next segment's start and only whitespace from there to it.
#[test]
fn a_segment_ends_only_between_two_tasks() {
    let text = "{\"key\":\"a\",\"function\":\"f\"},\r\n {\"key\":\"b\",\"function\":\"g\"}]";
    let second = text.find(" {").unwrap() as u64;
    let run = |end: Option<u64>| {
        let (read, sent, position) = read_segment(text, end);
        let tasks: Vec<String> = sent
            .iter()
            .flat_map(|message| match message {
                Message::Batch(batch) => batch.tasks[..batch.len]
                    .iter()
                    .map(|parts| parts.key.clone())
                    .collect(),
                Message::End => vec!["end".to_string()],
            })
            .collect();
        (read, tasks, position)
    };
    // The next segment starts in the whitespace after the first task's comma: one task.
    for end in [second - 2, second - 1, second, second + 1] {
        let (read, tasks, _) = run(Some(end));
        assert_eq!(read, Ok(()), "{end}");
        assert_eq!(tasks, ["sa", "end"], "{end}");
    }
    // On the comma itself, or inside the first task: the first task runs over it.
    for end in [1, 10, second - 3] {
        assert_eq!(run(Some(end)).0, Err(Bail), "{end}");
    }
    // Inside the second task: the array ends before the next segment's start.
    assert_eq!(run(Some(second + 3)).0, Err(Bail));
    // The last segment reads to the array's end and stops after it.
    let (read, tasks, position) = run(None);
    assert_eq!(read, Ok(()));
    assert_eq!(tasks, ["sa", "sb", "end"]);
    assert_eq!(position, text.len() as u64);
}

#[test]
fn a_reader_with_more_batches_than_it_may_make_reads_every_task_or_stops() {
    // 12,000 tasks: ~47 batches, several times what a reader makes (`BATCHES_PER_READER`), so a
    // reader waits for its batches back from the builder.
    let text = graph_text(12_000, "\n");
    let expected = serde(&text);
    for segment_bytes in [50_000u64, 400_000, 1_000_000, 10_000_000] {
        for readers in [1, 2] {
            for buffer_bytes in [64usize, 1 << 16] {
                let graph = read_split(
                    text.as_bytes(),
                    Plan {
                        segment_bytes,
                        buffer_bytes,
                        readers,
                    },
                )
                .unwrap_or_else(|| panic!("{segment_bytes} {readers}"));
                assert_eq!(format!("{graph:?}"), expected, "{segment_bytes} {readers}");
            }
        }
    }
    // A duplicate key at several places: the builder stops; nothing waits forever.
    for at in [10usize, 3000, 5000, 9000, 20_000, 23_999] {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // lines[2..] are the tasks: task `at` becomes a copy of the one before it.
        let t = 2 + at;
        let prev = lines[t - 1].clone();
        let ends_comma = lines[t].ends_with(',');
        let mut dup = prev.trim_end_matches(',').to_string();
        if ends_comma {
            dup.push(',');
        }
        lines[t] = dup;
        let bad = lines.join("\n");
        for segment_bytes in [50_000u64, 1_000_000] {
            for readers in [1, 2] {
                assert!(
                    read_split(
                        bad.as_bytes(),
                        Plan {
                            segment_bytes,
                            buffer_bytes: 4096,
                            readers
                        }
                    )
                    .is_none()
                );
            }
        }
    }
}

/// Tasks alike but for numbers that go up by one, by two, down, or any which way, with digit
/// counts that change: a run of copies is handed on as one entry of a batch, and building the
/// entries gives the graph serde gives, task by task.
#[test]
fn runs_of_alike_tasks_are_handed_on_as_one_and_build_the_graph_serde_gives() {
    let hex = "ab".repeat(32);
    let chunk = |index: u64, source: u64, output: u64| {
        format!(
            r#"{{"key":["f-2",{index}],"function":"f","args":[{{"ref":["a-1",{source}]}},{{"payload":{{"size_bytes":100,"digest":"blake3:{hex}","object_id":1}}}}],"output_bytes":{output}}}"#
        )
    };
    let mut tasks: Vec<String> = (0..150)
        .map(|index| {
            format!(r#"{{"key":["a-1",{index}],"function":"arange","output_bytes":8000}}"#)
        })
        .collect();
    // Up by one, then the source up by two, then down, then an output that jumps about.
    tasks.extend((0..40).map(|i| chunk(i, i, 80)));
    tasks.extend((40..60).map(|i| chunk(i, 2 * (i - 40), 80)));
    tasks.extend((60..75).map(|i| chunk(i, 149 - (i - 60), 80)));
    tasks.extend((75..95).map(|i| chunk(i, i, 10 + (i * i) % 89)));
    let body = format!("{}]", tasks.join(",\n"));
    // No name: the builder below is given no header.
    let text = format!(r#"{{"format":"graphprof-graph","version":1,"tasks":[{body}}}"#);

    let (read, sent, _) = read_segment(&body, None);
    assert_eq!(read, Ok(()));
    let mut builder = GraphBuilder::new();
    let (mut entries, mut built) = (0, 0);
    for message in sent {
        let Message::Batch(batch) = message else {
            continue;
        };
        for parts in &batch.tasks[..batch.len] {
            builder.add_parts(parts).unwrap();
            entries += 1;
            built += 1 + parts.run;
        }
    }
    assert_eq!(built, tasks.len());
    // The runs: one per template (a digit more starts one) and per change of step; the tasks
    // whose output jumps about are an entry each, or two where a step happens to repeat.
    assert!(entries < 50, "{entries} entries for {built} tasks");
    let graph = builder.finish().unwrap();
    assert_eq!(format!("{graph:?}"), serde(&text));
}
