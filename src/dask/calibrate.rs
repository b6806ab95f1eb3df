//! `graphprof calibrate`: measures the per-task bookkeeping of the user's Dask workers (RSS per
//! held result beyond the result) with the embedded `graphprof.run.calibrate`, and the small
//! JSON file it writes (schema `graphprof-calibration`, version 1) that `sample
//! --task-overhead-file` reads.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::child::{self, Scratch, StdoutLine, describe_status, telling_line};
use super::embed::PythonPackage;
use super::error::DaskError;
use crate::error::{InputError, Place};

/// The calibration file's `format`.
pub const CALIBRATION_FORMAT: &str = "graphprof-calibration";

/// One persisted run: a strategy at a chunk count on fresh workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRun {
    /// `scatter`, `delayed` or `inline`.
    pub strategy: String,
    /// Chunks of the seed case (one held result each).
    pub chunks: u64,
    /// The workers' RSS summed, before the submit.
    pub baseline_rss: u64,
    /// The workers' RSS summed, while the results were held.
    pub held_rss: u64,
    /// `held_rss - baseline_rss` (may be negative on a noisy machine).
    pub held_above_baseline: i64,
}

/// The least-squares fit of held RSS over the chunk counts, for one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationFit {
    /// The strategy.
    pub strategy: String,
    /// `a` of `held = a + b x chunks`, in bytes.
    pub intercept_bytes: i64,
    /// `b`, bytes per chunk.
    pub bytes_per_chunk: i64,
    /// The result bytes each chunk holds (8,000).
    pub result_bytes_per_chunk: u64,
    /// `b` minus the result bytes: the per-task bookkeeping (plus a payload copy for inline).
    pub beyond_results_per_chunk: i64,
}

/// What `graphprof calibrate` measured, as written to its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Always [`CALIBRATION_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// Bytes of RSS per held result beyond the result: the mean of the scatter and delayed fits.
    pub task_overhead_bytes: u64,
    /// Worker processes of the cluster measured.
    pub workers: u64,
    /// The scheduler measured; `None` for a LocalCluster started for the purpose.
    pub scheduler: Option<String>,
    /// dask, distributed and Python versions of the client.
    pub versions: serde_json::Value,
    /// Every run.
    pub runs: Vec<CalibrationRun>,
    /// One fit per strategy.
    pub fits: Vec<CalibrationFit>,
}

/// Reads a calibration file; an error names the file and the place.
pub fn read_calibration(path: &Path) -> Result<Calibration, InputError> {
    crate::error::refuse_endless(path)?;
    let text = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let calibration: Calibration =
        serde_json::from_slice(&text).map_err(|error| InputError::from_json(path, &error))?;
    if calibration.format != CALIBRATION_FORMAT || calibration.version != 1 {
        return Err(InputError::invalid(
            path,
            Place::File,
            format!(
                "not a {CALIBRATION_FORMAT} version 1 file (format {:?}, version {})",
                crate::escape::quote(&calibration.format),
                calibration.version
            ),
        ));
    }
    Ok(calibration)
}

/// What to calibrate, and how.
#[derive(Debug, Clone)]
pub struct CalibrateOptions {
    /// The Python to run.
    pub python: OsString,
    /// Chunk counts (at least two different ones).
    pub chunks: Vec<u64>,
    /// Strategies: `scatter`, `delayed` (the figure), `inline` (shown only).
    pub strategies: Vec<String>,
    /// Worker processes of the LocalCluster.
    pub workers: u32,
    /// An existing scheduler; its workers are restarted before each run.
    pub scheduler: Option<String>,
    /// How long to try to reach the scheduler.
    pub connect_timeout: Duration,
}

/// Runs `python -m graphprof.run calibrate` and collects its lines.
pub fn run_calibrate(
    options: &CalibrateOptions,
    on_run: &mut dyn FnMut(&CalibrationRun),
) -> Result<Calibration, DaskError> {
    // The package in a private scratch folder, removed with the cluster should graphprof die.
    let scratch = Scratch::new()?;
    let package = PythonPackage::for_python_in(&options.python, scratch.path())?;
    let mut args: Vec<OsString> = vec!["calibrate".into(), "--workers".into()];
    args.push(options.workers.to_string().into());
    for chunks in &options.chunks {
        args.push("--chunks".into());
        args.push(chunks.to_string().into());
    }
    for strategy in &options.strategies {
        args.push("--strategy".into());
        args.push(strategy.into());
    }
    // A LocalCluster's scratch space in the private folder (see `run_driver_cancellable`).
    args.push("--local-directory".into());
    args.push(scratch.path().join("workers").into());
    if let Some(scheduler) = &options.scheduler {
        args.push("--scheduler".into());
        args.push(scheduler.into());
        args.push("--timeout-s".into());
        args.push(format!("{}", options.connect_timeout.as_secs_f64()).into());
    }
    let command = package.command(&options.python, &args);
    let mut child = child::spawn_in(command, &scratch)
        .map_err(|error| DaskError::python_not_found(&options.python, &error))?;
    let mut runs = Vec::new();
    let mut fits = Vec::new();
    let mut last: Option<serde_json::Value> = None;
    while let Ok(StdoutLine::Line(line)) = child.lines.recv() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match event.get("event").and_then(|e| e.as_str()) {
            Some("run") => {
                if let Ok(run) = serde_json::from_value::<CalibrationRun>(event) {
                    on_run(&run);
                    runs.push(run);
                }
            }
            Some("fit") => fits.extend(serde_json::from_value::<CalibrationFit>(event).ok()),
            Some("calibration") => last = Some(event),
            _ => {}
        }
    }
    let status = child.wait();
    child.join_readers();
    let stderr = child.stderr_tail();
    let failed = |text: String| DaskError::DriverFailed {
        status: describe_status(status),
        text,
    };
    let Some(summary) = last.filter(|_| status.and_then(|s| s.code()) == Some(0)) else {
        let text = telling_line(&stderr).unwrap_or_else(|| "no message on stderr".to_string());
        return Err(failed(text));
    };
    let field = |name: &str| summary.get(name).and_then(|v| v.as_u64());
    let task_overhead_bytes = summary
        .get("task_overhead_bytes")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| failed("no task_overhead_bytes in the calibration".into()))?;
    Ok(Calibration {
        format: CALIBRATION_FORMAT.to_string(),
        version: 1,
        // A negative slope (noise swamping a tiny cluster's growth) is no bookkeeping.
        task_overhead_bytes: task_overhead_bytes.max(0) as u64,
        workers: field("workers").unwrap_or(u64::from(options.workers)),
        scheduler: options.scheduler.clone(),
        versions: summary.get("versions").cloned().unwrap_or_default(),
        runs,
        fits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibration_file_is_read_back_and_a_wrong_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.json");
        let calibration = Calibration {
            format: CALIBRATION_FORMAT.into(),
            version: 1,
            task_overhead_bytes: 9130,
            workers: 2,
            scheduler: None,
            versions: serde_json::json!({"distributed": "2026.8.0"}),
            runs: Vec::new(),
            fits: Vec::new(),
        };
        std::fs::write(&path, serde_json::to_vec(&calibration).unwrap()).unwrap();
        assert_eq!(read_calibration(&path).unwrap(), calibration);
        std::fs::write(&path, r#"{"format": "graphprof-graph", "version": 1}"#).unwrap();
        let error = read_calibration(&path).unwrap_err().to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
        std::fs::write(&path, "{").unwrap();
        let error = read_calibration(&path).unwrap_err().to_string();
        assert!(error.contains("truncated"), "{error}");
    }
}
