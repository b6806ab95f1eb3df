//! The command line, as clap definitions only. Each subcommand's arguments are a struct that
//! `commands/` turns into typed options.

use clap::{Args, Parser, Subcommand};
use graphprof::graph::Strategy;
use graphprof::graph::generate::GeneratorKind;
use graphprof::report::analysis::AnalysisFormat;
use graphprof::report::diff::DiffFormat;
use std::path::PathBuf;

/// The version with the git commit it was built from (see build.rs): `0.1.0 (a1b2c3d)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("GRAPHPROF_GIT_COMMIT"),
    ")"
);

/// Find and measure memory waste in Dask-style task graphs, and prove the fix.
#[derive(Debug, Parser)]
#[command(name = "graphprof", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    /// Print no progress bars, tables or notes; errors and warnings still print, files are still
    /// written and the exit code is the same.
    #[arg(short, long, global = true)]
    pub quiet: bool,
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
    /// Compare graphs with a baseline and a budget, for CI: exit 0 within budget, 1 a budget or
    /// regression failed, 2 an error. See docs/CHECK.md.
    Check(CheckArgs),
    /// What changed between two graph files or two analysis reports: payloads, layers, tasks.
    Diff(DiffArgs),
    /// Run a graph under a sampling memory monitor, several strategies side by side, and write
    /// the table, report.json, samples.csv and plots. Without arguments: the seed case, all
    /// strategies. After `--`: sample any command's process tree instead.
    Sample(Box<SampleArgs>),
    /// Rewrite a graph file for a strategy: payloads embedded in several tasks become one
    /// scattered data object (scatter) or one task the others depend on (delayed: an exported
    /// collection's `dask.delayed(obj)`, a generated graph's builder task), or are embedded again
    /// (inline).
    Rewrite(RewriteArgs),
    /// Real Dask: export a collection's task graph with your Python and dask.
    Dask(DaskArgs),
    /// Register graphprof's live guard on a running Dask scheduler and print its findings as
    /// graphs arrive (each graph whose tasks share an object the workers would copy per task).
    Watch(WatchArgs),
    /// Print a shell completion script: `graphprof completions bash > ~/.local/share/bash-completion/completions/graphprof`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `graphprof man > graphprof.1; man ./graphprof.1`.
    Man(ManArgs),
    /// Real Dask: measure the RSS your workers hold per task beyond the results (the built-in
    /// engine's --task-overhead), on a LocalCluster or --scheduler. See docs/DASK.md.
    Calibrate(CalibrateArgs),
    /// Write a sample folder (report.json, samples.csv, the plots), as `sample -o DIR` does, from
    /// samples taken elsewhere: a `graphprof-samples` JSON document (what
    /// `graphprof.MemorySampler.save` sends; see docs/MANUAL.md, "From Python").
    Render(RenderArgs),
}

/// `graphprof render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The samples: a `graphprof-samples` JSON file, or `-` for stdin.
    pub input: PathBuf,
    /// Output folder for report.json, samples.csv and the plots; a non-empty folder that
    /// graphprof did not write is refused (see --force).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write into a non-empty output folder graphprof did not write (its files are kept).
    #[arg(long)]
    pub force: bool,
}

/// `graphprof completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `graphprof man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Output file; `-` for stdout. Files are replaced atomically.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `graphprof calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Chunk counts of the seed case to fit over (repeatable, at least two). Default 256, 1024.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunks: Vec<u64>,
    /// Strategies whose fits are averaged (repeatable): scatter, delayed. Default both.
    #[arg(long = "strategy", value_parser = ["scatter", "delayed"])]
    pub strategies: Vec<String>,
    /// Worker processes of the LocalCluster (1 thread each).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: u32,
    /// An existing scheduler (tcp://HOST:PORT); its workers are restarted before each run.
    #[arg(long)]
    pub scheduler: Option<String>,
    /// How long to try to reach the scheduler.
    #[arg(long, default_value = "30s", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,
    /// Write the calibration (JSON, for `sample --task-overhead-file`); replaced atomically.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub python: PythonArgs,
}

