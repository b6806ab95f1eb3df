//! The temporary files of `graphprof sample --engine dask`, through the real binary on a real
//! LocalCluster: under umask 000 every folder graphprof makes in TMPDIR is 0700 and every file
//! 0600, and they go on a normal end; a SIGKILL of graphprof leaves none of them, nor any process
//! of the driver's group, while the driver runs or while a collection is exported.
//!
//! Each test gets its own TMPDIR. The Python with dask comes from `GRAPHPROF_PYTHON`, else
//! `<repo>/.venv` (as in tests/dask.rs: never skipped); clusters start one at a time.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long graphprof's temporary folders and the driver's group get to go after a SIGKILL:
/// generous, for a loaded machine (it takes about a second).
const CLEANUP: Duration = Duration::from_secs(20);
/// How long a run gets to start its cluster on a loaded 2-core machine.
const STARTUP: Duration = Duration::from_secs(120);

/// Clusters are started one at a time.
fn cluster_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A test's folders: `tmp` is graphprof's TMPDIR, the rest (graph, output, log) lies beside it.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("tmp")).expect("mkdir");
        Place { dir }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `graphprof ARGS... -o out -q` with TMPDIR set, stderr in `log`, under `umask`.
    fn start(&self, args: &[&str], umask: libc::mode_t) -> Child {
        let out = self.path("out");
        let out = out.to_str().expect("a UTF-8 path");
        self.start_plain(&[args, &["-o", out, "-q"]].concat(), umask)
    }

    /// [`Place::start`] without `-o` (for commands that write no folder).
    fn start_plain(&self, args: &[&str], umask: libc::mode_t) -> Child {
        let log = std::fs::File::create(self.path("log")).expect("log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_graphprof"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("TMPDIR", self.tmp())
            .env("GRAPHPROF_PYTHON", common::dask_python())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: umask is async-signal-safe and cannot fail.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
        command.spawn().expect("graphprof runs")
    }

    /// What graphprof left in its TMPDIR: the `graphprof-*` and `.tmp*` entries.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.tmp())
            .expect("tmp")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("graphprof-") || name.starts_with(".tmp"))
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    /// A graph file of the seed case, small, to replay.
    fn graph(&self) -> PathBuf {
        let graph = self.path("graph.json");
        let status = Command::new(env!("CARGO_BIN_EXE_graphprof"))
            .args(["generate", "map-blocks", "--chunks", "16"])
            .args(["--payload-bytes", "16KiB", "-q", "-o"])
            .arg(&graph)
            .status()
            .expect("generate runs");
        assert!(status.success());
        graph
    }
}

/// Polls (up to `limit`) until `done` holds; returns whether it did.
fn poll(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// `(pid, ppid, pgrp)` of every live process (zombies left out: they are gone, only unreaped).
fn processes() -> Vec<(i32, i32, i32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 3 || fields[0] == "Z" {
            continue;
        }
        let (Ok(ppid), Ok(pgrp)) = (fields[1].parse(), fields[2].parse()) else {
            continue;
        };
        found.push((pid, ppid, pgrp));
    }
    found
}

/// The live processes of group `pgrp`.
fn group(pgrp: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|&(_, _, group)| group == pgrp)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// The child of `parent` that runs `python -m graphprof.run COMMAND` and leads its own group
/// (graphprof's watchdogs lead theirs too, but run no Python).
fn python_child(parent: &Child, command: &str) -> Option<i32> {
    let parent = parent.id() as i32;
    let wanted = format!("graphprof.run\0{command}\0");
    processes()
        .into_iter()
        .filter(|&(pid, ppid, pgrp)| ppid == parent && pgrp == pid)
        .map(|(pid, _, _)| pid)
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&wanted))
        })
}

/// The driver graphprof started, once it runs with at least one worker process beside it;
/// panics with the log otherwise.
fn running_driver(graphprof: &mut Child, place: &Place) -> i32 {
    let mut driver = None;
    let running = poll(STARTUP, || {
        if graphprof.try_wait().ok().flatten().is_some() {
            return true;
        }
        driver = python_child(graphprof, "driver");
        // The driver, its multiprocessing helper and a worker.
        driver.is_some_and(|pid| group(pid).len() >= 3)
    });
    let status = graphprof.try_wait().expect("waits");
    assert!(
        running && status.is_none(),
        "the driver never ran ({status:?}): {}",
        place.log()
    );
    driver.expect("polled")
}

/// SIGKILLs graphprof, then checks that its temporary folders and the driver's group go.
fn kill_and_check(mut graphprof: Child, driver: Option<i32>, place: &Place) {
    graphprof.kill().expect("SIGKILL");
    graphprof.wait().expect("waits");
    let clean = poll(CLEANUP, || {
        place.leftovers().is_empty() && driver.is_none_or(|pgrp| group(pgrp).is_empty())
    });
    let left = std::fs::read_dir(place.tmp())
        .expect("tmp")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    let alive = driver.map(group).unwrap_or_default();
    if !alive.is_empty() {
        // SAFETY: kills what the test itself started (through graphprof), so it ends.
        unsafe { libc::kill(-driver.expect("a driver"), libc::SIGKILL) };
    }
    assert!(
        clean,
        "after a SIGKILL of graphprof: TMPDIR holds {left:?}, the driver's group {alive:?}"
    );
}

