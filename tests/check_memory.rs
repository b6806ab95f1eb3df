//! Reading a large baseline costs less memory than twice the file (it cost ten times the file when
//! it was parsed into a JSON tree first): `check` reads a ~60 MB generated baseline whose graphs do
//! not exist, so it stops right after reading it, and the child's peak RSS comes from `wait4`.
//! A memory figure, not a time: the parse holds the same bytes on every machine.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

use std::fmt::Write as _;
use std::process::{Command, Stdio};

/// A baseline of 10 graphs, each with 20,000 duplicated payloads and 40,000 layers.
fn big_baseline() -> String {
    let mut text = String::from(
        "{\n \"schema\": \"graphprof-baseline\",\n \"version\": 1,\n \
         \"graphprof_version\": \"0\",\n \"graphs\": [\n",
    );
    for graph in 0..10 {
        let _ = write!(
            text,
            "{}  {{\n   \"path\": \"gone-{graph}.json\",\n   \"name\": null,\n   \"figures\": \
             {{\"wire_bytes\": 1, \"materialised_bytes\": 1, \"duplicated_bytes\": 0, \
             \"duplication_ratio\": 1.0, \"tasks\": 1}},\n   \"duplicates\": [\n",
            if graph == 0 { "" } else { ",\n" }
        );
        for i in 0..20_000 {
            let _ = writeln!(
                text,
                "    {}{{\"digest\": \"sha256:{:064x}\", \"size_bytes\": {i}, \"copies\": 3, \
                 \"type\": \"numpy.ndarray\", \"layers\": [\"layer-{}\", \"other-{}\"]}}",
                if i == 0 { "" } else { "," },
                graph * 1_000_000 + i,
                i % 97,
                i % 13
            );
        }
        text.push_str("   ],\n   \"layers\": [\n");
        for i in 0..40_000 {
            let _ = writeln!(
                text,
                "    {}{{\"name\": \"layer-{i}-0123456789abcdef\", \"tasks\": {i}, \
                 \"wire_bytes\": {}, \"materialised_bytes\": {}, \"wasted_bytes\": {i}}}",
                if i == 0 { "" } else { "," },
                i * 7,
                i * 9
            );
        }
        text.push_str("   ]\n  }");
    }
    text.push_str("\n ]\n}\n");
    text
}

/// Runs the command to its end; its exit code and peak RSS in bytes (`wait4`'s rusage).
#[allow(clippy::zombie_processes)] // wait4 reaps it
fn peak_rss(command: &mut Command) -> (i32, u64) {
    let child = command.stdin(Stdio::null()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status));
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

#[test]
fn a_baseline_is_read_in_less_than_twice_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.json");
    let text = big_baseline();
    std::fs::write(&path, &text).unwrap();
    let file_bytes = text.len() as u64;
    drop(text);
    let (code, peak) = peak_rss(
        Command::new(assert_cmd::cargo::cargo_bin("graphprof"))
            .current_dir(dir.path())
            .args(["check", "--baseline", "baseline.json", "-q"])
            .stderr(Stdio::null()),
    );
    // Exit 2: it read the whole baseline, then found its graphs missing.
    assert_eq!(code, 2);
    println!(
        "baseline {} MB, peak RSS {} MB ({:.2}x)",
        file_bytes / 1_000_000,
        peak / 1_000_000,
        peak as f64 / file_bytes as f64
    );
    assert!(
        peak < 2 * file_bytes,
        "peak RSS {peak} bytes for a baseline of {file_bytes} bytes"
    );
}
