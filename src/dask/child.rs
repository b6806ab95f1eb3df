//! The Python child process: spawned in its own process group, its output read by threads, and
//! never left running.
//!
//! The child gets its own process group so that a terminal's Ctrl-C reaches graphprof only, and
//! graphprof decides what the driver gets (SIGINT, so it tears its LocalCluster down). On Linux
//! the child is also asked to receive SIGTERM should graphprof die without cleaning up
//! (`PR_SET_PDEATHSIG`). [`ChildGuard`]'s `Drop` terminates, waits, and as a last resort kills
//! the whole group (the driver's worker processes included).
//!
//! A run's temporary files (the embedded Python package, replayed graphs, an export) live in one
//! [`Scratch`] folder: private (0700, its files 0600, whatever the umask) and watched from its
//! creation by a [`Watchdog`]. A child spawned in it ([`spawn_in`]) is the group the watchdog
//! kills should graphprof die, even by SIGKILL, before it removes the folder; a normal end
//! removes the folder and disarms the watchdog.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::DaskError;
use crate::sample::watchdog::Watchdog;

/// Lines of stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 200;

/// How long the driver gets to tear its cluster down after SIGINT/SIGTERM before it is killed.
pub const TEARDOWN_GRACE: Duration = Duration::from_secs(30);

/// What the stdout reader thread sends.
pub enum StdoutLine {
    /// One line, without its line end.
    Line(String),
    /// End of file (the child closed stdout or exited), or a read error.
    Closed,
}

/// A private temporary folder, `graphprof-XXXXXX` under TMPDIR, for one run's files, with the
/// watchdog that removes it (after killing the child spawned in it) should graphprof die.
#[derive(Debug)]
pub struct Scratch {
    /// `None` once dropped.
    dir: Option<tempfile::TempDir>,
    /// `None` when it could not be forked (the folder then goes only on a normal end).
    watchdog: Option<Watchdog>,
}

impl Scratch {
    /// Creates the folder (0700 whatever the umask: set with `chmod`, which the umask does not
    /// touch) and its watchdog.
    pub fn new() -> Result<Scratch, DaskError> {
        let io = |error| DaskError::Io {
            action: "cannot create a temporary folder",
            error,
        };
        let dir = super::embed::private_temp_dir("graphprof-").map_err(io)?;
        let watchdog = Watchdog::over_folder(dir.path()).ok();
        Ok(Scratch {
            dir: Some(dir),
            watchdog,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .expect("the folder lives until the scratch is dropped")
    }

    /// Creates the new file `name` in the folder, 0600 whatever the umask.
    pub fn create_file(&self, name: &str) -> std::io::Result<(PathBuf, File)> {
        let path = self.path().join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok((path, file))
    }

    /// Tells the watchdog which group to kill should graphprof die (`None`: none any more).
    fn watch_group(&self, pgid: Option<u32>) {
        if let Some(watchdog) = &self.watchdog {
            // A watchdog that cannot be told is one that cannot help: nothing to do about it.
            let _ = watchdog.watch_group(pgid);
        }
    }
}

impl Drop for Scratch {
    /// Removes the folder, then disarms the watchdog (in that order, so no moment is left where
    /// graphprof could die with the folder there and the watchdog gone).
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
    }
}

/// A running child with its stdout as a channel of lines and its stderr's last lines kept.
pub struct ChildGuard<'scratch> {
    child: Child,
    /// The scratch whose watchdog kills this child's group should graphprof die.
    scratch: Option<&'scratch Scratch>,
    reaped: Option<ExitStatus>,
    /// stdout, line by line.
    pub lines: mpsc::Receiver<StdoutLine>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// Spawns `command` with piped stdout and stderr (stdin closed) in its own process group.
pub fn spawn(command: Command) -> std::io::Result<ChildGuard<'static>> {
    spawn_watched(command, None)
}

/// [`spawn`], with `scratch`'s watchdog told to kill the child's group (before it removes the
/// folder) should graphprof die; told to forget it once the child is over.
pub fn spawn_in(command: Command, scratch: &Scratch) -> std::io::Result<ChildGuard<'_>> {
    spawn_watched(command, Some(scratch))
}

