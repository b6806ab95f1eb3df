//! Sources the sampler reads on every tick: process-tree RSS and engine gauges.
//!
//! A [`Source`] appends zero or more [`Reading`]s each time it is read; it never fails (a
//! process that has gone away simply yields nothing). [`ProcessTree`] reads the resident set
//! of a process and all its descendants straight from `/proc/<pid>/statm` through file
//! handles kept open between ticks, and rediscovers descendants from
//! `/proc/<pid>/task/*/children` only every so often, so a tick costs a few microseconds;
//! where `/proc` is missing (systems other than Linux) it falls back to sysinfo. A [`Gauge`] is a number the engine
//! keeps up to date (managed bytes, per worker or in total) through an `Arc<AtomicU64>`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sample::series::Measure;

/// One reading from a source; the sampler stamps it with the tick's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// What was measured.
    pub measure: Measure,
    /// The worker it belongs to; `None` for the whole run.
    pub worker: Option<u32>,
    /// The reading, in bytes.
    pub bytes: u64,
}

/// Something the sampler reads once per tick.
pub trait Source: Send {
    /// Append this tick's readings to `out`. Must be cheap and must not block.
    fn read(&mut self, out: &mut Vec<Reading>);
}

/// A byte count the engine keeps current (e.g. managed bytes of one worker).
#[derive(Clone, Debug)]
pub struct Gauge {
    /// What the number measures.
    pub measure: Measure,
    /// The worker it belongs to; `None` for the whole run.
    pub worker: Option<u32>,
    /// The current value in bytes, updated by the engine.
    pub bytes: Arc<AtomicU64>,
}

impl Gauge {
    /// A gauge starting at zero.
    pub fn new(measure: Measure, worker: Option<u32>) -> Self {
        Gauge {
            measure,
            worker,
            bytes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The shared counter, for the engine to `fetch_add`/`fetch_sub`/`store`.
    pub fn handle(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes)
    }
}

impl Source for Gauge {
    fn read(&mut self, out: &mut Vec<Reading>) {
        out.push(Reading {
            measure: self.measure,
            worker: self.worker,
            bytes: self.bytes.load(Ordering::Relaxed),
        });
    }
}

/// How often [`ProcessTree`] looks for new descendants by default: a new child process is
/// counted within this time (a rescan costs ~30 us, a read of known members ~2 us).
pub const DEFAULT_RESCAN: Duration = Duration::from_millis(250);

/// Resident set size of a process and all its descendants, summed into one reading.
pub struct ProcessTree {
    /// The process at the root of the tree.
    pub root_pid: u32,
    measure: Measure,
    worker: Option<u32>,
    include_children: bool,
    rescan_every: Duration,
    last_scan: Option<Instant>,
    page_size: u64,
    /// Open `/proc/<pid>/statm` handles of the tree's live members.
    statm: HashMap<u32, File>,
    buf: Vec<u8>,
    fallback: Option<SysinfoTree>,
}

impl ProcessTree {
    /// The tree rooted at `root_pid`, read as [`Measure::Process`] for the whole run.
    pub fn new(root_pid: u32) -> Self {
        let fallback = if Path::new("/proc/self/statm").exists() {
            None
        } else {
            Some(SysinfoTree::new())
        };
        ProcessTree {
            root_pid,
            measure: Measure::Process,
            worker: None,
            include_children: true,
            rescan_every: DEFAULT_RESCAN,
            last_scan: None,
            page_size: page_size(),
            statm: HashMap::new(),
            buf: Vec::with_capacity(128),
            fallback,
        }
    }

    /// This process's tree.
    pub fn current() -> Self {
        ProcessTree::new(std::process::id())
    }

    /// Report under another measure (e.g. [`Measure::Rss`] for a Dask worker's pid).
    pub fn with_measure(mut self, measure: Measure) -> Self {
        self.measure = measure;
        self
    }

    /// Attribute the readings to a worker.
    pub fn with_worker(mut self, worker: Option<u32>) -> Self {
        self.worker = worker;
        self
    }

    /// Count only the root process, not its descendants.
    pub fn without_children(mut self) -> Self {
        self.include_children = false;
        self
    }

    /// How often to look for new descendants (each tick reads the known ones).
    pub fn with_rescan_every(mut self, every: Duration) -> Self {
        self.rescan_every = every;
        self
    }

