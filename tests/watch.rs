//! `graphprof watch` against a real cluster: `dask scheduler` and `dask worker` processes on
//! 127.0.0.1 (the scheduler without graphprof on its path: watch uploads the guard's code), the
//! seed case sent inline at 1024 chunks by a separate client, and the finding read back from
//! watch's JSON lines. The delay from submission to the printed finding is printed
//! (`-- --nocapture`), never asserted: only a generous timeout is.

#![allow(clippy::unwrap_used)]

mod common;

use common::{dask_python as python, repo};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(180);

/// Processes started in their own groups, each group terminated when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            // SAFETY: signalling a process group this test started.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGTERM);
            }
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dask(args: &[&str], pythonpath: Option<&Path>, dir: &Path) -> Child {
    let bin = python().parent().unwrap().join("dask");
    let mut command = Command::new(bin);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PYTHONPATH")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some(path) = pythonpath {
        command.env("PYTHONPATH", path);
    }
    command.spawn().unwrap()
}

/// Lines of a child's stdout over a channel.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

fn next_event(lines: &mpsc::Receiver<String>, event: &str) -> serde_json::Value {
    loop {
        let line = lines
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("no {event} line from graphprof watch"));
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("watch --format json printed a non-JSON line: {line}"));
        if value["event"] == event {
            return value;
        }
    }
}

const CLIENT: &str = r#"
import sys, time
from distributed import Client, futures_of, wait
from graphprof.seed import Mapper, seed_collection
with Client(sys.argv[1], timeout=60) as client:
    client.wait_for_workers(1, timeout=120)
    x = seed_collection(1024, Mapper(30000))
    print(time.time(), flush=True)
    x = x.persist()
    wait(futures_of(x), timeout=300)
"#;

#[test]
fn watch_prints_the_finding_of_a_graph_sent_by_another_client() {
    let dir = tempfile::tempdir().unwrap();
    let pythonpath = repo().join("python");
    let port = free_port();
    let address = format!("tcp://127.0.0.1:{port}");
    let port_text = port.to_string();
    let scheduler_args = [
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        &port_text,
        "--no-dashboard",
    ];
    let mut processes = Processes(vec![dask(&scheduler_args, None, dir.path())]);
    let worker_args = [
        "worker",
        &address,
        "--host",
        "127.0.0.1",
        "--nthreads",
        "1",
        "--no-dashboard",
    ];
    processes
        .0
        .push(dask(&worker_args, Some(&pythonpath), dir.path()));

    let mut watch = Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(["watch", "--scheduler", &address, "--format", "json"])
        .args(["--timeout", "60s"])
        .env("GRAPHPROF_PYTHON", python())
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let lines = lines_of(&mut watch);
    processes.0.push(watch);
    let watching = next_event(&lines, "watching");
    assert_eq!(watching["registered"], true, "{watching}");
    assert_eq!(watching["thresholds"]["warn_duplicated"], 100_000_000);

    let mut client = Command::new(python())
        .args(["-c", CLIENT, &address])
        .env("PYTHONPATH", &pythonpath)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let client_lines = lines_of(&mut client);
    processes.0.push(client);
    let submitted: f64 = client_lines
        .recv_timeout(TIMEOUT)
        .expect("the client submits")
        .trim()
        .parse()
        .unwrap();
    let finding = next_event(&lines, "finding");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let logged = finding["time"].as_f64().unwrap() - submitted;
    println!(
        "finding logged by the scheduler {logged:.3} s and read from watch {:.3} s after the \
         client began to send the graph",
        now - submitted
    );
    assert_eq!(finding["verdict"], "warn", "{finding}");
    let culprit = &finding["culprits"][0];
    assert_eq!(culprit["type"], "Mapper");
    assert_eq!(culprit["copies"], 1024);
    assert!(
        finding["message"].as_str().unwrap().contains("1024 copies"),
        "{finding}"
    );
}

