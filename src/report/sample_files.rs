//! Writes the files of a `sample` run into its output folder: `report.json`, `samples.csv`, and
//! the plots: `memory.png`/`.svg` (the first run's main measure: process RSS, or Dask worker RSS),
//! then one pair per other measure present (`process`, `rss`, `managed`, `dask-managed`). Every
//! file is written atomically.

use super::plot::plot_memory;
use super::sample_report::SampleReport;
use super::samples_csv::write_samples_csv;
use crate::output::write_file_atomically;
use crate::sample::{Measure, Series};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Writes every report file into `dir` (created if missing) and returns their paths.
pub fn write_sample_files(
    dir: &Path,
    report: &SampleReport,
    series: &[Series],
    title: &str,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let mut written = Vec::new();
    let json_path = dir.join("report.json");
    write_file_atomically(&json_path, |out| {
        serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    })?;
    written.push(json_path);
    let csv_path = dir.join("samples.csv");
    write_samples_csv(&csv_path, series)?;
    written.push(csv_path);
    let main = report
        .runs
        .first()
        .map_or(Measure::Process, |run| run.main_measure());
    let plots = [
        ("memory", main, "memory"),
        ("process", Measure::Process, "process memory"),
        ("rss", Measure::Rss, "Dask worker RSS"),
        (
            "managed",
            Measure::Managed,
            "managed memory (counted exactly)",
        ),
        (
            "dask-managed",
            Measure::DaskManaged,
            "Dask's managed memory",
        ),
    ];
    for (name, measure, what) in plots {
        let already_drawn = name != "memory" && measure == main;
        if already_drawn || !series.iter().any(|s| !s.totals(measure).is_empty()) {
            // A plot an earlier run left here is removed by `SampleFolder::finish`.
            continue;
        }
        let png = dir.join(format!("{name}.png"));
        let svg = dir.join(format!("{name}.svg"));
        plot_memory(series, &format!("{what}: {title}"), measure, &png, &svg)?;
        written.push(png);
        written.push(svg);
    }
    if let Some(sweep) = &report.sweep {
        let (png, svg) = (dir.join("sweep.png"), dir.join("sweep.svg"));
        super::sweep_plot::plot_sweep(
            sweep,
            &format!("held memory against chunks: {title}"),
            &png,
            &svg,
        )?;
        written.push(png);
        written.push(svg);
    }
    Ok(written)
}