#[test]
fn under_umask_000_every_temp_file_of_a_dask_run_is_private_and_goes_at_the_end() {
    let _lock = cluster_lock();
    let place = Place::new();
    let graph = place.graph();
    let graph = graph.to_str().expect("a UTF-8 path");
    let args = ["sample", "--engine", "dask", graph, "--workers", "1"];
    let mut graphprof = place.start(&[&args[..], &["--hold", "120s"]].concat(), 0o000);
    running_driver(&mut graphprof, &place);
    // Nothing but graphprof's own folders in TMPDIR: Dask's scratch space (`dask-scratch-space`,
    // 0777 and its locks 0666 under this umask) is inside the run's private folder.
    let everything: Vec<String> = std::fs::read_dir(place.tmp())
        .expect("tmp")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        everything,
        place.leftovers(),
        "TMPDIR holds more than graphprof's"
    );
    let mut seen = Vec::new();
    for name in place.leftovers() {
        for entry in walkdir(&place.tmp().join(&name)) {
            // Dask's own files under `workers/` follow the umask; the folder itself is private,
            // so no other user reaches them.
            if entry
                .components()
                .any(|part| part.as_os_str() == "dask-scratch-space")
            {
                continue;
            }
            let mode = std::fs::symlink_metadata(&entry)
                .expect("exists")
                .permissions()
                .mode();
            let want = if entry.is_dir() { "700" } else { "600" };
            let mode = format!("{:o}", mode & 0o777);
            assert_eq!(mode, want, "{}", entry.display());
            seen.push(entry);
        }
    }
    let named = |file: &str| seen.iter().any(|path| path.ends_with(file));
    assert!(named("run-0.json") && named("run-2.json"), "{seen:?}");
    assert!(named("graphprof/run/driver.py"), "{seen:?}");
    assert!(named("workers"), "{seen:?}");
    // SIGTERM is Ctrl-C: the driver tears its cluster down and everything goes.
    // SAFETY: signals our own child.
    unsafe { libc::kill(graphprof.id() as i32, libc::SIGTERM) };
    let status = graphprof.wait().expect("waits");
    assert_eq!(status.code(), Some(130), "{}", place.log());
    assert_eq!(place.leftovers(), Vec::<String>::new());
}

#[test]
fn sigkill_of_a_dask_sample_leaves_no_temp_folder_and_no_driver() {
    let _lock = cluster_lock();
    let place = Place::new();
    let graph = place.graph();
    let graph = graph.to_str().expect("a UTF-8 path");
    let args = ["sample", "--engine", "dask", graph, "--workers", "1"];
    let mut graphprof = place.start(&[&args[..], &["--hold", "120s"]].concat(), 0o022);
    let driver = running_driver(&mut graphprof, &place);
    assert!(
        !place.leftovers().is_empty(),
        "no temporary folder to see go"
    );
    kill_and_check(graphprof, Some(driver), &place);
}

#[test]
fn sigkill_during_a_collections_export_leaves_no_temp_folder() {
    let place = Place::new();
    let started = place.path("started");
    let script = place.path("slow.py");
    std::fs::write(
        &script,
        format!(
            "import pathlib, time\nimport dask.array as da\n\
             pathlib.Path({:?}).touch()\ntime.sleep(120)\nresult = da.ones(4, chunks=2) + 1\n",
            started.to_str().expect("a UTF-8 path")
        ),
    )
    .expect("writes");
    let target = format!("{}:result", script.display());
    let args = ["sample", "--engine", "dask", &target, "--workers", "1"];
    let mut graphprof = place.start(&args, 0o022);
    let importing = poll(STARTUP, || {
        started.exists() || graphprof.try_wait().ok().flatten().is_some()
    });
    assert!(
        importing && started.exists(),
        "the export never imported the script: {}",
        place.log()
    );
    assert!(
        !place.leftovers().is_empty(),
        "no temporary folder to see go"
    );
    let exporter = python_child(&graphprof, "export");
    assert!(exporter.is_some(), "no exporter found: {}", place.log());
    kill_and_check(graphprof, exporter, &place);
}

#[test]
fn sigkill_of_watch_leaves_no_temp_folder_and_no_watcher() {
    let place = Place::new();
    // A port nothing listens on: the watcher keeps trying to reach it for its --timeout.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let scheduler = format!("tcp://127.0.0.1:{port}");
    let args = [
        "watch",
        "--scheduler",
        &scheduler,
        "--timeout",
        "120s",
        "-q",
    ];
    let mut graphprof = place.start_plain(&args, 0o022);
    let mut watcher = None;
    let started = poll(STARTUP, || {
        watcher = python_child(&graphprof, "watch");
        watcher.is_some() || graphprof.try_wait().ok().flatten().is_some()
    });
    assert!(
        started && watcher.is_some(),
        "no watcher found: {}",
        place.log()
    );
    assert!(
        !place.leftovers().is_empty(),
        "no temporary folder to see go"
    );
    kill_and_check(graphprof, watcher, &place);
}

/// `root` and everything under it (symbolic links not followed).
fn walkdir(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.to_path_buf()];
    let mut next = 0;
    while next < found.len() {
        let path = found[next].clone();
        next += 1;
        if path.is_dir() && !path.is_symlink() {
            found.extend(
                std::fs::read_dir(&path)
                    .expect("reads")
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
    found
}
