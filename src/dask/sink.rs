//! The live sample sink: every sample of a Dask run appended to a CSV file in the `samples.csv`
//! row format as it arrives (written every quarter second), so a run that dies keeps them. The
//! file is shared with the built-in sampler's sink: opened for appending, header when empty.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::sample::series::{CSV_HEADER, Sample, push_csv_row};

/// How often the sink is written to while samples arrive.
const SINK_WRITE_EVERY: Duration = Duration::from_millis(250);

/// Appends CSV rows to a file: header first, rows written every [`SINK_WRITE_EVERY`].
pub struct CsvSink {
    path: PathBuf,
    file: Option<File>,
    pending: String,
    last_write: Instant,
}

impl CsvSink {
    /// Opens `path` for appending (creating it and its directory if needed) and writes the
    /// header when the file is empty, as the built-in sampler's sink does, so both engines can
    /// share one live file.
    pub fn open(path: PathBuf) -> std::io::Result<CsvSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if file.metadata()?.len() == 0 {
            file.write_all(format!("{CSV_HEADER}\n").as_bytes())?;
        }
        Ok(CsvSink {
            path,
            file: Some(file),
            pending: String::new(),
            last_write: Instant::now(),
        })
    }

    /// The sink's file.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    pub(crate) fn push(&mut self, label: &str, sample: &Sample) {
        if self.file.is_some() {
            push_csv_row(&mut self.pending, label, sample);
        }
    }

    /// Writes pending rows when due (or `force`); a warning when writing failed (the sink is
    /// then abandoned and sampling goes on in memory).
    pub(crate) fn write(&mut self, force: bool) -> Option<String> {
        if self.pending.is_empty() || (!force && self.last_write.elapsed() < SINK_WRITE_EVERY) {
            return None;
        }
        let file = self.file.as_mut()?;
        let result = file.write_all(self.pending.as_bytes());
        self.pending.clear();
        self.last_write = Instant::now();
        match result {
            Ok(()) => None,
            Err(error) => {
                self.file = None;
                Some(format!(
                    "stopped writing samples to {}: {error}; they are kept in memory",
                    self.path.display()
                ))
            }
        }
    }
}
