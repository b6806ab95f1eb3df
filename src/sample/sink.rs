//! The sampler's on-disk CSV: rows are appended as whole lines, in one call per batch; a failed
//! write is cut back to the last whole line, warned about once (through the `log` facade: the
//! library never prints, the binary's logger does), and appending stops.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::sample::error::SampleError;
use crate::sample::series::CSV_HEADER;

/// The on-disk CSV the thread appends to.
pub(crate) struct Sink {
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) pending: String,
    pub(crate) last_write: Instant,
    pub(crate) error: Option<io::Error>,
}

impl Sink {
    pub(crate) fn open(path: PathBuf) -> Result<Sink, SampleError> {
        let open = || -> io::Result<File> {
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            if file.metadata()?.len() == 0 {
                writeln!(file, "{CSV_HEADER}")?;
            }
            Ok(file)
        };
        match open() {
            Ok(file) => Ok(Sink {
                path,
                file,
                pending: String::with_capacity(4096),
                last_write: Instant::now(),
                error: None,
            }),
            Err(source) => Err(SampleError::SinkOpen { path, source }),
        }
    }

    /// Hand pending rows (whole lines) to the OS in one call, so a crash of this process keeps
    /// them. A failed or short write is cut back to the last whole line written, a warning
    /// is logged once, and appending stops; the samples stay in memory.
    pub(crate) fn write_pending(&mut self) {
        if self.error.is_none() && !self.pending.is_empty() {
            let good_len = self.file.metadata().map(|meta| meta.len());
            if let Err(e) = self.file.write_all(self.pending.as_bytes()) {
                if let Ok(len) = good_len {
                    let _ = self.file.set_len(len);
                }
                // The sampler's one message (once per process): the run goes on, and the
                // user should know now that the live file is no longer growing.
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "{}: appending samples failed ({e}); sampling goes on in memory",
                        self.path.display()
                    );
                }
                self.error = Some(e);
            }
        }
        self.pending.clear();
        self.last_write = Instant::now();
    }
}
