//! Sampling an external command: run it, sample its process tree until it exits, report how
//! it ended.
//!
//! The command inherits stdin, stdout and stderr. Its tree (the command and every process it
//! starts) is read as [`Measure::Process`](crate::sample::series::Measure::Process) by a [`ProcessTree`] source on a regular
//! [`Sampler`]. A command that exits non-zero or is killed by a signal is not an error: it
//! comes back as a [`CommandStatus`] beside the series, which is then marked incomplete.
//! The command leads its own process group, watched by a [`Watchdog`] that kills the group
//! if graphprof dies; when graphprof stops the command (Ctrl-C, SIGTERM, the memory limit),
//! whatever is left in the group is killed too.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::sample::error::SampleError;
use crate::sample::measure::ProcessTree;
use crate::sample::sampler::{Sampler, validate_interval};
use crate::sample::series::Series;
use crate::sample::watchdog::Watchdog;

/// How an external command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandStatus {
    /// Exit code 0.
    Success,
    /// A non-zero exit code.
    Failed {
        /// The exit code.
        code: i32,
    },
    /// Killed by a signal.
    Killed {
        /// The signal number.
        signal: i32,
    },
}

impl CommandStatus {
    /// True for exit code 0.
    pub fn success(self) -> bool {
        self == CommandStatus::Success
    }

    fn from_exit(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(0), _) => CommandStatus::Success,
            (Some(code), _) => CommandStatus::Failed { code },
            (None, Some(signal)) => CommandStatus::Killed { signal },
            (None, None) => CommandStatus::Failed { code: -1 },
        }
    }
}

impl std::fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandStatus::Success => write!(f, "exited with status 0"),
            CommandStatus::Failed { code } => write!(f, "exited with status {code}"),
            CommandStatus::Killed { signal } => write!(f, "killed by signal {signal}"),
        }
    }
}

/// Limits on a sampled command.
#[derive(Debug, Clone, Default)]
pub struct CommandLimits {
    /// Stop the command's process tree (SIGKILL) once its memory passes this.
    pub memory_limit_bytes: Option<u64>,
    /// Set (by Ctrl-C) to stop the command: SIGINT to its process group, SIGKILL after a grace.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Why graphprof stopped a command before it ended by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Its memory passed the limit.
    MemoryLimit {
        /// The limit, in bytes.
        limit_bytes: u64,
        /// The reading that passed it.
        reached_bytes: u64,
    },
    /// Ctrl-C.
    Interrupted,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::MemoryLimit {
                limit_bytes,
                reached_bytes,
            } => write!(
                f,
                "stopped at the memory limit of {} ({} reached)",
                crate::units::Bytes(*limit_bytes),
                crate::units::Bytes(*reached_bytes)
            ),
            Stopped::Interrupted => write!(f, "interrupted"),
        }
    }
}

/// How long an interrupted command gets to exit before it is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

fn signal_group(child: &Child, signal: i32) {
    // The child leads its own process group (see `process_group(0)` below).
    // SAFETY: kill(2) with a negative pid signals that group; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), signal);
    }
}

