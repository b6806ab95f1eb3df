//! Sampling an external command: run it, sample its process tree until it exits, report how
//! it ended.
//!
//! The command inherits stdin, stdout and stderr. Its tree (the command and every process it
//! starts) is read as [`Measure::Process`](crate::sample::series::Measure::Process) by a [`ProcessTree`] source on a regular
//! [`Sampler`]. A command that exits non-zero or is killed by a signal is not an error: it
//! comes back as a [`CommandStatus`] beside the series, which is then marked incomplete.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use crate::sample::measure::ProcessTree;
use crate::sample::sampler::{SampleError, Sampler, validate_interval};
use crate::sample::series::Series;

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

/// Run `argv` with inherited stdio, sample its process tree (measure `process`) every
/// `interval` until it exits, and report how it ended. The series is marked incomplete
/// unless the command exits with 0. Failing to start the command is an error; a failing
/// command is not.
pub fn sample_command<S: AsRef<std::ffi::OsStr>>(
    label: impl Into<String>,
    argv: &[S],
    interval: Duration,
    sink: Option<PathBuf>,
) -> Result<(Series, CommandStatus), SampleError> {
    let interval = validate_interval(interval)?;
    let (program, args) = argv.split_first().ok_or(SampleError::EmptyCommand)?;
    let program_name = program.as_ref().to_string_lossy().into_owned();
    let mut child: Child =
        Command::new(program)
            .args(args)
            .spawn()
            .map_err(|source| SampleError::CommandSpawn {
                program: program_name.clone(),
                source,
            })?;
    let tree = ProcessTree::new(child.id());
    let handle = match Sampler::start(label, interval, vec![Box::new(tree)], sink) {
        Ok(handle) => handle,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let waited = child.wait();
    let series = handle.stop();
    let status = waited.map_err(|source| SampleError::CommandWait {
        program: program_name,
        source,
    })?;
    let status = CommandStatus::from_exit(status);
    let mut series = series?;
    series.complete = status.success();
    Ok((series, status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::series::Measure;

    #[test]
    fn a_command_is_sampled_until_it_exits() {
        let argv = [
            "sh",
            "-c",
            "head -c 20000000 /dev/zero | tail -c 1 >/dev/null; sleep 0.2",
        ];
        let (series, status) =
            sample_command("cmd", &argv, Duration::from_millis(5), None).expect("runs");
        assert_eq!(status, CommandStatus::Success);
        assert!(series.complete);
        assert!(series.peak(Measure::Process, None).unwrap_or(0) > 0);
        assert!(series.duration_s() > 0.1);
    }

    #[test]
    fn failing_and_killed_commands_are_reported() {
        let (series, status) = sample_command(
            "fail",
            &["sh", "-c", "exit 3"],
            Duration::from_millis(5),
            None,
        )
        .expect("runs");
        assert_eq!(status, CommandStatus::Failed { code: 3 });
        assert!(!series.complete);
        let (_, status) = sample_command(
            "kill",
            &["sh", "-c", "kill -9 $$"],
            Duration::from_millis(5),
            None,
        )
        .expect("runs");
        assert_eq!(status, CommandStatus::Killed { signal: 9 });
        assert_eq!(status.to_string(), "killed by signal 9");
        let missing = sample_command(
            "none",
            &["/nonexistent/graphprof-test"],
            Duration::from_millis(5),
            None,
        );
        assert!(matches!(missing, Err(SampleError::CommandSpawn { .. })));
        let empty: [&str; 0] = [];
        assert!(matches!(
            sample_command("none", &empty, Duration::from_millis(5), None),
            Err(SampleError::EmptyCommand)
        ));
    }
}
