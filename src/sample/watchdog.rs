//! A watchdog that kills a sampled command's whole process group when graphprof dies, even by
//! SIGKILL. A parent-death signal reaches only a direct child, so the command runs in its own
//! process group and a tiny forked process (no exec: it only reads, kills and exits) waits on a
//! pipe whose write end only graphprof holds. When graphprof dies, the kernel closes that end,
//! the read returns end-of-file and the watchdog sends SIGKILL to the group. A normal end
//! ([`Watchdog::disarm`]) writes one byte first, and the watchdog leaves without killing.
//!
//! The watchdog leads its own process group (a terminal's Ctrl-C does not reach it), ignores
//! SIGINT, SIGTERM, SIGHUP and SIGPIPE, and closes every inherited file but its pipe, so it
//! holds no one's output open. It is not a descendant of the command, so its memory is never
//! sampled.

use std::io;

/// A running watchdog over one process group.
#[derive(Debug)]
pub struct Watchdog {
    pid: libc::pid_t,
    /// Write end of the pipe; closing it without a byte makes the watchdog kill the group.
    write_fd: libc::c_int,
}

impl Watchdog {
    /// Forks the watchdog for process group `pgid`.
    pub fn spawn(pgid: u32) -> io::Result<Watchdog> {
        let pgid = libc::pid_t::try_from(pgid).map_err(io::Error::other)?;
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two-element array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let [read_fd, write_fd] = fds;
        // SAFETY: after fork the child calls only async-signal-safe functions (dup2, close,
        // syscall, setpgid, signal, read, kill, _exit) and never returns into Rust code.
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
            // SAFETY: see above; this branch ends in _exit.
            unsafe { watch(read_fd, pgid) }
        }
        // SAFETY: the parent keeps only the write end.
        unsafe { libc::close(read_fd) };
        Ok(Watchdog { pid, write_fd })
    }

    /// The watchdog's process id.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Ends the watchdog without killing the group, and reaps it.
    pub fn disarm(self) {
        // SAFETY: writes one byte to our own pipe, closes it and reaps our own child; the
        // watchdog exits as soon as it reads the byte (or end-of-file).
        unsafe {
            let byte = b'x';
            libc::write(self.write_fd, (&byte as *const u8).cast(), 1);
            libc::close(self.write_fd);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
        }
        std::mem::forget(self);
    }
}

impl Drop for Watchdog {
    /// Dropped without [`Watchdog::disarm`] (an error path): the group is killed, as if
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

/// The forked child: wait for a byte or end-of-file, kill the group on end-of-file.
unsafe fn watch(read_fd: libc::c_int, pgid: libc::pid_t) -> ! {
    // SAFETY: only async-signal-safe calls; see `Watchdog::spawn`.
    unsafe {
        libc::dup2(read_fd, 0);
        if libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32) != 0 {
            for fd in 1..4096 {
                libc::close(fd);
            }
        }
        libc::setpgid(0, 0);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(signal, libc::SIG_IGN);
        }
        let mut byte = 0u8;
        let read = loop {
            let n = libc::read(0, (&mut byte as *mut u8).cast(), 1);
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break n;
        };
        if read != 1 {
            libc::kill(-pgid, libc::SIGKILL);
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
}
