//! A watchdog that kills a process group when graphprof dies, even by SIGKILL, and can then
//! remove a private scratch folder. A parent-death signal reaches only a direct child, so the
//! command runs in its own process group and a tiny forked process waits on a pipe whose write
//! end only graphprof holds. When graphprof dies, the kernel closes that end, the read returns
//! end-of-file and the watchdog sends SIGKILL to the group, waits (up to a second) for the group
//! to go, and, when it watches a folder, execs `rm -rf -- FOLDER`. A normal end
//! ([`Watchdog::disarm`]) writes one byte first, and the watchdog leaves without doing anything.
//!
//! The group can be named at the start ([`Watchdog::spawn`]) or later, once the child it leads
//! exists ([`Watchdog::watch_group`]: a tag byte and the group id on the pipe), so a scratch
//! folder is watched from its creation on. The watchdog leads its own process group (a
//! terminal's Ctrl-C does not reach it), ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE, and
//! closes every inherited file but its pipe, so it holds no one's output open. It is not a
//! descendant of the command, so its memory is never sampled. After the fork it calls only
//! async-signal-safe functions: everything `rm` needs is prepared before.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The byte that ends the watchdog without killing or removing anything.
const DISARM: u8 = b'x';
/// The byte that precedes a group id (native-endian `pid_t`; 0 for none).
const GROUP: u8 = b'g';
/// Where `rm` is looked for, in order.
const RM: [&std::ffi::CStr; 2] = [c"/bin/rm", c"/usr/bin/rm"];

/// A running watchdog over one process group and, optionally, one folder.
#[derive(Debug)]
pub struct Watchdog {
    pid: libc::pid_t,
    /// Write end of the pipe; closing it without a byte makes the watchdog fire.
    write_fd: libc::c_int,
}

/// What the watchdog does on firing, prepared before the fork.
struct Orders {
    /// The group to kill; 0 for none (yet).
    pgid: libc::pid_t,
    /// The folder to remove, when one is watched.
    folder: Option<CString>,
}

impl Watchdog {
    /// Forks the watchdog for process group `pgid`.
    pub fn spawn(pgid: u32) -> io::Result<Watchdog> {
        let pgid = libc::pid_t::try_from(pgid).map_err(io::Error::other)?;
        Watchdog::start(Orders { pgid, folder: None })
    }

    /// Forks a watchdog that removes `folder` (`rm -rf`) when graphprof dies, after killing the
    /// group named by [`Watchdog::watch_group`], if any. `folder` must be graphprof's own
    /// private folder: nothing else may be inside it.
    pub fn over_folder(folder: &Path) -> io::Result<Watchdog> {
        let folder = CString::new(folder.as_os_str().as_bytes()).map_err(io::Error::other)?;
        Watchdog::start(Orders {
            pgid: 0,
            folder: Some(folder),
        })
    }

    fn start(orders: Orders) -> io::Result<Watchdog> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two-element array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let [read_fd, write_fd] = fds;
        let rm_argv: Option<[*const libc::c_char; 5]> = orders.folder.as_ref().map(|folder| {
            [
                c"rm".as_ptr(),
                c"-rf".as_ptr(),
                c"--".as_ptr(),
                folder.as_ptr(),
                std::ptr::null(),
            ]
        });
        // SAFETY: after fork the child calls only async-signal-safe functions (dup2, close,
        // syscall, open, setpgid, signal, read, kill, nanosleep, execv, _exit) on memory
        // prepared before the fork, and never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let error = io::Error::last_os_error();
            // SAFETY: closing the two descriptors just created.
            unsafe {
                libc::close(read_fd);
                libc::close(write_fd);
            }
            return Err(error);
        }
        if pid == 0 {
            // SAFETY: see above; this branch ends in execv or _exit.
            unsafe { watch(read_fd, orders.pgid, rm_argv.as_ref()) }
        }
        // SAFETY: the parent keeps only the write end.
        unsafe { libc::close(read_fd) };
        Ok(Watchdog { pid, write_fd })
    }

    /// The watchdog's process id.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Makes `pgid` the group killed should graphprof die (`None`: no group any more, e.g.
    /// once the child that led it has been reaped).
    pub fn watch_group(&self, pgid: Option<u32>) -> io::Result<()> {
        let pgid = match pgid {
            Some(pgid) => libc::pid_t::try_from(pgid).map_err(io::Error::other)?,
            None => 0,
        };
        let mut message = [GROUP; 5];
        message[1..].copy_from_slice(&pgid.to_ne_bytes());
        // SAFETY: writes our own buffer to our own pipe; 5 bytes (< PIPE_BUF) go in at once.
        let written = unsafe { libc::write(self.write_fd, message.as_ptr().cast(), message.len()) };
        if written != message.len() as isize {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Ends the watchdog without killing the group or removing the folder, and reaps it.
    pub fn disarm(self) {
        // SAFETY: writes one byte to our own pipe, closes it and reaps our own child; the
        // watchdog exits as soon as it reads the byte (or end-of-file).
        unsafe {
            let byte = DISARM;
            libc::write(self.write_fd, (&byte as *const u8).cast(), 1);
            libc::close(self.write_fd);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
        }
        std::mem::forget(self);
    }
}

impl Drop for Watchdog {
    /// Dropped without [`Watchdog::disarm`] (an error path): the watchdog fires, as if
    /// graphprof had died.
    fn drop(&mut self) {
        // SAFETY: closes our pipe end and reaps our own child.
        unsafe {
            libc::close(self.write_fd);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
        }
    }
}

/// Reads exactly `buffer.len()` bytes from fd 0 (retrying on EINTR); false at end-of-file or on
/// an error.
unsafe fn read_exact(buffer: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buffer.len() {
        // SAFETY: reads into the unfilled part of `buffer`.
        let n = unsafe {
            libc::read(
                0,
                buffer[filled..].as_mut_ptr().cast(),
                buffer.len() - filled,
            )
        };
        if n > 0 {
            filled += n as usize;
        // SAFETY: errno is thread-local and readable after a failed call.
        } else if n < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
            continue;
        } else {
            return false;
        }
    }
    true
}

