use super::super::{Recent, task, task_fields};
use crate::graph::parts::TaskParts;
use crate::graph::scan::{Cursor, Stop};

/// A full read of `text` with nothing recent: the parts, or `None` when the fast path bails.
fn full(text: &str) -> Option<TaskParts> {
    let mut parts = TaskParts::default();
    let mut cursor = Cursor::new(text.as_bytes());
    match task_fields(&mut cursor, &mut parts, &mut Recent::default()) {
        Ok(()) => Some(parts),
        Err(Stop::Bail) => None,
        Err(Stop::Short) => panic!("{text} is cut"),
    }
}

/// The parts as a full read gives them: those of a template's copy made from the template and
/// the numbers.
fn plain(parts: TaskParts) -> TaskParts {
    let Some(plan) = &parts.hit else {
        return parts;
    };
    let mut full = TaskParts::default();
    plan.materialize(&parts.numbers, &mut full);
    full
}

/// Reads `first` in full, then `next` as [`task`] does, into fresh buffers and into those of
/// `first`: whether the template took `next`, and its parts (`None` on a bail) with the bytes
/// read.
fn after(first: &str, next: &str) -> (bool, Option<(TaskParts, usize)>) {
    let mut recent = Recent::default();
    let mut parts = TaskParts::default();
    task(&mut Cursor::new(first.as_bytes()), &mut parts, &mut recent).expect("first reads");
    let mut probe = TaskParts::default();
    let mut copy = Template::default();
    copy.learn(first.as_bytes(), &parts.clone());
    let took = copy.read(next.as_bytes(), &mut probe).is_some();
    // Into the buffers of `first` (a copy of the template: written in place) and fresh ones.
    let mut reused = parts.clone();
    let reused = match task(&mut Cursor::new(next.as_bytes()), &mut reused, &mut recent) {
        Ok(()) => Some(plain(reused)),
        Err(Stop::Bail) => None,
        Err(Stop::Short) => panic!("{next} is cut"),
    };
    let mut parts = TaskParts::default();
    let mut cursor = Cursor::new(next.as_bytes());
    let read = match task(&mut cursor, &mut parts, &mut recent) {
        Ok(()) => Some((plain(parts), cursor.offset())),
        Err(Stop::Bail) => None,
        Err(Stop::Short) => panic!("{next} is cut"),
    };
    assert_eq!(
        reused,
        read.as_ref().map(|(parts, _)| parts.clone()),
        "{next} into reused buffers"
    );
    (took, read)
}

use super::Template;

/// `next` after `first`: the template takes it when `takes`, and the parts and length are
/// always those of a full read.
fn check(first: &str, next: &str, takes: bool) {
    let (took, read) = after(first, next);
    assert_eq!(took, takes, "template use for {next} after {first}");
    let expected = full(next).map(|parts| (parts, next.trim_end_matches([',', ']']).len()));
    assert_eq!(read, expected, "{next} after {first}");
}

const F_12: &str = r#"{"key":["f-77ab",12],"function":"f","args":[{"ref":["arange-9c",12]},{"payload":{"size_bytes":245760,"digest":"blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5","object_id":1,"type":"Mapper"}}],"output_bytes":8000}"#;

