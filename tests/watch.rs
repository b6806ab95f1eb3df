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
from graphprof_dask.seed import Mapper, seed_collection
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