/// Parameters shared by everything that generates a graph.
#[derive(Debug, Args, Clone)]
pub struct GeneratorArgs {
    /// Number of chunks (tasks per layer). `sample` takes a list (256,1024,4096): a sweep; with
    /// a graph file or a collection, each count runs the graph culled to its first that many
    /// outputs (tasks nothing depends on, in natural key order) and what they depend on.
    #[arg(long, default_value = "1024", value_parser = parse_chunk_counts)]
    pub chunks: ChunkCounts,
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
    /// Graph file (`-`: read it from standard input); without one, the seed case (map-blocks,
    /// 1024 chunks, a 240 KiB object, inline).
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
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub top: u64,
    /// Strategy of the built-in seed case (default inline); with a graph file, analyze the file
    /// rewritten this way (as `graphprof rewrite --strategy` writes it).
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// The options that shape the built-in seed case, by their long names.
pub const SEED_OPTIONS: [&str; 5] = ["chunks", "payload_bytes", "chunk_bytes", "seed", "fan_in"];

/// One line naming a seed-case option given on the command line beside a graph file (which it
/// would not change), for `analyze` and `sample`.
pub fn seed_options_with_a_file(matches: &clap::ArgMatches) -> Option<String> {
    let (name, sub) = matches.subcommand()?;
    if !matches!(name, "analyze" | "sample") || !sub.contains_id("graph") {
        return None;
    }
    sub.get_raw("graph")?;
    let given: Vec<String> = SEED_OPTIONS
        .iter()
        // `sample GRAPH --chunks 12,24,48` runs the graph culled to its first outputs.
        .filter(|id| !(name == "sample" && **id == "chunks"))
        .filter(|id| sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    (!given.is_empty()).then(|| {
        format!(
            "{} shape the built-in seed case and do nothing with a graph file; drop them, or run `graphprof generate` to make the graph you mean",
            given.join(", ")
        )
    })
}

/// Notes in the typed options what only the raw matches know: whether `sample` was given
/// `--chunks` (with a graph file or a collection it culls the graph to its first outputs).
pub fn note_given(matches: &clap::ArgMatches, cli: &mut Cli) {
    if let (Some(("sample", sub)), Command::Sample(args)) = (matches.subcommand(), &mut cli.command)
    {
        args.chunks_given =
            sub.value_source("chunks") == Some(clap::parser::ValueSource::CommandLine);
    }
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
    /// Do not run any of the collection's tasks. By default the exporter sizes the results of
    /// dataframe, bag and delayed outputs by running a few outputs' subgraphs in its own process
    /// (at most 8, 10 s in all); without it, held memory counts those results as unknown.
    #[arg(long)]
    pub no_run_outputs: bool,
    #[command(flatten)]
    pub python: PythonArgs,
}

/// `graphprof watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The Dask scheduler to guard (tcp://HOST:PORT).
    #[arg(long)]
    pub scheduler: String,
    /// Output: one text line per finding, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = WatchFormat::Text)]
    pub format: WatchFormat,
    /// How long to try to reach the scheduler: 10s, 500ms, or plain seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,
    /// Warn when a graph's copies beyond the first of shared objects exceed this (e.g. 100MB,
    /// 1GiB). Default: the guard's (100 MB, or Dask config graphprof.guard.warn-duplicated).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub warn_duplicated: Option<u64>,
    /// Warn when what the workers will deserialise of shared objects exceeds this. Default off.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub warn_materialised: Option<u64>,
    /// Refuse a graph (its futures fail, nothing of it runs) above this many duplicated bytes.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub refuse_duplicated: Option<u64>,
    /// Refuse a graph above this many materialised bytes of shared objects.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub refuse_materialised: Option<u64>,
    #[command(flatten)]
    pub python: PythonArgs,
}

impl WatchArgs {
    /// The thresholds given on the command line, by the guard's names (`warn_duplicated`).
    pub fn thresholds(&self) -> Vec<(&'static str, u64)> {
        [
            ("warn_duplicated", self.warn_duplicated),
            ("warn_materialised", self.warn_materialised),
            ("refuse_duplicated", self.refuse_duplicated),
            ("refuse_materialised", self.refuse_materialised),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// What `graphprof watch` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WatchFormat {
    /// One line per finding, control characters escaped.
    Text,
    /// The guard's events as JSON lines.
    Json,
}

/// The Python that runs graphprof's embedded Dask code.
#[derive(Debug, Args, Clone)]
pub struct PythonArgs {
    /// Python with dask and distributed installed [env: GRAPHPROF_PYTHON] [default: python3].
    #[arg(long)]
    pub python: Option<std::ffi::OsString>,
}

/// `graphprof check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Graph files to check; without any, the graphs the baseline lists.
    pub graphs: Vec<PathBuf>,
    /// Baseline file (JSON, schema graphprof-baseline). Created by --update-baseline.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Budget file (TOML): limits per graph or glob. See docs/CHECK.md.
    #[arg(long)]
    pub budget: Option<PathBuf>,
    /// Also run each graph under the memory sampler and compare medians with the baseline.
    #[arg(long)]
    pub sample: bool,
    /// Runs per strategy with --sample; medians are compared, the spread is shown.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Strategies sampled with --sample (repeatable); default all.
    #[arg(long = "strategy", value_enum)]
    pub strategies: Vec<Strategy>,
    /// Write a Markdown report (for $GITHUB_STEP_SUMMARY or a merge request comment).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a JUnit XML report: one test case per check.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report (schema graphprof-check).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Accept the figures measured now: rewrite the baseline atomically and exit 0.
    #[arg(long)]
    pub update_baseline: bool,
    /// Workers of the built-in engine when sampling (`--sample`).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: u32,
    /// Time between samples when sampling.
    #[arg(long, default_value = "10ms", value_parser = parse_duration_arg)]
    pub interval: std::time::Duration,
    /// How long results are held before release when sampling.
    #[arg(long, default_value = "0.2s", value_parser = parse_duration_arg)]
    pub hold: std::time::Duration,
}

/// `graphprof diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old graph file or analysis report (`graphprof analyze --format json`).
    pub old: PathBuf,
    /// The new graph file or analysis report.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Output file; `-` for stdout. Files are replaced atomically.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Exit 1 when the graphs differ (as `git diff --exit-code`), 0 when they do not.
    #[arg(long)]
    pub exit_code: bool,
}

/// Which engine runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    /// graphprof's own model of a Dask cluster, in this process.
    Builtin,
    /// A real Dask cluster: a LocalCluster on loopback, or `--scheduler`.
    Dask,
    /// Both, side by side in one report.
    Both,
}