fn spawn_watched(
    mut command: Command,
    scratch: Option<&Scratch>,
) -> std::io::Result<ChildGuard<'_>> {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    if let Some(scratch) = scratch {
        scratch.watch_group(Some(child.id()));
    }
    let (sender, lines) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(std::thread::spawn(move || read_lines(stdout, sender)));
    } else {
        let _ = sender.send(StdoutLine::Closed);
    }
    let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(stderr) = child.stderr.take() {
        let tail = Arc::clone(&stderr_tail);
        readers.push(std::thread::spawn(move || keep_tail(stderr, &tail)));
    }
    Ok(ChildGuard {
        child,
        scratch,
        reaped: None,
        lines,
        stderr_tail,
        readers,
    })
}

fn read_lines(stdout: impl Read, sender: mpsc::Sender<StdoutLine>) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer);
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                if sender.send(StdoutLine::Line(line)).is_err() {
                    return;
                }
            }
        }
    }
    let _ = sender.send(StdoutLine::Closed);
}

fn keep_tail(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer).trim_end().to_string();
                if line.is_empty() {
                    continue;
                }
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        }
    }
}

impl ChildGuard<'_> {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the child (not its group); false when it has already exited.
    pub fn signal(&mut self, signal: i32) -> bool {
        if self.try_wait().is_some() {
            return false;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return false;
        };
        // SAFETY: kill has no memory effects; the pid is our unreaped child, so it is not reused.
        unsafe { libc::kill(pid, signal) == 0 }
    }

    /// The exit status, if the child has exited (reaps it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait().ok().flatten();
        }
        self.reaped
    }

    /// Waits until the child exits.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.wait().ok();
        }
        self.reaped
    }

    /// Waits up to `grace` for the child to exit; `None` if it is still running.
    pub fn wait_for(&mut self, grace: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child's whole process group (the driver and any worker processes it started)
    /// and reaps the child.
    pub fn kill_group(&mut self) -> Option<ExitStatus> {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: as in `signal`; the group id is the child's pid (process_group(0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        if self.reaped.is_none() {
            self.reaped = self.child.wait().ok();
        }
        self.reaped
    }

    /// Terminates the child politely (SIGTERM, then up to `grace`), then kills its group.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.try_wait() {
            return Some(status);
        }
        self.signal(libc::SIGTERM);
        match self.wait_for(grace) {
            Some(status) => Some(status),
            None => self.kill_group(),
        }
    }

    /// The last lines the child wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Waits for the reader threads (after the child exited) so the stderr tail is complete.
    pub fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.terminate(TEARDOWN_GRACE);
        }
        if let Some(scratch) = self.scratch {
            scratch.watch_group(None);
        }
    }
}

/// The one line of a child's stderr that says what went wrong: the last line graphprof's Python
/// side wrote itself (`graphprof: ...`, `graphprof dask export: ...`), else the last line (a traceback's exception), with
/// the traceback's innermost `File "...", line N` when there is one.
pub fn telling_line(stderr: &[String]) -> Option<String> {
    if let Some(own) = stderr
        .iter()
        .rev()
        .find(|line| line.starts_with("graphprof: ") || line.starts_with("graphprof dask "))
    {
        return Some(own.trim().to_string());
    }
    let last = stderr.iter().rposition(|line| !line.trim().is_empty())?;
    let text = stderr[last].trim();
    let place = stderr[..last]
        .iter()
        .rev()
        .map(|line| line.trim())
        .find(|line| line.starts_with("File \""))
        .map(|line| line.split(", in ").next().unwrap_or(line).to_string());
    Some(match place {
        Some(place) => format!("{text} ({place})"),
        None => text.to_string(),
    })
}

/// `exit code N` or `killed by signal N`.
pub fn describe_status(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => "unknown status".to_string(),
        },
        None => "still running".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn the_telling_line_prefers_our_own_then_the_exception_with_its_place() {
        let own = lines("noise\ngraphprof: missing dask; install with: pip\nmore noise");
        assert_eq!(
            telling_line(&own).as_deref(),
            Some("graphprof: missing dask; install with: pip")
        );
        let export = lines("graphprof dask export: no such script: x.py\nnoise");
        assert_eq!(
            telling_line(&export).as_deref(),
            Some("graphprof dask export: no such script: x.py")
        );
        let traceback = lines(
            "Traceback (most recent call last):\n  File \"/a/x.py\", line 3, in <module>\n    f()\n  File \"/a/y.py\", line 9\n    (\nSyntaxError: '(' was never closed\n",
        );
        assert_eq!(
            telling_line(&traceback).as_deref(),
            Some("SyntaxError: '(' was never closed (File \"/a/y.py\", line 9)")
        );
        assert_eq!(telling_line(&[]), None);
    }
}