    /// The pids currently counted (after the latest read).
    pub fn members(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.statm.keys().copied().collect();
        pids.sort_unstable();
        pids
    }

    /// Sum of the tree's resident bytes now, or `None` when the root is gone.
    pub fn resident_bytes(&mut self) -> Option<u64> {
        if let Some(fallback) = self.fallback.as_mut() {
            return fallback.resident_bytes(self.root_pid, self.include_children);
        }
        let due = self
            .last_scan
            .is_none_or(|t| t.elapsed() >= self.rescan_every);
        if due {
            self.rescan();
            self.last_scan = Some(Instant::now());
        }
        let mut total = 0u64;
        let mut gone = Vec::new();
        for (pid, file) in &self.statm {
            match read_statm_resident(file, &mut self.buf) {
                Some(pages) => total = total.saturating_add(pages.saturating_mul(self.page_size)),
                None => gone.push(*pid),
            }
        }
        for pid in gone {
            self.statm.remove(&pid);
        }
        if self.statm.contains_key(&self.root_pid) {
            Some(total)
        } else {
            None
        }
    }

    /// Walk the tree from the root and open `statm` for members not yet known.
    fn rescan(&mut self) {
        let mut found = vec![self.root_pid];
        let mut next = 0;
        while self.include_children && next < found.len() {
            let pid = found[next];
            next += 1;
            children_of(pid, &mut found, &mut self.buf);
        }
        self.statm.retain(|pid, _| found.contains(pid));
        for pid in found {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.statm.entry(pid)
                && let Ok(file) = File::open(format!("/proc/{pid}/statm"))
            {
                slot.insert(file);
            }
        }
    }
}

impl Source for ProcessTree {
    fn read(&mut self, out: &mut Vec<Reading>) {
        if let Some(bytes) = self.resident_bytes() {
            out.push(Reading {
                measure: self.measure,
                worker: self.worker,
                bytes,
            });
        }
    }
}

/// Resident pages (second field) from a `statm` handle, re-read from offset 0.
fn read_statm_resident(file: &File, buf: &mut Vec<u8>) -> Option<u64> {
    buf.clear();
    buf.resize(128, 0);
    let n = file.read_at(buf, 0).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Append the direct children of `pid` to `found` (skipping ones already there).
fn children_of(pid: u32, found: &mut Vec<u32>, buf: &mut Vec<u8>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    let mut any_children_file = false;
    for task in tasks.flatten() {
        let Ok(mut file) = File::open(task.path().join("children")) else {
            continue;
        };
        any_children_file = true;
        buf.clear();
        if file.read_to_end(buf).is_err() {
            continue;
        }
        for child in String::from_utf8_lossy(buf).split_ascii_whitespace() {
            if let Ok(child) = child.parse::<u32>()
                && !found.contains(&child)
            {
                found.push(child);
            }
        }
    }
    if !any_children_file {
        children_by_ppid(pid, found);
    }
}

/// Kernels without `CONFIG_PROC_CHILDREN`: scan every `/proc/<pid>/stat` for the parent.
fn children_by_ppid(parent: u32, found: &mut Vec<u32>) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields resume after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_ascii_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(parent) && !found.contains(&pid) {
            found.push(pid);
        }
    }
}

/// The page size from the auxiliary vector (`AT_PAGESZ`), 4096 when it cannot be read.
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 4096;
    };
    auxv.chunks_exact(16)
        .map(|pair| {
            let mut key = [0u8; 8];
            let mut value = [0u8; 8];
            key.copy_from_slice(&pair[..8]);
            value.copy_from_slice(&pair[8..]);
            (u64::from_ne_bytes(key), u64::from_ne_bytes(value))
        })
        .find(|(key, _)| *key == AT_PAGESZ)
        .map_or(4096, |(_, value)| value)
}

/// The fallback where `/proc` is missing: sysinfo, refreshing only memory of all processes. On
/// Linux it is not built (sysinfo is a dependency of the other systems only, which keeps it out of
/// `pip install .`'s build there): a Linux without `/proc` reads nothing.
#[cfg(not(target_os = "linux"))]
struct SysinfoTree {
    system: Option<sysinfo::System>,
}

#[cfg(not(target_os = "linux"))]
impl SysinfoTree {
    fn new() -> Self {
        SysinfoTree {
            system: sysinfo::System::new().ok(),
        }
    }