/// Run `argv` with inherited stdio in its own process group, sample its process tree (measure
/// `process`) every `interval` until it exits, and report how it ended. The series is marked
/// incomplete unless the command exits with 0 on its own. Failing to start the command is an
/// error; a failing command is not.
pub fn sample_command<S: AsRef<std::ffi::OsStr>>(
    label: impl Into<String>,
    argv: &[S],
    interval: Duration,
    sink: Option<PathBuf>,
    limits: &CommandLimits,
) -> Result<(Series, CommandStatus, Option<Stopped>), SampleError> {
    use std::os::unix::process::CommandExt;
    let interval = validate_interval(interval)?;
    let (program, args) = argv.split_first().ok_or(SampleError::EmptyCommand)?;
    let program_name = program.as_ref().to_string_lossy().into_owned();
    let mut command = Command::new(program);
    command.args(args).process_group(0);
    // SAFETY: between fork and exec the closure only calls signal(2), which is async-signal-safe,
    // and touches no memory of the parent's.
    unsafe {
        // The command gets SIGINT's default action even when graphprof was started with it
        // ignored (a background job of a script without job control): Ctrl-C is forwarded to it
        // as SIGINT, which must stop it, not wait out the grace before SIGKILL.
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child: Child = command
        .spawn()
        .map_err(|source| SampleError::CommandSpawn {
            program: program_name.clone(),
            source,
        })?;
    // Kills the command's whole group if graphprof dies, even by SIGKILL (best effort: a
    // failed fork leaves the command unguarded, as before).
    let watchdog = Watchdog::spawn(child.id()).ok();
    let tree = ProcessTree::new(child.id());
    let handle = match Sampler::start(label, interval, vec![Box::new(tree)], sink) {
        Ok(handle) => handle,
        Err(e) => {
            signal_group(&child, libc::SIGKILL);
            let _ = child.wait();
            return Err(e);
        }
    };
    let poll = interval.clamp(Duration::from_millis(1), Duration::from_millis(20));
    let mut stopped = None;
    let mut interrupted_at: Option<Instant> = None;
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(error) => break Err(error),
        }
        if let (Some(limit), Some(reached)) = (
            limits.memory_limit_bytes,
            handle.latest(crate::sample::series::Measure::Process),
        ) && reached > limit
            && stopped.is_none()
        {
            stopped = Some(Stopped::MemoryLimit {
                limit_bytes: limit,
                reached_bytes: reached,
            });
            signal_group(&child, libc::SIGKILL);
        }
        let cancelled = limits
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst));
        match interrupted_at {
            None if cancelled => {
                interrupted_at = Some(Instant::now());
                stopped.get_or_insert(Stopped::Interrupted);
                signal_group(&child, libc::SIGINT);
            }
            Some(at) if at.elapsed() > INTERRUPT_GRACE => signal_group(&child, libc::SIGKILL),
            _ => {}
        }
        std::thread::sleep(poll);
    };
    if stopped.is_some() {
        // What the command left running in its group (a shell's background job ignores
        // SIGINT) goes with it.
        signal_group(&child, libc::SIGKILL);
    }
    if let Some(watchdog) = watchdog {
        watchdog.disarm();
    }
    let series = handle.stop();
    let status = waited.map_err(|source| SampleError::CommandWait {
        program: program_name,
        source,
    })?;
    let status = CommandStatus::from_exit(status);
    let mut series = series?;
    series.complete = status.success() && stopped.is_none();
    Ok((series, status, stopped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::series::Measure;

    fn run(argv: &[&str], limits: &CommandLimits) -> (Series, CommandStatus, Option<Stopped>) {
        sample_command("cmd", argv, Duration::from_millis(5), None, limits).expect("runs")
    }

    #[test]
    fn a_command_is_sampled_until_it_exits() {
        let argv = [
            "sh",
            "-c",
            "head -c 20000000 /dev/zero | tail -c 1 >/dev/null; sleep 0.2",
        ];
        let (series, status, stopped) = run(&argv, &CommandLimits::default());
        assert_eq!(status, CommandStatus::Success);
        assert_eq!(stopped, None);
        assert!(series.complete);
        assert!(series.peak(Measure::Process, None).unwrap_or(0) > 0);
        assert!(series.duration_s() > 0.1);
    }

    #[test]
    fn failing_and_killed_commands_are_reported() {
        let (series, status, _) = run(&["sh", "-c", "exit 3"], &CommandLimits::default());
        assert_eq!(status, CommandStatus::Failed { code: 3 });
        assert!(!series.complete);
        let (_, status, _) = run(&["sh", "-c", "kill -9 $$"], &CommandLimits::default());
        assert_eq!(status, CommandStatus::Killed { signal: 9 });
        assert_eq!(status.to_string(), "killed by signal 9");
        let none = CommandLimits::default();
        let missing = sample_command(
            "none",
            &["/nonexistent/x"],
            Duration::from_millis(5),
            None,
            &none,
        );
        assert!(matches!(missing, Err(SampleError::CommandSpawn { .. })));
        let empty: [&str; 0] = [];
        assert!(matches!(
            sample_command("none", &empty, Duration::from_millis(5), None, &none),
            Err(SampleError::EmptyCommand)
        ));
    }

    #[test]
    fn the_memory_limit_kills_the_whole_tree() {
        // A shell whose child grows past the limit and would then sleep for a minute.
        let argv = [
            "sh",
            "-c",
            "python3 -c 'x = bytearray(300_000_000); import time; time.sleep(60)'",
        ];
        let limits = CommandLimits {
            memory_limit_bytes: Some(100_000_000),
            cancel: None,
        };
        let (series, status, stopped) = run(&argv, &limits);
        assert!(
            matches!(stopped, Some(Stopped::MemoryLimit { .. })),
            "{stopped:?}"
        );
        assert_eq!(status, CommandStatus::Killed { signal: 9 });
        assert!(!series.complete);
    }

    #[test]
    fn cancelling_interrupts_the_command() {
        let flag = Arc::new(AtomicBool::new(true));
        let limits = CommandLimits {
            memory_limit_bytes: None,
            cancel: Some(flag),
        };
        let (series, status, stopped) = run(&["sleep", "60"], &limits);
        assert_eq!(stopped, Some(Stopped::Interrupted));
        assert_eq!(
            status,
            CommandStatus::Killed {
                signal: libc::SIGINT
            }
        );
        assert!(!series.complete);
    }
}