/// Sends the seed case inline (16 chunks of a Mapper(N)) and prints one JSON line: the guard's
/// events this client saw on topic graphprof, and the error its futures failed with, if any.
const SENDER: &str = r#"
import json, sys
from distributed import Client, futures_of, wait
from graphprof.seed import Mapper, seed_collection
with Client(sys.argv[1], timeout=60) as client:
    client.wait_for_workers(1, timeout=120)
    before = len(client.get_events("graphprof"))
    x = seed_collection(16, Mapper(int(sys.argv[3])), chunk_size=10)
    error = None
    try:
        if sys.argv[2] == "compute":
            x.compute()
        else:
            wait(futures_of(x.persist()), timeout=300)
    except Exception as e:
        error = str(e)
    events = client.get_events("graphprof")[before:]
    print(json.dumps({"events": [e for _, e in events], "error": error}), flush=True)
"#;

fn send(address: &str, how: &str, mapper_len: u32) -> serde_json::Value {
    let output = Command::new(python())
        .args(["-c", SENDER, address, how, &mapper_len.to_string()])
        .env("PYTHONPATH", repo().join("python"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "the sending client failed");
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap()
}

fn start_watch(address: &str, flags: &[&str], processes: &mut Processes) -> mpsc::Receiver<String> {
    let mut watch = Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(["watch", "--scheduler", address, "--format", "json"])
        .args(["--timeout", "60s"])
        .args(flags)
        .env("GRAPHPROF_PYTHON", python())
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let lines = lines_of(&mut watch);
    processes.0.push(watch);
    lines
}

#[test]
fn threshold_flags_make_a_silent_graph_warn_then_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let pythonpath = repo().join("python");
    let port = free_port();
    let address = format!("tcp://127.0.0.1:{port}");
    let port_text = port.to_string();
    let mut processes = Processes(vec![dask(
        &[
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            &port_text,
            "--no-dashboard",
        ],
        None,
        dir.path(),
    )]);
    processes.0.push(dask(
        &[
            "worker",
            &address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        Some(&pythonpath),
        dir.path(),
    ));

    // The default thresholds: 16 copies of a 235 KiB Mapper (3.5 MB beyond the first) pass.
    let default = start_watch(&address, &[], &mut processes);
    let watching = next_event(&default, "watching");
    assert_eq!(watching["registered"], true, "{watching}");
    assert_eq!(watching["already_registered"], false, "{watching}");
    let sent = send(&address, "persist", 30000);
    assert_eq!(sent["events"], serde_json::json!([]), "{sent}");
    assert!(sent["error"].is_null(), "{sent}");

    // A low --warn-duplicated on the guard already there: the same kind of graph warns.
    let low = start_watch(&address, &["--warn-duplicated", "1MB"], &mut processes);
    let watching = next_event(&low, "watching");
    // The JSON says what the text line says: "guard already registered, thresholds set".
    assert_eq!(watching["registered"], true, "{watching}");
    assert_eq!(watching["already_registered"], true, "{watching}");
    assert_eq!(watching["changed"], true, "{watching}");
    assert_eq!(watching["thresholds"]["warn_duplicated"], 1_000_000);
    let sent = send(&address, "persist", 29999);
    assert!(sent["error"].is_null(), "{sent}");
    let finding = next_event(&low, "finding");
    assert_eq!(finding["verdict"], "warn", "{finding}");
    assert_eq!(finding["culprits"][0]["type"], "Mapper");
    assert_eq!(finding["culprits"][0]["copies"], 16);
    assert_eq!(finding["thresholds"]["warn_duplicated"], 1_000_000);
    // The first watch streams the same guard's finding.
    assert_eq!(next_event(&default, "finding")["verdict"], "warn");

    // A refuse threshold fails the graph's futures with the guard's message.
    let refusing = start_watch(&address, &["--refuse-duplicated", "2MiB"], &mut processes);
    let watching = next_event(&refusing, "watching");
    assert_eq!(watching["thresholds"]["refuse_duplicated"], 2_097_152);
    let sent = send(&address, "compute", 29998);
    let error = sent["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not refused: {sent}"));
    assert!(error.contains("graphprof refused this graph"), "{error}");
    assert!(error.contains("Mapper"), "{error}");
    let finding = next_event(&refusing, "finding");
    assert_eq!(finding["verdict"], "refuse", "{finding}");
}

#[test]
fn a_threshold_flag_that_is_not_a_size_is_refused_in_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args([
            "watch",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--warn-duplicated",
            "lots",
        ])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--warn-duplicated"), "{stderr}");
}