/// The forked child: wait for the disarm byte or end-of-file (taking group ids as they come);
/// on end-of-file kill the group, wait for it to go, and remove the folder.
unsafe fn watch(
    read_fd: libc::c_int,
    mut pgid: libc::pid_t,
    rm_argv: Option<&[*const libc::c_char; 5]>,
) -> ! {
    // SAFETY: only async-signal-safe calls; see `Watchdog::start`.
    unsafe {
        libc::dup2(read_fd, 0);
        if libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32) != 0 {
            for fd in 1..4096 {
                libc::close(fd);
            }
        }
        // stdout and stderr on /dev/null, so what `rm` opens never lands on them.
        libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        libc::setpgid(0, 0);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(signal, libc::SIG_IGN);
        }
        loop {
            let mut tag = [0u8; 1];
            if !read_exact(&mut tag) {
                break;
            }
            if tag[0] != GROUP {
                libc::_exit(0);
            }
            let mut id = [0u8; 4];
            if !read_exact(&mut id) {
                break;
            }
            pgid = libc::pid_t::from_ne_bytes(id);
        }
        if pgid > 0 {
            libc::kill(-pgid, libc::SIGKILL);
            // Up to a second for the group to go, so nothing of it writes into the folder
            // after `rm` went through it (a zombie nobody reaps keeps the group: hence a limit).
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            for _ in 0..100 {
                if libc::kill(-pgid, 0) != 0 {
                    break;
                }
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
        }
        if let Some(argv) = rm_argv {
            for rm in RM {
                libc::execv(rm.as_ptr(), argv.as_ptr());
            }
        }
        libc::_exit(0)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn alive(pid: u32) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid as i32, 0) == 0 }
    }

    #[test]
    fn dropping_kills_the_group_and_disarming_does_not() {
        let mut kept = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("sleep runs");
        Watchdog::spawn(kept.id()).expect("forks").disarm();
        assert!(alive(kept.id()), "a disarmed watchdog killed the group");
        let killed = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("sleep runs");
        let mut killed = killed;
        drop(Watchdog::spawn(killed.id()).expect("forks"));
        let status = killed.wait().expect("waits");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        let _ = kept.kill();
        let _ = kept.wait();
    }

    /// A folder watchdog told of a group later kills it and removes the folder when dropped
    /// undisarmed; disarmed, it leaves both.
    #[test]
    fn a_folder_watchdog_kills_the_group_it_was_told_of_then_removes_the_folder() {
        let sleep = || {
            std::process::Command::new("sleep")
                .arg("30")
                .process_group(0)
                .spawn()
                .expect("sleep runs")
        };
        let kept_dir = tempfile::tempdir().expect("temp dir");
        let mut kept = sleep();
        let watchdog = Watchdog::over_folder(kept_dir.path()).expect("forks");
        watchdog.watch_group(Some(kept.id())).expect("told");
        watchdog.disarm();
        assert!(alive(kept.id()) && kept_dir.path().is_dir());

        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("inner")).expect("mkdir");
        std::fs::write(dir.path().join("inner/run-0.json"), "{}").expect("writes");
        let mut killed = sleep();
        let watchdog = Watchdog::over_folder(dir.path()).expect("forks");
        watchdog.watch_group(Some(kept.id())).expect("told");
        // The last group named is the one killed.
        watchdog.watch_group(Some(killed.id())).expect("told");
        drop(watchdog);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(killed.wait().expect("waits").signal(), Some(libc::SIGKILL));
        assert!(!dir.path().exists(), "the folder outlived the watchdog");
        assert!(alive(kept.id()), "a group no longer named was killed");
        let _ = kept.kill();
        let _ = kept.wait();
    }
}
