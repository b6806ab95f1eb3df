//! `graphprof sample`: runs graphs (or a command) under the sampler, one labelled series per
//! strategy, and writes the comparison table, report.json, samples.csv and the plots.

use super::progress::task_bar;
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::{Context, Result, anyhow, bail};
use graphprof::analyze::{AnalyzeOptions, analyze};
use graphprof::error::{EXIT_FAILED_CHECK, EXIT_OK};
use graphprof::graph::generate::{GeneratorKind, generate_graph, kind_name};
use graphprof::graph::rewrite::rewrite;
use graphprof::graph::{Graph, Strategy, load_graph};
use graphprof::report::sample_files::write_sample_files;
use graphprof::report::sample_report::{
    Comparison, RunReport, SAMPLE_SCHEMA, SAMPLE_VERSION, SampleParameters, SampleReport,
    summarize, table,
};
use graphprof::sample::{Measure, Series, sample_command, validate_interval};
use graphprof::units::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code of a run stopped by Ctrl-C.
const EXIT_INTERRUPTED: i32 = 130;

/// One graph to run under one label.
struct PlannedRun {
    label: String,
    strategy: Option<Strategy>,
    graph: Graph,
}

pub fn run(args: SampleArgs) -> Result<i32> {
    validate_interval(args.interval)?;
    let cancel = cancel_flag();
    if !args.command.is_empty() {
        return run_command(&args, &cancel);
    }
    let (plans, source) = plan(&args)?;
    let mut runs: Vec<(RunReport, Series)> = Vec::new();
    if matches!(args.engine, EngineChoice::Builtin | EngineChoice::Both) {
        for planned in &plans {
            if cancel.load(Ordering::SeqCst) {
                break;
            }
            runs.push(super::sample_builtin::run_one(&args, planned_label(&args, planned), planned, &cancel)?);
        }
    }
    if matches!(args.engine, EngineChoice::Dask | EngineChoice::Both) && !cancel.load(Ordering::SeqCst) {
        runs.extend(super::sample_dask::run_all(&args, &plans_strategies(&plans), &cancel)?);
    }
    let interrupted = cancel.load(Ordering::SeqCst);
    finish(&args, source, runs, interrupted)
}

fn planned_label(args: &SampleArgs, planned: &PlannedRun) -> String {
    match args.engine {
        EngineChoice::Both => format!("builtin/{}", planned.label),
        _ => planned.label.clone(),
    }
}