#[test]
fn a_task_that_differs_in_its_numbers_is_read_from_the_template() {
    check(F_12, &F_12.replace(",12]", ",13]"), true);
    check(F_12, &F_12.replace("8000", "8001"), true);
    check(F_12, &F_12.replace("245760", "999999"), true);
    check(
        F_12,
        &F_12.replace("\"object_id\":1", "\"object_id\":7"),
        true,
    );
    // Every number of a key of three elements; an index of 10 digits (no split).
    let three = r#"{"key":["x",1,2],"function":"f","deps":[["y",4,5,"z"]]}"#;
    check(
        three,
        &three.replace(",2]", ",3]").replace("4,5", "7,8"),
        true,
    );
    let ten = r#"{"key":["x",1234567890],"function":"f"}"#;
    check(ten, &ten.replace("890]", "891]"), true);
    // A payload not sent, indented text.
    let unsent = F_12.replace("\"Mapper\"", "\"Mapper\",\"sent\":false");
    check(&unsent, &unsent.replace(",12]", ",13]"), true);
    let spaced = F_12.replace(",\"", ", \"").replace(":{", ": {");
    check(&spaced, &spaced.replace("8000", "8001"), true);
    // Only the own key's index, only the reference's.
    check(F_12, &F_12.replacen(",12]", ",19]", 1), true);
    check(F_12, &F_12.replace("9c\",12]", "9c\",40]"), true);
    let deps = r#"{"key":["sum-1",3],"function":"sum","deps":[["a-1",5],["b-2",6]],"spec_bytes":10,"wire_bytes":20}"#;
    check(
        deps,
        &deps.replace(",5]", ",7]").replace(",6]", ",1]"),
        true,
    );
    check(
        deps,
        &deps.replace(":10,", ":99,").replace(":20}", ":11}"),
        true,
    );
    // The template holds after a task it took; buffers reused in turn, as a reader's batches
    // are, hold copies of it (written in place) or of another task.
    let mut recent = Recent::default();
    let mut buffers = vec![TaskParts::default(); 3];
    let other = r#"{"key":["g-1",7],"function":"g","deps":[["a-1",5]],"output_bytes":3}"#;
    for index in 10..40 {
        let mut text = F_12.replace(",12]", &format!(",{index}]"));
        text = text.replace("8000", &format!("{}", 8000 + index % 3));
        if index % 7 == 0 {
            text = other.replace(",7]", &format!(",{}]", index % 10));
        }
        let parts = &mut buffers[index % 3];
        task(&mut Cursor::new(text.as_bytes()), parts, &mut recent).unwrap();
        assert_eq!(Some(plain(parts.clone())), full(&text), "{text}");
    }
}