/// `graphprof rewrite`.
#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// The graph file to rewrite (`-`: read it from standard input).
    pub graph: PathBuf,
    /// The strategy to rewrite it for.
    #[arg(long, value_enum)]
    pub strategy: Strategy,
    /// Output file; `-` for stdout. Files are replaced atomically.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
}

/// `graphprof sample`.
#[derive(Debug, Args, Clone)]
pub struct SampleArgs {
    /// What to run: a graph file, or SCRIPT.py:VAR (a Dask collection your script builds, the
    /// variable holding it; runs on real Dask). Without one, the seed case (map-blocks with a
    /// shared object).
    #[arg(value_name = "GRAPH|SCRIPT.py:VAR")]
    pub graph: Option<PathBuf>,
    /// Strategies to run, in order (repeatable; a repeated one is labelled `#2`). Default:
    /// inline, delayed and scatter for the seed case; the graph as given for a file on the
    /// built-in engine; as-given, scatter and delayed for a file or a collection on real Dask.
    /// `as-given` runs a file or collection unmodified (for the seed case it is `inline`, the
    /// graph as generated).
    #[arg(long, value_enum)]
    pub strategy: Vec<SampleStrategy>,
    /// Workers: threads of the built-in engine, processes of a Dask LocalCluster.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: u32,
    /// Time between samples: 1ms to 60s.
    #[arg(long, default_value = "10ms", value_parser = parse_duration_arg)]
    pub interval: std::time::Duration,
    /// How long the results are held before they are released.
    #[arg(long, default_value = "0.5s", value_parser = parse_duration_arg)]
    pub hold: std::time::Duration,
    /// Stop a run (marked incomplete) before the engine holds more than this. Default: 80% of
    /// the memory available when the run starts.
    #[arg(long, value_parser = parse_size_arg)]
    pub memory_limit: Option<u64>,
    /// Output folder for report.json, samples.csv, memory.png and memory.svg. A non-empty
    /// folder that graphprof did not write is refused (see --force); `-` is refused.
    #[arg(short, long, default_value = "graphprof-out")]
    pub output: PathBuf,
    /// Write into a non-empty output folder graphprof did not write (its files are kept).
    #[arg(long)]
    pub force: bool,
    /// Export the table as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Export the table as CSV, one row per run, to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Export the table as Markdown to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Which engine runs the graph.
    #[arg(long, value_enum, default_value_t = EngineChoice::Builtin)]
    pub engine: EngineChoice,
    /// Label of a sampled command (with `-- COMMAND`).
    #[arg(long)]
    pub label: Option<String>,
    /// What the plots' titles call the graph, collection or command (default: the graph file or
    /// SCRIPT.py:VAR as given, the seed case's size, or the command line; `graphprof.sample`
    /// passes the collection's variable name).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Print progress as plain lines on stderr (one per run, phase and quarter of the tasks, with
    /// the seconds elapsed) instead of bars: for a caller that is not a terminal, such as
    /// `graphprof.sample` in a notebook. `--quiet` hides them too.
    #[arg(long)]
    pub progress_lines: bool,
    /// An existing Dask scheduler to use and leave running (tcp://HOST:PORT), for `--engine dask`.
    #[arg(long)]
    pub scheduler: Option<String>,
    /// With --scheduler: restart the workers before every run, so each strategy starts on fresh
    /// workers (a LocalCluster always does).
    #[arg(long)]
    pub restart_workers: bool,
    /// How long to try to reach the Dask scheduler.
    #[arg(long, default_value = "30s", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,
    /// Bookkeeping each worker of the built-in engine holds per result it keeps (Dask's per-task
    /// state). Default: 9,130 B, measured on distributed 2026.8.0 (docs/DASK.md).
    #[arg(long, value_parser = parse_size_arg, conflicts_with = "task_overhead_file")]
    pub task_overhead: Option<u64>,
    /// Read --task-overhead from a file written by `graphprof calibrate -o FILE`.
    #[arg(long, value_name = "FILE")]
    pub task_overhead_file: Option<PathBuf>,
    /// The memory one worker may use, for the answer "how many chunks fit" (with a list of
    /// --chunks, or a graph file or collection's own run). Default: for real Dask the workers'
    /// own `memory_limit`; for the built-in engine its memory limit (--memory-limit or its
    /// default).
    #[arg(long, value_parser = parse_size_arg)]
    pub worker_memory: Option<u64>,
    #[command(flatten)]
    pub python: PythonArgs,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// Whether `--chunks` was given on the command line (set by [`note_given`]): with a graph
    /// file or a collection, each count runs the graph culled to its first that many outputs.
    #[arg(skip)]
    pub chunks_given: bool,
    /// A command to sample instead of a graph, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// A strategy `sample` runs: one of the rewrites, or the graph as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleStrategy {
    /// The file or collection unmodified (the seed case: `inline`, the graph as generated).
    AsGiven,
    /// A copy of each shared object embedded in every task that uses it.
    Inline,
    /// Each shared object scattered once with `broadcast=True`.
    Scatter,
    /// Each shared object built in one task the others depend on.
    Delayed,
}

