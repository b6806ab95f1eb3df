//! `graphprof sample` under real signals and a full disk: SIGTERM is treated as Ctrl-C (exit
//! 130, report.json written and marked interrupted, the command's whole tree gone), SIGKILL of
//! graphprof still takes the command's tree down (the watchdog), and a file-size limit in the
//! middle of sampling leaves whole lines in samples.live.csv, one warning, and one OS error.

mod common;

use graphprof::report::sample_report::SampleReport;
use graphprof::report::samples_csv::read_samples_csv;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("graphprof"))
}

/// Polls (up to `limit`) until `done` holds; returns whether it did.
fn poll(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A process is gone when it no longer exists or is a zombie waiting to be reaped.
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Starts `graphprof sample -o DIR -- sh -c 'sleep 60 & echo $! > bg.pid; sleep 60'` and
/// returns it with the pid of the backgrounded grandchild, once it runs.
fn sample_a_tree(dir: &Path) -> (Child, i32) {
    let pid_file = dir.join("bg.pid");
    let script = format!("sleep 60 & echo $! > {}; sleep 60", pid_file.display());
    let child = binary()
        .args(["sample", "--interval", "5ms", "-o"])
        .arg(dir.join("out"))
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphprof runs");
    let mut grandchild = None;
    assert!(
        poll(Duration::from_secs(20), || {
            grandchild = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse::<i32>().ok());
            grandchild.is_some()
        }),
        "the command never started its background job"
    );
    let grandchild = grandchild.expect("polled");
    assert!(!gone(grandchild), "the grandchild should be running");
    (child, grandchild)
}

#[test]
fn sigterm_writes_an_interrupted_report_and_ends_the_commands_tree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, grandchild) = sample_a_tree(dir.path());
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(130), "SIGTERM exits as an interrupt");
    let text = std::fs::read_to_string(dir.path().join("out/report.json")).expect("report");
    let report: SampleReport = serde_json::from_str(&text).expect("report parses");
    assert!(report.interrupted);
    assert!(!report.runs[0].complete);
    assert!(!report.runs[0].samples.is_empty());
    assert!(
        poll(Duration::from_secs(20), || gone(grandchild)),
        "the command's grandchild outlived graphprof"
    );
}

#[test]
fn sigkill_of_graphprof_takes_the_commands_tree_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, grandchild) = sample_a_tree(dir.path());
    child.kill().expect("SIGKILL");
    child.wait().expect("waits");
    assert!(
        poll(Duration::from_secs(20), || gone(grandchild)),
        "the command's grandchild outlived a SIGKILLed graphprof"
    );
}

#[test]
fn sigterm_during_a_builtin_run_marks_the_report_interrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = binary()
        .args(["sample", "--chunks", "64", "--payload-bytes", "16KiB"])
        .args(["--hold", "60s", "-o"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let live = dir.path().join("samples.live.csv");
    poll(Duration::from_secs(60), || {
        std::fs::read_to_string(&live).map_or(0, |t| t.lines().count()) >= 50
    });
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().expect("waits").code(), Some(130));
    let text = std::fs::read_to_string(dir.path().join("report.json")).expect("report");
    let report: SampleReport = serde_json::from_str(&text).expect("parses");
    assert!(report.interrupted);
    assert_eq!(report.runs.len(), 1, "later strategies must not start");
    let error = report.runs[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("SIGTERM"), "{error}");
}

#[test]
fn a_full_disk_leaves_whole_lines_one_warning_and_the_os_error_once() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = binary();
    command
        .args(["sample", "--chunks", "64", "--payload-bytes", "16KiB"])
        .args(["--interval", "1ms", "--hold", "0.3s", "-o"])
        .arg(dir.path());
    // SAFETY: setrlimit and signal are async-signal-safe. Files cannot grow past 40,000 bytes
    // (a write beyond gets EFBIG, a short write at the limit), as on a full disk.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 40_000,
                rlim_max: 40_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("appending samples failed").count(),
        1,
        "{stderr}"
    );
    let live = dir.path().join("samples.live.csv");
    let text = std::fs::read_to_string(&live).expect("the live file stays");
    assert!(
        text.ends_with('\n'),
        "torn last line: {:?}",
        &text[text.len() - 40..]
    );
    read_samples_csv(&live).expect("every line of the live file parses");
    let error = stderr
        .lines()
        .find(|line| line.starts_with("graphprof: error:"))
        .expect("an error line");
    assert!(error.contains("report.json"), "{error}");
    assert_eq!(error.matches("File too large").count(), 1, "{error}");
}
