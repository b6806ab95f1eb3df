//! The command line, as clap definitions only. Each subcommand's arguments are a struct that
//! `commands/` turns into typed options.

use clap::{Args, Parser, Subcommand};
use graphprof::graph::Strategy;
use graphprof::graph::generate::GeneratorKind;
use graphprof::report::analysis::AnalysisFormat;
use std::path::PathBuf;

/// graphprof: find and measure memory waste in Dask-style task graphs, and prove the fix.
#[derive(Debug, Parser)]
#[command(name = "graphprof", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a generated task graph (the seed case and other shapes) as a graph file.
    Generate(GenerateArgs),
    /// Report a graph's sizes, duplicated payloads, Dask's large-graph warning and what the
    /// scatter and delayed strategies would save. Without a file: the seed case.
    Analyze(AnalyzeArgs),
    /// Real Dask: export a collection's task graph with your Python and dask.
    Dask(DaskArgs),
}

/// Parameters shared by everything that generates a graph.
#[derive(Debug, Args, Clone)]
pub struct GeneratorArgs {
    /// Number of chunks (tasks per layer).
    #[arg(long, default_value_t = 1024)]
    pub chunks: u64,
    /// Size of the shared object: 240KiB, 10MB, or plain bytes. 0 for none.
    #[arg(long, default_value = "240KiB", value_parser = parse_size_arg)]
    pub payload_bytes: u64,
    /// Size of each chunk's result.
    #[arg(long, default_value = "8000", value_parser = parse_size_arg)]
    pub chunk_bytes: u64,
    /// Seed for keys, payload bytes and random structure.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fan-in of tree-reduce; dependencies per task of random-dag.
    #[arg(long, default_value_t = 8)]
    pub fan_in: u64,
}

/// `graphprof generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Shape of the graph.
    #[arg(value_enum)]
    pub kind: GeneratorKind,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// How the shared object reaches its tasks.
    #[arg(long, value_enum, default_value_t = Strategy::Inline)]
    pub strategy: Strategy,
    /// Embed the payloads' bytes (base64) instead of digests only.
    #[arg(long)]
    pub with_bytes: bool,
    /// Output file; `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
}

/// `graphprof analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Graph file; without one, the seed case (map-blocks, 1024 chunks, a 240 KiB object, inline).
    pub graph: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalysisFormat::Text)]
    pub format: AnalysisFormat,
    /// Output file; `-` for stdout. Files are replaced atomically.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Dask's distributed.admin.large-graph-warning-threshold.
    #[arg(long, default_value = "10MB", value_parser = parse_size_arg)]
    pub warning_threshold: u64,
    /// Workers assumed by the strategy predictions.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub workers: u32,
    /// Rows kept in the layer, function and largest-task tables.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Strategy of the built-in seed case (no file given).
    #[arg(long, value_enum, default_value_t = Strategy::Inline)]
    pub strategy: Strategy,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// `graphprof dask`.
#[derive(Debug, Args)]
pub struct DaskArgs {
    /// What to do with real Dask.
    #[command(subcommand)]
    pub command: DaskCommand,
}

/// The `graphprof dask` subcommands.
#[derive(Debug, Subcommand)]
pub enum DaskCommand {
    /// Write the graph of a Dask collection defined in a script, as distributed would send it:
    /// `graphprof dask export my_pipeline.py:result -o graph.json`, then `graphprof analyze
    /// graph.json`. The script is imported (its `if __name__ == "__main__":` block does not run).
    Export(DaskExportArgs),
}

/// `graphprof dask export`.
#[derive(Debug, Args)]
pub struct DaskExportArgs {
    /// SCRIPT.py:VARIABLE, the script that builds the collection and the variable holding it.
    pub target: std::ffi::OsString,
    /// Graph file to write (replaced atomically).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Record the bytes distributed itself serializes for the graph (`measured.wire_bytes`).
    #[arg(long)]
    pub measure_wire: bool,
    /// An existing Dask scheduler (tcp://HOST:PORT): measure the wire by persisting there, and
    /// size scattered data on its workers.
    #[arg(long)]
    pub scheduler: Option<String>,
    /// How long to try to reach the scheduler: 10s, 500ms, or plain seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,
    /// The graph's name in reports (default: the target).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub python: PythonArgs,
}

/// The Python that runs graphprof's embedded Dask code.
#[derive(Debug, Args, Clone)]
pub struct PythonArgs {
    /// Python with dask and distributed installed [env: GRAPHPROF_PYTHON] [default: python3].
    #[arg(long)]
    pub python: Option<std::ffi::OsString>,
}

/// Parses a duration such as `10s`, `500ms`, `2m` or plain seconds.
pub fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 10s, 500ms)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1e3,
        "s" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m)")),
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a valid duration"))
}

/// Parses a size argument such as `240KiB`.
pub fn parse_size_arg(text: &str) -> Result<u64, String> {
    graphprof::units::parse_size(text).map_err(|error| error.reason)
}
