//! `graphprof calibrate`: the per-task bookkeeping of the user's Dask workers, measured with the
//! embedded `graphprof.run.calibrate` (scatter and delayed, fresh workers per run), printed and
//! optionally written for `sample --task-overhead-file`.

use crate::cli::CalibrateArgs;
use anyhow::{Context, bail};
use graphprof::dask::calibrate::{CalibrateOptions, run_calibrate};
use graphprof::dask::resolve_python;
use graphprof::error::EXIT_OK;
use graphprof::units::Bytes;

pub fn run(args: CalibrateArgs) -> anyhow::Result<i32> {
    let mut chunks = if args.chunks.is_empty() {
        vec![256, 1024]
    } else {
        args.chunks.clone()
    };
    chunks.sort_unstable();
    chunks.dedup();
    if chunks.len() < 2 {
        bail!("--chunks: give at least two different chunk counts to fit over");
    }
    let options = CalibrateOptions {
        python: resolve_python(args.python.python.as_deref()),
        chunks,
        strategies: if args.strategies.is_empty() {
            vec!["scatter".into(), "delayed".into()]
        } else {
            args.strategies.clone()
        },
        workers: args.workers,
        scheduler: args.scheduler.clone(),
        connect_timeout: args.timeout,
    };
    let calibration = run_calibrate(&options, &mut |run| {
        eprintln!(
            "graphprof: {} x {} chunks: held {} above the workers' baseline",
            run.strategy,
            run.chunks,
            Bytes(run.held_above_baseline.max(0) as u64)
        );
    })?;
    println!("strategy  bytes per chunk  beyond the results");
    for fit in &calibration.fits {
        println!(
            "{:<8}  {:>15}  {:>18}",
            fit.strategy, fit.bytes_per_chunk, fit.beyond_results_per_chunk
        );
    }
    println!(
        "task overhead: {} B per held task ({} workers)",
        calibration.task_overhead_bytes, calibration.workers
    );
    if let Some(path) = &args.output {
        let text = serde_json::to_string_pretty(&calibration).context("cannot encode")?;
        graphprof::output::write_file_atomically(path, |out| out.write_all(text.as_bytes()))?;
        eprintln!(
            "graphprof: wrote {}; use it with: graphprof sample --task-overhead-file {}",
            path.display(),
            path.display()
        );
    }
    Ok(EXIT_OK)
}