impl SampleStrategy {
    /// The rewrite it stands for; `None` for `as-given`.
    pub fn rewrite(self) -> Option<Strategy> {
        match self {
            SampleStrategy::AsGiven => None,
            SampleStrategy::Inline => Some(Strategy::Inline),
            SampleStrategy::Scatter => Some(Strategy::Scatter),
            SampleStrategy::Delayed => Some(Strategy::Delayed),
        }
    }
}

/// Parses a duration argument such as `10ms`.
pub fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    graphprof::units::parse_duration(text)
}

/// One chunk count, or several (`256,1024,4096`) for a sweep of `sample`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkCounts(pub Vec<u64>);

impl ChunkCounts {
    /// The count when one was given; the first of a list otherwise.
    pub fn first(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }
}

/// Parses `--chunks`: one count or a comma-separated list of distinct counts.
pub fn parse_chunk_counts(text: &str) -> Result<ChunkCounts, String> {
    let mut counts = Vec::new();
    for part in text.split(',') {
        let count: u64 = part
            .trim()
            .parse()
            .map_err(|_| format!("`{part}` is not a chunk count (give 1024, or 256,1024,4096)"))?;
        if counts.contains(&count) {
            return Err(format!("{count} is given twice"));
        }
        counts.push(count);
    }
    Ok(ChunkCounts(counts))
}

/// Parses a size argument such as `240KiB`.
pub fn parse_size_arg(text: &str) -> Result<u64, String> {
    graphprof::units::parse_size(text).map_err(|error| error.reason)
}