    fn resident_bytes(&mut self, root: u32, include_children: bool) -> Option<u64> {
        use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate};
        let system = self.system.as_mut()?;
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_memory().without_tasks(),
        );
        let processes = system.processes();
        let root = Pid::from_u32(root);
        let mut total = processes.get(&root)?.memory();
        if include_children {
            let mut tree = vec![root];
            let mut next = 0;
            while next < tree.len() {
                let parent = tree[next];
                next += 1;
                for (pid, process) in processes {
                    if process.parent() == Some(parent) && !tree.contains(pid) {
                        tree.push(*pid);
                        total = total.saturating_add(process.memory());
                    }
                }
            }
        }
        Some(total)
    }
}

/// Linux without `/proc`: nothing to read (see the other systems' [`SysinfoTree`]).
#[cfg(target_os = "linux")]
struct SysinfoTree;

#[cfg(target_os = "linux")]
impl SysinfoTree {
    fn new() -> Self {
        SysinfoTree
    }

    fn resident_bytes(&mut self, _root: u32, _include_children: bool) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn vm_rss_bytes(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        let kib: u64 = line
            .split_ascii_whitespace()
            .nth(1)
            .expect("value")
            .parse()
            .expect("number");
        kib * 1024
    }

    #[test]
    fn page_size_is_sane() {
        let size = page_size();
        assert!(size.is_power_of_two() && size >= 4096, "{size}");
    }

    #[test]
    fn own_rss_matches_proc_status() {
        let mut tree = ProcessTree::current().without_children();
        let bytes = tree.resident_bytes().expect("this process exists");
        let status = vm_rss_bytes(std::process::id());
        // Same figure from two files read moments apart: within 10% (the test harness moves).
        let diff = bytes.abs_diff(status);
        assert!(diff * 10 < status, "statm {bytes} vs status {status}");
    }

    #[test]
    fn children_are_found_and_counted() {
        let mut child = Command::new("sleep").arg("5").spawn().expect("sleep runs");
        let mut tree = ProcessTree::current();
        let alone = ProcessTree::current()
            .without_children()
            .resident_bytes()
            .expect("exists");
        let with_child = tree.resident_bytes().expect("exists");
        assert!(tree.members().contains(&child.id()), "{:?}", tree.members());
        assert!(with_child > alone / 2);
        let _ = child.kill();
        let _ = child.wait();
        // After the child is reaped its handle fails and it drops out of the tree.
        tree.resident_bytes();
        assert!(!tree.members().contains(&child.id()));
    }

    #[test]
    fn a_gone_root_yields_no_reading() {
        let mut child = Command::new("true").spawn().expect("true runs");
        let pid = child.id();
        let _ = child.wait();
        let mut out = Vec::new();
        ProcessTree::new(pid).read(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn gauge_reads_what_the_engine_stores() {
        let mut gauge = Gauge::new(Measure::Managed, Some(2));
        gauge.handle().fetch_add(1234, Ordering::Relaxed);
        let mut out = Vec::new();
        gauge.read(&mut out);
        assert_eq!(
            out,
            vec![Reading {
                measure: Measure::Managed,
                worker: Some(2),
                bytes: 1234
            }]
        );
    }

    #[cfg(not(target_os = "linux"))]
    #[test]
    fn sysinfo_fallback_agrees_roughly() {
        let mut fallback = SysinfoTree::new();
        let bytes = fallback
            .resident_bytes(std::process::id(), false)
            .expect("exists");
        assert!(bytes > 0);
    }
}

/// Memory the system can still give out without swapping (`MemAvailable` of /proc/meminfo), in
/// bytes; `None` where that cannot be read.
pub fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit a run gets when the user sets none: 80% of the available memory, so that a
/// run too big for the machine stops cleanly (marked incomplete) instead of taking it down.
pub fn default_memory_limit_bytes() -> Option<u64> {
    available_memory_bytes().map(|available| available / 5 * 4)
}

#[cfg(test)]
mod memory_tests {
    #[test]
    fn available_memory_is_read_and_the_default_limit_is_below_it() {
        let available = super::available_memory_bytes().expect("/proc/meminfo");
        assert!(available > 0);
        let limit = super::default_memory_limit_bytes().expect("a limit");
        assert!(limit < available);
    }
}
