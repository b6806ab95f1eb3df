//! Benchmark of `graphprof analyze` on the large graph: a 1,000,000-task map-blocks graph
//! with digests (~200 MB) is generated into a temporary folder, then `graphprof analyze FILE
//! --format json -o /dev/null` (the release binary) and a bare serde_json parse of the same file
//! into `serde::de::IgnoredAny` are each run as a child process, interleaved, `--runs` times. The
//! wall time and the peak RSS of every child come from `wait4`'s rusage; medians are printed with
//! the targets (analyze <= 1.5x the bare parse, peak <= 300 MB). A benchmark, not a timed test.
//!
//! `cargo bench --bench analyze -- [--chunks N] [--runs R] [--graph FILE]`; `scripts/bench-analyze.sh`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GRAPHPROF: &str = env!("CARGO_BIN_EXE_graphprof");
const BARE_PARSE: &str = "bare-parse";
const TARGET_RATIO: f64 = 1.5;
const TARGET_PEAK_BYTES: u64 = 300_000_000;

/// One child run: wall time and peak resident set size.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    peak_rss_bytes: u64,
}

/// Runs a command to completion and measures it with `wait4`, which also reaps the child.
#[allow(clippy::zombie_processes)]
fn measure(command: &mut Command) -> Run {
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed with status {status}"
    );
    // ru_maxrss is in KiB on Linux.
    Run {
        wall,
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
    }
}

/// The child mode: parse the file and throw everything away.
fn bare_parse(path: &Path) {
    let file = File::open(path).expect("graph file opens");
    let _: serde::de::IgnoredAny =
        serde_json::from_reader(BufReader::with_capacity(1 << 20, file)).expect("valid JSON");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

struct Options {
    chunks: u64,
    runs: usize,
    graph: Option<PathBuf>,
}

fn options() -> Options {
    let mut options = Options {
        chunks: 500_000,
        runs: 3,
        graph: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--chunks" => {
                options.chunks = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--chunks N")
            }
            "--runs" => options.runs = args.next().and_then(|v| v.parse().ok()).expect("--runs R"),
            "--graph" => options.graph = args.next().map(PathBuf::from),
            _ => {} // cargo passes --bench and filters
        }
    }
    options.runs = options.runs.max(1);
    options
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(BARE_PARSE) {
        bare_parse(Path::new(&args.next().expect("bare-parse FILE")));
        return;
    }
    let options = options();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let graph = match &options.graph {
        Some(path) => path.clone(),
        None => {
            let path = dir.path().join("map-blocks.json");
            let chunks = options.chunks.to_string();
            let generated = measure(
                Command::new(GRAPHPROF)
                    .args([
                        "generate",
                        "map-blocks",
                        "--chunks",
                        &chunks,
                        "--payload-bytes",
                        "240KiB",
                        "--strategy",
                        "inline",
                        "-o",
                    ])
                    .arg(&path),
            );
            println!(
                "generated {} ({} chunks, {} tasks) in {:.2} s",
                path.display(),
                options.chunks,
                options.chunks * 2,
                generated.wall.as_secs_f64()
            );
            path
        }
    };
    let file_bytes = std::fs::metadata(&graph).expect("graph exists").len();
    println!("graph file: {:.1} MB", file_bytes as f64 / 1e6);
    let me = std::env::current_exe().expect("the bench binary's path");

    let (mut analyze, mut bare) = (Vec::new(), Vec::new());
    for run in 1..=options.runs {
        let a = measure(Command::new(GRAPHPROF).arg("analyze").arg(&graph).args([
            "--format",
            "json",
            "-o",
            "/dev/null",
        ]));
        let b = measure(Command::new(&me).arg(BARE_PARSE).arg(&graph));
        println!(
            "run {run}: analyze {:.3} s, {:.1} MB peak | bare parse {:.3} s, {:.1} MB peak",
            a.wall.as_secs_f64(),
            a.peak_rss_bytes as f64 / 1e6,
            b.wall.as_secs_f64(),
            b.peak_rss_bytes as f64 / 1e6
        );
        analyze.push(a);
        bare.push(b);
    }
    let secs = |runs: &[Run]| median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());
    let peak = |runs: &[Run]| runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0);
    let (analyze_s, bare_s) = (secs(&analyze), secs(&bare));
    let ratio = analyze_s / bare_s;
    let analyze_peak = peak(&analyze);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("median of {} runs:", options.runs);
    println!(
        "  analyze     {analyze_s:.3} s   peak {:.1} MB",
        analyze_peak as f64 / 1e6
    );
    println!(
        "  bare parse  {bare_s:.3} s   peak {:.1} MB",
        peak(&bare) as f64 / 1e6
    );
    println!(
        "  ratio {ratio:.2}x (target <= {TARGET_RATIO}x: {}); analyze peak {:.1} MB (target <= {} MB: {})",
        verdict(ratio <= TARGET_RATIO),
        analyze_peak as f64 / 1e6,
        TARGET_PEAK_BYTES / 1_000_000,
        verdict(analyze_peak <= TARGET_PEAK_BYTES)
    );
}
