//! Where `graphprof sample` writes: the output folder prepared once the inputs are good, the live
//! samples file, and at the end report.json, samples.csv, the plots and the exports, the table
//! and its notes printed, and the exit code picked.

use super::sample_dask::notes;
use crate::cli::{EngineChoice, SampleArgs};
use anyhow::Result;
use graphprof::error::{EXIT_FAILED_CHECK, EXIT_INTERRUPTED, EXIT_OK};
use graphprof::report::export::{
    CsvExporter, Exporter, JsonExporter, MarkdownExporter, write_exports,
};
use graphprof::report::sample_files::write_sample_files;
use graphprof::report::sample_folder::SampleFolder;
use graphprof::report::sample_report::{
    RunReport, SAMPLE_SCHEMA, SAMPLE_VERSION, SampleParameters, SampleReport,
};
use graphprof::report::sample_table::{slopes, sparse_note, table};
use graphprof::sample::Series;
use std::path::Path;

/// Name of the file samples are appended to while runs go; removed once samples.csv is written.
const LIVE_SAMPLES: &str = "samples.live.csv";

pub(super) fn engine_name(choice: EngineChoice) -> &'static str {
    match choice {
        EngineChoice::Builtin => "builtin",
        EngineChoice::Dask => "dask",
        EngineChoice::Both => "builtin+dask",
    }
}

/// The plots' title of a graph's runs: `--title`, else `default` (the graph file, SCRIPT.py:VAR or
/// the seed case's size), with the worker count.
pub(super) fn plot_title(args: &SampleArgs, default: impl FnOnce() -> String) -> String {
    let name = args.title.clone().unwrap_or_else(default);
    format!(
        "{name}, {} workers",
        graphprof::units::count(u64::from(args.workers))
    )
}

/// Checks and creates the output folder (once the inputs are known to be good) and returns it
/// with the path of the live samples file, emptied.
pub(super) fn prepare_output(args: &SampleArgs) -> Result<(SampleFolder, std::path::PathBuf)> {
    let folder = SampleFolder::prepare(&args.output, args.force)?;
    let live = folder.path.join(LIVE_SAMPLES);
    let _ = std::fs::remove_file(&live);
    Ok((folder, live))
}

/// Writes the files and the exports, prints the table and where the files are (on stderr when
/// an export goes to stdout), and picks the exit code.
pub(super) fn finish(
    args: &SampleArgs,
    folder: &SampleFolder,
    parameters: SampleParameters,
    runs: Vec<(RunReport, Series)>,
    title: &str,
    interrupted: bool,
    sweep: Option<graphprof::report::sweep::SweepReport>,
) -> Result<i32> {
    if interrupted && runs.is_empty() {
        eprintln!(
            "graphprof: interrupted (Ctrl-C or SIGTERM) before anything was sampled; nothing written"
        );
    } else if interrupted {
        eprintln!(
            "graphprof: interrupted (Ctrl-C or SIGTERM): writing what was sampled; later runs did not start"
        );
    }
    if runs.is_empty() {
        return Ok(if interrupted {
            EXIT_INTERRUPTED
        } else {
            EXIT_OK
        });
    }
    let (mut reports, series): (Vec<RunReport>, Vec<Series>) = runs.into_iter().unzip();
    for run in &mut reports {
        if let Some(chunks) = run.chunks.or(parameters.chunks).filter(|&c| c > 0) {
            run.held_per_chunk_bytes = run.held_growth_bytes().map(|held| held / chunks);
        }
    }
    let report = SampleReport {
        schema: SAMPLE_SCHEMA.to_string(),
        version: SAMPLE_VERSION,
        parameters,
        interrupted,
        runs: reports,
        sweep,
    };
    let written = write_sample_files(&folder.path, &report, &series, title)?;
    let _ = std::fs::remove_file(folder.path.join(LIVE_SAMPLES));
    folder.finish(&written)?;
    let all_complete = report.runs.iter().all(|run| run.complete);
    let text = format!(
        "{}\n{}{}{}{}Memory is above each run's baseline{}.\nWrote {}\n",
        table(&report).to_text(0),
        sparse_note(&report),
        slopes(&report),
        report
            .sweep
            .as_ref()
            .map_or(String::new(), graphprof::report::sweep::sweep_text),
        notes(&report),
        if report
            .runs
            .iter()
            .any(|run| graphprof::report::sweep::strategy_label(&run.label).ends_with("scatter"))
        {
            "; (xN) is relative to the scatter run"
        } else {
            ""
        },
        written
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let exports: Vec<(&dyn Exporter, &Path)> = [
        (&JsonExporter as &dyn Exporter, &args.export_json),
        (&CsvExporter, &args.export_csv),
        (&MarkdownExporter, &args.export_markdown),
    ]
    .into_iter()
    .filter_map(|(exporter, path)| Some((exporter, path.as_deref()?)))
    .collect();
    write_exports(&report, &exports)?;
    if super::progress::quiet() {
        // --quiet: the table is silenced; files and exports are still written.
    } else if exports.iter().any(|(_, path)| *path == Path::new("-")) {
        eprint!("{text}");
    } else {
        graphprof::output::write_to(&graphprof::output::Destination::Stdout, |out| {
            out.write_all(text.as_bytes())
        })?;
    }
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if all_complete {
        EXIT_OK
    } else {
        EXIT_FAILED_CHECK
    })
}