#[test]
fn anything_but_a_number_of_as_many_digits_is_read_in_full() {
    // More digits, a leading zero, a fraction, a number past a u64.
    check(F_12, &F_12.replace(",12]", ",120]"), false);
    check(F_12, &F_12.replace(",12]", ",05]"), false);
    check(F_12, &F_12.replace("8000}", "8.00}"), false);
    let big = F_12.replace("8000}", "10000000000000000000}");
    check(&big, &F_12.replace("8000}", "99999999999999999999}"), false);
    check(&big, &F_12.replace("8000}", "18446744073709551615}"), true);
    // Digits in a string, another function, another length of name.
    check(F_12, &F_12.replace("f-77ab", "f-77ac"), false);
    check(F_12, &F_12.replace("\"f\",", "\"g\","), false);
    check(F_12, &F_12.replace("Mapper", "Mapped"), false);
    // A key number past i64::MAX (a full read refuses it), a string key.
    let long = r#"{"key":["x",1,1000000000000000000],"function":"f"}"#;
    check(
        long,
        &long.replace(",1000000000000000000]", ",9999999999999999999]"),
        false,
    );
    let string = r#"{"key":"x-1","function":"f"}"#;
    check(string, r#"{"key":"x-2","function":"f"}"#, false);
    // Spaces inside a key: its tagged form is not its text, so its index is not placed.
    let spaced = r#"{"key":["x", 1],"function":"f","output_bytes":5}"#;
    check(spaced, &spaced.replace(" 1]", " 2]"), false);
    check(spaced, &spaced.replace(":5}", ":6}"), true);
    // The same task again (a duplicate key for the builder to refuse) is the same parts.
    check(F_12, F_12, true);
    // Invalid JSON where a number was: the template refuses it, and so does the full read.
    check(F_12, &F_12.replace("8000}", "8-00}"), false);
    // A shorter task or one cut before its end.
    check(F_12, r#"{"key":"a","function":"f"}"#, false);
}

#[test]
fn a_number_in_the_last_bytes_is_placed_too() {
    // Lengths that put `output_bytes` in the last, partial word of the comparison, and in a
    // whole one.
    for pad in 0..9 {
        let name = "n".repeat(pad + 1);
        let first = format!(r#"{{"key":["{name}",1],"function":"f","output_bytes":81}}"#);
        check(&first, &first.replace(":81}", ":97}"), true);
        check(
            &first,
            &first.replace(",1]", ",5]").replace(":81}", ":12}"),
            true,
        );
        check(&first, &first.replace(":81}", ":9}"), false);
    }
}

/// A full read's outcome: the parts and the bytes read, or the stop.
fn full_outcome(text: &[u8]) -> Result<(TaskParts, usize), Stop> {
    let mut parts = TaskParts::default();
    let mut cursor = Cursor::new(text);
    task_fields(&mut cursor, &mut parts, &mut Recent::default()).map(|()| (parts, cursor.offset()))
}

/// `next` after `first` through [`task`], into the buffers of `first` (a copy of the template),
/// into them again (then written in place) and into fresh ones, each against a full read; whether
/// the template took `next`.
fn same_as_full_read(first: &[u8], next: &[u8]) -> bool {
    let mut recent = Recent::default();
    let mut parts = TaskParts::default();
    task(&mut Cursor::new(first), &mut parts, &mut recent).expect("first reads");
    let expected = full_outcome(next);
    let mut reused = parts.clone();
    let mut c = Cursor::new(next);
    let got = task(&mut c, &mut reused, &mut recent).map(|()| (plain(reused.clone()), c.offset()));
    assert_eq!(
        got,
        expected,
        "reused: {:?} after {:?}",
        String::from_utf8_lossy(next),
        String::from_utf8_lossy(first)
    );
    // And again into the same (now in place) buffers, then fresh.
    let mut c = Cursor::new(next);
    let got = task(&mut c, &mut reused, &mut recent).map(|()| (plain(reused.clone()), c.offset()));
    assert_eq!(got, expected, "again: {:?}", String::from_utf8_lossy(next));
    let mut fresh = TaskParts::default();
    let mut c = Cursor::new(next);
    let got = task(&mut c, &mut fresh, &mut recent).map(|()| (plain(fresh.clone()), c.offset()));
    assert_eq!(got, expected, "fresh: {:?}", String::from_utf8_lossy(next));
    let mut copy = Template::default();
    let first_parts = full_outcome(first).expect("first reads").0;
    copy.learn(first, &first_parts);
    copy.read(next, &mut TaskParts::default()).is_some()
}

/// Tasks of many shapes: fields in another order, spaces and tabs, keys of every kind, several
/// payloads and references, the largest numbers.
const SHAPES: &[&str] = &[
    F_12,
    r#"{"key":["sum-1",3],"function":"sum","deps":[["a-1",5],["b-2",6]],"spec_bytes":10,"wire_bytes":20}"#,
    r#"{"output_bytes":7,"deps":[["a-1",5],"s",["b",1,2],["c",9]],"args":[{"ref":["d",4]},{"payload":{"object_id":3,"size_bytes":12,"digest":"blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5","sent":true}},{"ref":["e",11]}],"function":"f","key":["k",0]}"#,
    r#"{ "key" : [ "x" , 1 ] , "function" : "f" , "args" : [ { "ref" : ["y",2] } ] , "output_bytes" : 3 }"#,
    r#"{"key":["x",1],"function":"f","args":[{"ref":["x",1]},{"ref":["x",1]}],"deps":[["x",1]],"output_bytes":1,"spec_bytes":1,"wire_bytes":1}"#,
    r#"{"key":["é",123456789],"function":"ü","output_bytes":18446744073709551615}"#,
    r#"{"key":["x",1000000000],"function":"f","deps":[["y",999999999]]}"#,
    r#"{"key":["a",1],"function":"f"}"#,
    r#"{"key":["ab",1],"function":"f","wire_bytes":0}"#,
    "{\t\"function\":\"f\",\"args\":[],\"deps\":[ [\"a\",1] ,[ \"b\",22],[\"c\",3 ]],\"output_bytes\": 5 ,\n\"key\":[\"x\",1]}",
    r#"{"function":"f","args":[{"payload":{"type":"T","sent":false,"size_bytes":10,"digest":"blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5"}},{"payload":{"size_bytes":7,"object_id":0,"digest":"blake3:cd3ca01980c47b2554afffbbdbeb5a4992d1d90e8388fd501985fafc06aa3bb5"}}],"key":["x",10]}"#,
    r#"{"key":["x",1],"function":"f","deps":[]}"#,
    r#"{"key":"9","function":"8","args":[{"ref":"7"}],"deps":["6",["5",4]],"spec_bytes":3}"#,
];

#[test]
fn every_byte_changed_reads_as_a_full_read() {
    let bytes: &[u8] = b"0123456789 ,\"a-.e}]:[{\xff\n";
    let mut took = 0;
    for base in SHAPES {
        let base = base.as_bytes();
        assert!(
            full_outcome(base).is_ok(),
            "{}",
            String::from_utf8_lossy(base)
        );
        for at in 0..base.len() {
            for &b in bytes {
                let mut next = base.to_vec();
                next[at] = b;
                took += usize::from(same_as_full_read(base, &next));
                let mut tail = next.clone();
                tail.extend_from_slice(b",{\"key\"");
                took += usize::from(same_as_full_read(base, &tail));
            }
            // A byte dropped, a byte doubled.
            let mut next = base.to_vec();
            next.remove(at);
            took += usize::from(same_as_full_read(base, &next));
            let mut next = base.to_vec();
            next.insert(at, base[at]);
            took += usize::from(same_as_full_read(base, &next));
        }
        // Two digits of numbers (not of strings: a digest has dozens) changed at once.
        let mut in_string = false;
        let mut digits = Vec::new();
        for (i, &byte) in base.iter().enumerate() {
            in_string ^= byte == b'"';
            if !in_string && byte.is_ascii_digit() {
                digits.push(i);
            }
        }
        for &i in &digits {
            for &j in &digits {
                for (x, y) in [(b'0', b'9'), (b'9', b'0'), (b'5', b'1')] {
                    let mut next = base.to_vec();
                    next[i] = x;
                    next[j] = y;
                    took += usize::from(same_as_full_read(base, &next));
                }
            }
        }
    }
    // The template took thousands of them (every digit changed to another): not all were read in
    // full.
    assert!(took > 5_000, "the template took {took}");
}

#[test]
fn tasks_of_three_shapes_through_buffers_in_rotation_read_as_full_reads() {
    // Buffers reused in rotation across alternating templates, as a reader's batches are.
    let mut recent = Recent::default();
    let mut buffers = vec![TaskParts::default(); 5];
    let mut seed = 12345u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..20000usize {
        let base = SHAPES[(rand() % 3) as usize].as_bytes();
        let mut next = base.to_vec();
        for _ in 0..(rand() % 4) {
            let digits: Vec<usize> = (0..next.len())
                .filter(|&i| next[i].is_ascii_digit())
                .collect();
            let i = digits[(rand() as usize) % digits.len()];
            next[i] = b'0' + (rand() % 10) as u8;
        }
        let expected = full_outcome(&next);
        let parts = &mut buffers[(rand() as usize) % 5];
        let mut c = Cursor::new(&next);
        let got = task(&mut c, parts, &mut recent).map(|()| (plain(parts.clone()), c.offset()));
        assert_eq!(
            got,
            expected,
            "step {step}: {}",
            String::from_utf8_lossy(&next)
        );
    }
}

#[test]
fn a_template_rests_after_misses_in_a_row_and_reads_stay_full_reads() {
    // Tasks that all differ but in length (a random DAG's): after MISSES_BEFORE_REST misses the
    // template rests for REST tasks, then compares again.
    let mut recent = Recent::default();
    let mut parts = TaskParts::default();
    let shapes: Vec<String> = (0..40)
        .map(|n| {
            let deps: Vec<String> = (0..n % 9).map(|d| format!("[\"a\",{d}]")).collect();
            format!(
                r#"{{"key":["x",{n}],"function":"f","deps":[{}]}}"#,
                deps.join(",")
            )
        })
        .collect();
    let mut rested = false;
    for (step, text) in shapes.iter().cycle().take(400).enumerate() {
        task(&mut Cursor::new(text.as_bytes()), &mut parts, &mut recent).unwrap();
        assert_eq!(Some(plain(parts.clone())), full(text), "step {step}");
        rested |= recent.template.rest > 0;
    }
    assert!(rested, "the template never rested");
    // After a rest, a run of tasks alike is read from the template again.
    let mut took = 0;
    for index in 0..(super::REST as usize + 40) {
        let text = F_12.replace(",12]", &format!(",{}]", 100 + index));
        let before = recent.template.generation;
        task(&mut Cursor::new(text.as_bytes()), &mut parts, &mut recent).unwrap();
        assert_eq!(Some(plain(parts.clone())), full(&text));
        took += usize::from(recent.template.rest == 0 && recent.template.generation == before);
    }
    assert!(took > 30, "the template took {took} after its rest");
}
