//! `graphprof render SAMPLES.json -o DIR`: the files of `sample -o DIR` (report.json,
//! samples.csv, the plots) from samples taken elsewhere. `graphprof.MemorySampler.save` sends
//! its series here, so a notebook's files and the CLI's are written by the same code and read
//! the same way. The input is a `graphprof-samples` document, version 1: the engine and source
//! for the report's parameters, and per run its label, interval, samples (the CLI's `Sample`:
//! `time_s` from the run's start, `measure`, `worker` index or null, `bytes`) and phase marks.

use crate::cli::RenderArgs;
use anyhow::{Context, Result, bail};
use graphprof::error::EXIT_OK;
use graphprof::report::sample_files::write_sample_files;
use graphprof::report::sample_folder::SampleFolder;
use graphprof::report::sample_report::{
    RunReport, SAMPLE_SCHEMA, SAMPLE_VERSION, SampleParameters, SampleReport,
};
use graphprof::sample::{PhaseMark, Sample, SamplerOverhead, Series};
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// Value of the input's `schema` field.
const INPUT_SCHEMA: &str = "graphprof-samples";

/// What `render` reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderInput {
    /// Always `graphprof-samples`.
    schema: String,
    /// Input version, 1.
    version: u32,
    /// The engine of every run (`dask` for MemorySampler).
    engine: String,
    /// What was sampled, for the report's `parameters.source`.
    source: String,
    /// The plots' title; the source when absent.
    #[serde(default)]
    title: Option<String>,
    /// Workers sampled, for `parameters.workers`.
    #[serde(default)]
    workers: Option<u32>,
    /// The runs, in order.
    runs: Vec<RenderRun>,
}

/// One labelled run of the input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderRun {
    /// The run's label.
    label: String,
    /// The requested interval between samples, in milliseconds.
    interval_ms: f64,
    /// False when the run was cut short.
    #[serde(default = "yes")]
    complete: bool,
    /// Phase starts, seconds since the run's first sample.
    #[serde(default)]
    phases: Vec<PhaseMark>,
    /// Every reading, seconds since the run's first sample.
    samples: Vec<Sample>,
}

fn yes() -> bool {
    true
}

pub fn run(args: RenderArgs) -> Result<i32> {
    let text = if args.input == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the samples from stdin")?;
        text
    } else {
        graphprof::error::refuse_endless(&args.input)?;
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("{}: cannot read the samples", args.input.display()))?
    };
    let input: RenderInput = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a graphprof-samples document", args.input.display()))?;
    if input.schema != INPUT_SCHEMA || input.version != 1 {
        bail!(
            "{}: schema {:?} version {}, expected {INPUT_SCHEMA:?} version 1",
            args.input.display(),
            input.schema,
            input.version
        );
    }
    if input.runs.is_empty() {
        bail!("{}: no runs to render", args.input.display());
    }
    let folder = SampleFolder::prepare(&args.output, args.force)?;
    let interval_ms = input.runs[0].interval_ms;
    let series: Vec<Series> = input.runs.into_iter().map(series_of).collect();
    let runs: Vec<RunReport> = series
        .iter()
        .map(|s| RunReport::from_series(&input.engine, s))
        .collect();
    let report = SampleReport {
        schema: SAMPLE_SCHEMA.to_string(),
        version: SAMPLE_VERSION,
        parameters: SampleParameters {
            engine: input.engine,
            source: input.source.clone(),
            chunks: None,
            payload_bytes: None,
            workers: input.workers,
            interval_ms,
            hold_s: None,
            memory_limit_bytes: None,
        },
        interrupted: false,
        runs,
        sweep: None,
    };
    let title = input.title.unwrap_or(input.source);
    let written = write_sample_files(&folder.path, &report, &series, &title)?;
    folder.finish(&written)?;
    super::progress::note(&format!(
        "wrote {}",
        written
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(EXIT_OK)
}

/// A run as the sampler would have filled it. The overhead holds what the samples themselves
/// show (ticks, gaps between them); the CPU the sampling took elsewhere is not known here and
/// stays 0.
fn series_of(run: RenderRun) -> Series {
    let mut series = Series::new(run.label, run.interval_ms);
    series.complete = run.complete;
    series.phases = run.phases;
    series.samples = run.samples;
    series.samples.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    series.overhead = overhead_of(&series.samples);
    series
}

/// Ticks and the gaps between them (ms): median, 99th percentile, longest.
fn overhead_of(samples: &[Sample]) -> SamplerOverhead {
    let mut ticks: Vec<f64> = samples.iter().map(|s| s.time_s).collect();
    ticks.dedup();
    let mut gaps: Vec<f64> = ticks.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
    gaps.sort_by(f64::total_cmp);
    let at = |q: f64| {
        gaps.get(((gaps.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    SamplerOverhead {
        samples_taken: ticks.len() as u64,
        cpu_time_s: 0.0,
        cpu_fraction: 0.0,
        gap_p50_ms: at(0.5),
        gap_p99_ms: at(0.99),
        gap_max_ms: gaps.last().copied().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphprof::sample::Measure;

    #[test]
    fn the_overhead_is_the_gaps_between_distinct_ticks() {
        let sample = |time_s| Sample {
            time_s,
            measure: Measure::Rss,
            worker: None,
            bytes: 1,
        };
        let samples = [0.0, 0.0, 0.5, 1.0, 2.0].map(sample);
        let overhead = overhead_of(&samples);
        assert_eq!(overhead.samples_taken, 4);
        assert_eq!(overhead.gap_p50_ms, 500.0);
        assert_eq!(overhead.gap_max_ms, 1000.0);
        assert_eq!(overhead_of(&[]).samples_taken, 0);
    }
}
