//! Real Dask, for real: the export of real collections read back through `graphprof analyze`,
//! and the sampling driver on a real 2-worker LocalCluster through `graphprof::dask::run_driver`.
//!
//! Nothing is skipped: the Python with dask comes from `GRAPHPROF_PYTHON`, else `<repo>/.venv`;
//! without it every test fails saying how to make it. Tests that start a cluster take a lock and
//! run one at a time (2 cores). Figures are printed (`cargo test --test dask -- --nocapture`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use graphprof::analyze::Analysis;
use graphprof::dask::{DaskError, DaskRun, DaskSampleOptions, DriverEvent, run_driver};
use graphprof::graph::Strategy;
use graphprof::report::samples_csv::read_samples_csv;
use graphprof::sample::series::{Measure, Phase, Series};

const PAYLOAD_BYTES: u64 = 240 * 1024;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with the pinned dask; fails (never skips) when there is none.
fn python() -> PathBuf {
    let python = match std::env::var_os("GRAPHPROF_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "no Python with dask at {}: from the repository root run \
         `python3 -m venv .venv && .venv/bin/pip install -r python/requirements.txt` \
         (or set GRAPHPROF_PYTHON)",
        python.display()
    );
    python
}

fn graphprof(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphprof"))
        .args(args)
        .current_dir(repo())
        .env("GRAPHPROF_PYTHON", python())
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("graphprof runs")
}

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Clusters are started one at a time.
fn cluster_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
}

/// `graphprof dask export` then `graphprof analyze --format json`, read back.
fn export_and_analyze(script: &str, name: &str, chunks: Option<u64>, wire: bool) -> Analysis {
    let graph = scratch().path().join(format!("{name}.json"));
    let mut args = vec![
        os("dask"),
        os("export"),
        os(script),
        os("-o"),
        graph.as_os_str(),
    ];
    if wire {
        args.push(os("--measure-wire"));
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_graphprof"));
    command
        .args(&args)
        .current_dir(repo())
        .env("GRAPHPROF_PYTHON", python());
    if let Some(chunks) = chunks {
        command.env("CHUNKS", chunks.to_string());
    }
    let output = command.output().expect("graphprof runs");
    assert!(
        output.status.success(),
        "export failed: {}",
        stderr_of(&output)
    );
    assert!(output.stdout.is_empty());
    let output = graphprof(&[os("analyze"), graph.as_os_str(), os("--format"), os("json")]);
    assert!(
        output.status.success(),
        "analyze refused the export: {}",
        stderr_of(&output)
    );
    serde_json::from_slice(&output.stdout).expect("the analysis reads back")
}

/// One export of the seed pipeline per chunk count, shared by the tests.
fn seed_analysis(chunks: u64) -> &'static Analysis {
    static CACHE: OnceLock<Mutex<Vec<(u64, &'static Analysis)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, analysis)) = cache.iter().find(|(c, _)| *c == chunks) {
        return analysis;
    }
    let analysis = Box::leak(Box::new(export_and_analyze(
        "fixtures/dask/seed_pipeline.py:result",
        &format!("seed-{chunks}"),
        Some(chunks),
        true,
    )));
    cache.push((chunks, analysis));
    analysis
}

#[test]
fn seed_export_finds_the_mapper_and_agrees_with_distributed_on_the_wire() {
    for chunks in [64, 256] {
        let analysis = seed_analysis(chunks);
        assert_eq!(analysis.duplicates.len(), 1, "{:#?}", analysis.duplicates);
        let mapper = &analysis.duplicates[0];
        assert_eq!(mapper.type_name.as_deref(), Some("Mapper"));
        assert_eq!(mapper.copies, chunks);
        assert_eq!(mapper.objects, 1, "one Python object, pickled once");
        assert!(
            (200_000..280_000).contains(&mapper.size_bytes),
            "{}",
            mapper.size_bytes
        );
        let model = analysis.sizes.wire_bytes;
        let measured = analysis
            .sizes
            .wire_bytes_measured
            .expect("--measure-wire records distributed's figure");
        let error = (model as f64 - measured as f64) / measured as f64;
        println!(
            "wire, {chunks} chunks: graphprof model {model} B, distributed {measured} B, {:+.2}%",
            error * 100.0
        );
        assert!(error.abs() <= 0.10, "{model} vs {measured}");
        assert!(!analysis.warning.fires);
        assert!(
            analysis.warning.silent_growth,
            "{}",
            analysis.warning.explanation
        );
        assert!(analysis.sizes.materialised_bytes >= chunks * mapper.size_bytes);
        // The leaves of an exported graph are aliases of the fused tasks that embed the Mapper:
        // those copies are held with the results (as on real Dask), and scattering saves them.
        let held = |strategy: &str| {
            analysis
                .strategies
                .iter()
                .find(|s| s.strategy == strategy)
                .expect("strategy row")
        };
        assert!(held("as-given").held_bytes >= chunks * mapper.size_bytes);
        assert!(held("scatter").saved_held_bytes >= ((chunks - 4) * mapper.size_bytes) as i64);
        assert!(held("delayed").saved_held_bytes > ((chunks - 1) * mapper.size_bytes) as i64);
    }
    // The message grows by the per-task framing only; materialised bytes by a Mapper per chunk.
    let (small, large) = (seed_analysis(64), seed_analysis(256));
    let wire_growth = large.sizes.wire_bytes - small.sizes.wire_bytes;
    assert!(wire_growth < 192 * 1024, "{wire_growth}");
    let materialised_growth = large.sizes.materialised_bytes - small.sizes.materialised_bytes;
    assert!(materialised_growth > 192 * 200_000, "{materialised_growth}");
}

#[test]
fn export_works_on_a_dataframe_groupby_and_an_array_reduction() {
    let groupby = export_and_analyze(
        "fixtures/dask/groupby_pipeline.py:result",
        "groupby",
        None,
        false,
    );
    assert!(groupby.graph.tasks >= 8, "{:?}", groupby.graph);
    assert!(
        groupby.duplicates.is_empty(),
        "each partition is its own data"
    );
    assert!(groupby.graph.distinct_payloads >= 8, "{:?}", groupby.graph);
    let reduction = export_and_analyze(
        "fixtures/dask/reduction_pipeline.py:result",
        "reduction",
        None,
        true,
    );
    assert!(reduction.graph.tasks > 100, "{:?}", reduction.graph);
    assert!(reduction.structure.edges >= 100);
    assert!(reduction.sizes.wire_bytes_measured.is_some());
}

#[test]
fn a_missing_python_says_what_to_install() {
    let output = graphprof(&[
        os("dask"),
        os("export"),
        os("fixtures/dask/reduction_pipeline.py:result"),
        os("-o"),
        scratch().path().join("never.json").as_os_str(),
        os("--python"),
        os("/nonexistent/python3"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/python3"), "{stderr}");
    assert!(
        stderr.contains("pip install")
            && stderr.contains("'dask>=")
            && stderr.contains("'distributed>=")
            && !stderr.contains("=="),
        "{stderr}"
    );

    let options = DaskSampleOptions {
        python: "/nonexistent/python3".into(),
        ..DaskSampleOptions::default()
    };
    let error = run_driver(&options, &mut |_| {}).expect_err("no python");
    assert!(matches!(error, DaskError::PythonNotFound { .. }), "{error}");
}

#[test]
fn a_python_without_dask_gets_the_pip_command() {
    // The venv's Python without its site-packages (-S): the standard library only.
    let dir = tempfile::tempdir().expect("temp dir");
    let text = dir.path().join("python-without-dask.txt");
    std::fs::write(
        &text,
        format!("#!/bin/sh\nexec '{}' -S \"$@\"\n", python().display()),
    )
    .expect("writes");
    // Copied by another process: this multi-threaded test process never holds a write handle
    // on the executable, which a concurrent fork could inherit (exec would fail, ETXTBSY).
    let bare = dir.path().join("python-without-dask");
    let copied = Command::new("cp")
        .arg(&text)
        .arg(&bare)
        .status()
        .expect("cp runs");
    assert!(copied.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bare, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let output = graphprof(&[
        os("dask"),
        os("export"),
        os("fixtures/dask/reduction_pipeline.py:result"),
        os("-o"),
        dir.path().join("g.json").as_os_str(),
        os("--python"),
        bare.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("dask") && stderr.contains("-m pip install 'dask>="),
        "{stderr}"
    );

    let options = DaskSampleOptions {
        python: bare.into_os_string(),
        ..DaskSampleOptions::default()
    };
    match run_driver(&options, &mut |_| {}) {
        Err(DaskError::MissingDependency { pip, .. }) => {
            assert!(pip.contains("-m pip install 'dask>="), "{pip}")
        }
        other => panic!("expected a missing dependency, got {other:?}"),
    }
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_loopback_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

#[test]
fn an_unreachable_scheduler_fails_within_the_timeout() {
    let scheduler = format!("tcp://127.0.0.1:{}", closed_loopback_port());
    let started = Instant::now();
    let output = graphprof(&[
        os("dask"),
        os("export"),
        os("fixtures/dask/reduction_pipeline.py:result"),
        os("-o"),
        scratch().path().join("unreachable.json").as_os_str(),
        os("--measure-wire"),
        os("--scheduler"),
        os(&scheduler),
        os("--timeout"),
        os("2s"),
    ]);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot reach the Dask scheduler") && stderr.contains(&scheduler),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");

    let options = DaskSampleOptions {
        python: python().into_os_string(),
        strategies: vec![Strategy::Inline],
        scheduler: Some(scheduler.clone()),
        timeout: Duration::from_secs(2),
        ..DaskSampleOptions::default()
    };
    let started = Instant::now();
    let error = run_driver(&options, &mut |_| {}).expect_err("unreachable");
    assert!(started.elapsed() < Duration::from_secs(30));
    let text = error.to_string();
    assert!(matches!(error, DaskError::Unreachable { .. }), "{text}");
    assert!(text.contains(&scheduler) && !text.contains('\n'), "{text}");
}

fn seed_run(chunks: u64, sink: &Path) -> (DaskRun, Vec<DriverEvent>) {
    let options = DaskSampleOptions {
        python: python().into_os_string(),
        strategies: vec![Strategy::Inline, Strategy::Scatter],
        chunks,
        payload_bytes: PAYLOAD_BYTES,
        workers: 2,
        interval: Duration::from_millis(50),
        hold: Duration::from_millis(1500),
        run_timeout: Some(Duration::from_secs(120)),
        sink: Some(sink.to_path_buf()),
        ..DaskSampleOptions::default()
    };
    let mut events = Vec::new();
    let started = Instant::now();
    let run = run_driver(&options, &mut |event| {
        if !matches!(event, DriverEvent::Sample { .. }) {
            events.push(event.clone());
        }
    })
    .expect("the driver runs");
    println!(
        "driver, {chunks} chunks: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (run, events)
}

/// Median of the summed worker RSS during the held phase, minus the baseline before submit.
fn held_growth(series: &Series) -> (f64, f64) {
    let (start, end) = series.phase_span(Phase::Held).expect("a held phase");
    let mut held: Vec<u64> = series
        .points(Measure::Rss, None)
        .into_iter()
        .filter(|(t, _)| *t >= start && *t <= end)
        .map(|(_, b)| b)
        .collect();
    assert!(!held.is_empty(), "no held readings");
    held.sort_unstable();
    let held = held[held.len() / 2] as f64;
    let baseline = series.baseline(Measure::Rss, None).expect("baseline") as f64;
    (held, held - baseline)
}

#[test]
fn driver_inline_grows_with_the_chunks_and_scatter_does_not() {
    let _lock = cluster_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut levels = Vec::new();
    for chunks in [128u64, 512] {
        let sink = dir.path().join(format!("live-{chunks}.csv"));
        let (run, events) = seed_run(chunks, &sink);
        assert!(run.complete(), "{:#?}", run.labels);
        assert!(!run.interrupted && !run.timed_out);
        assert_eq!(run.workers.len(), 2);
        assert!(run.local_cluster);
        let versions = run.versions.as_ref().expect("hello");
        assert_eq!(versions.dask, "2026.8.0");
        // 50 ms is under the heartbeat, but rss moves at every interval and the scheduler's
        // figures are read when a heartbeat brings them: no warning.
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        assert!(
            run.workers
                .iter()
                .all(|w| w.memory_limit.is_some_and(|m| m > 100 << 20)),
            "the LocalCluster's memory_limit: {:?}",
            run.workers
        );
        assert_eq!(run.series.len(), 2);
        for (series, label) in run.series.iter().zip(&run.labels) {
            assert!(series.complete);
            assert_eq!(series.label, label.label);
            let wire = label.wire_bytes.expect("distributed's wire figure");
            assert!(!label.warning_fired);
            for measure in [Measure::Rss, Measure::DaskProcess, Measure::DaskManaged] {
                assert_eq!(series.workers(measure), vec![0, 1], "{measure}");
                assert!(!series.points(measure, None).is_empty(), "summed {measure}");
            }
            let phases: Vec<Phase> = series.phases.iter().map(|m| m.phase).collect();
            assert_eq!(
                phases,
                [Phase::Submit, Phase::Compute, Phase::Held, Phase::Released]
            );
            assert_eq!(label.tasks, Some(chunks));
            assert!(label.wall_time_s.is_some_and(|t| t > 1.0), "{label:?}");
            assert!(events.iter().any(|e| matches!(e,
                DriverEvent::Progress { label: l, done, total }
                    if *l == label.label && done == total && *total == chunks)));
            println!("  {} wire {wire} B", label.label);
        }
        let inline = held_growth(&run.series[0]);
        let scatter = held_growth(&run.series[1]);
        println!(
            "  held rss (2 workers): inline {:.1} MB (+{:.1} MB over baseline), scatter {:.1} MB (+{:.1} MB)",
            inline.0 / 1e6,
            inline.1 / 1e6,
            scatter.0 / 1e6,
            scatter.1 / 1e6
        );
        // Inline's wire holds one Mapper more than scatter's, at any chunk count.
        let wire_gap = run.labels[0].wire_bytes.unwrap_or(0) as f64
            - run.labels[1].wire_bytes.unwrap_or(0) as f64;
        assert!(wire_gap > 0.8 * PAYLOAD_BYTES as f64, "{wire_gap}");
        // The sink has the samples already.
        let path = run.sink.as_ref().expect("sink");
        let rows = read_samples_csv(path).expect("the sink reads back");
        let in_memory: usize = run.series.iter().map(|s| s.samples.len()).sum();
        assert_eq!(rows.len(), in_memory);
        levels.push((chunks, inline, scatter));
    }
    let (c0, inline0, scatter0) = levels[0];
    let (c1, inline1, scatter1) = levels[1];
    let per_chunk = |a: f64, b: f64| (b - a) / (c1 - c0) as f64;
    let inline_slope = per_chunk(inline0.1, inline1.1);
    let scatter_slope = per_chunk(scatter0.1, scatter1.1);
    println!(
        "slopes per chunk (held - baseline, 2 workers): inline {:.0} B, scatter {:.0} B; \
         absolute held: inline {:.0} B, scatter {:.0} B; payload {PAYLOAD_BYTES} B",
        inline_slope,
        scatter_slope,
        per_chunk(inline0.0, inline1.0),
        per_chunk(scatter0.0, scatter1.0)
    );
    assert!(
        inline_slope > 3.0 * scatter_slope.max(0.0),
        "inline {inline_slope} vs scatter {scatter_slope}"
    );
    let payload = PAYLOAD_BYTES as f64;
    assert!(
        inline_slope > 0.5 * payload && inline_slope < 3.0 * payload,
        "inline slope {inline_slope} vs payload {payload}"
    );
}

#[test]
fn interrupting_tears_the_cluster_down_and_keeps_the_samples() {
    let _lock = cluster_lock();
    let interrupt = Arc::new(AtomicBool::new(false));
    let options = DaskSampleOptions {
        python: python().into_os_string(),
        strategies: vec![Strategy::Inline, Strategy::Scatter],
        chunks: 64,
        interval: Duration::from_millis(100),
        hold: Duration::from_secs(30),
        interrupt: Some(Arc::clone(&interrupt)),
        ..DaskSampleOptions::default()
    };
    let mut pids = Vec::new();
    let started = Instant::now();
    let run = run_driver(&options, &mut |event| match event {
        DriverEvent::Hello { pid, .. } => pids.push(*pid),
        DriverEvent::Workers { workers, .. } => pids.extend(workers.iter().filter_map(|w| w.pid)),
        DriverEvent::Phase {
            phase: Phase::Held, ..
        } => interrupt.store(true, Ordering::SeqCst),
        _ => {}
    })
    .expect("an interrupted run returns its samples");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(run.interrupted);
    assert_eq!(run.exit_code, Some(130));
    assert_eq!(pids.len(), 3, "driver and two workers");
    assert_eq!(run.labels.len(), 2);
    assert!(!run.labels[0].complete && !run.labels[1].complete);
    assert_eq!(run.series.len(), 1);
    assert!(!run.series[0].samples.is_empty());
    // The driver closed its LocalCluster: no worker process is left.
    let deadline = Instant::now() + Duration::from_secs(10);
    let alive = |pid: &u32| Path::new(&format!("/proc/{pid}")).exists();
    while pids.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left: Vec<&u32> = pids.iter().filter(|p| alive(p)).collect();
    assert!(left.is_empty(), "processes left running: {left:?}");
}

#[test]
fn sample_engine_dask_writes_the_report_csv_and_plots_with_per_worker_series() {
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let output = graphprof(&[
        os("sample"),
        os("--engine"),
        os("dask"),
        os("--strategy"),
        os("inline"),
        os("--strategy"),
        os("scatter"),
        os("--chunks"),
        os("128"),
        os("--workers"),
        os("2"),
        os("--interval"),
        os("100ms"),
        os("--hold"),
        os("0.6s"),
        os("-o"),
        out.path().as_os_str(),
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = std::fs::read_to_string(out.path().join("report.json")).expect("report.json");
    let report: graphprof::report::sample_report::SampleReport =
        serde_json::from_str(&text).expect("typed report");
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["inline", "scatter"]);
    for run in &report.runs {
        assert_eq!(run.engine, "dask");
        assert!(run.complete, "{:?}", run.error);
        assert_eq!(run.dask_warning_fired, Some(false));
        for worker in [Some(0), Some(1), None] {
            assert!(
                run.measures
                    .iter()
                    .any(|m| m.measure == Measure::Rss && m.worker == worker),
                "{} lacks rss for {worker:?}",
                run.label
            );
        }
        assert!(
            run.measures
                .iter()
                .any(|m| m.measure == Measure::DaskManaged)
        );
    }
    // Inline's held worker RSS exceeds scatter's by most of 128 copies of 240 KiB (30 MiB).
    let held = |label: &str| {
        let run = report.runs.iter().find(|r| r.label == label).expect("run");
        let rss = run.whole(Measure::Rss).expect("rss");
        rss.held_bytes.expect("held") as f64 - rss.baseline_bytes.expect("baseline") as f64
    };
    assert!(
        held("inline") > held("scatter") + 15.0 * 1024.0 * 1024.0,
        "inline {} scatter {}",
        held("inline"),
        held("scatter")
    );
    held_layers_of_the_seed_case(&report, 128);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        stdout.contains("Held per layer while the results were held"),
        "{stdout}"
    );
    assert!(stdout.contains("arange-lookup"), "{stdout}");
    let rows = read_samples_csv(&out.path().join("samples.csv")).expect("samples.csv");
    assert!(
        rows.iter()
            .any(|r| r.sample.measure == Measure::Rss && r.sample.worker == Some(1))
    );
    for file in ["memory.png", "memory.svg", "dask-managed.svg"] {
        let meta = std::fs::metadata(out.path().join(file)).expect(file);
        assert!(meta.len() > 1000, "{file} is {} bytes", meta.len());
    }
}

/// What the workers held per layer in the seed case (report.json's `held_layers`, measured on the
/// workers): `chunks` results of 8,000 B held as `lookup`; inline's fused `arange-lookup` tasks
/// released but keeping their run_specs, each with its own Mapper (pickled 244,860 B, its Series
/// of 30,532 int64 as much in memory); scatter's specs embed no Mapper.
fn held_layers_of_the_seed_case(
    report: &graphprof::report::sample_report::SampleReport,
    chunks: u64,
) {
    use graphprof::report::sample_layers::LayerHeld;
    const MAPPER_PICKLED_BYTES: u64 = 244_860;
    let layers = |label: &str| -> &Vec<LayerHeld> {
        let run = report.runs.iter().find(|r| r.label == label).expect("run");
        &run.real_dask.as_ref().expect("real-Dask facts").held_layers
    };
    let layer = |label: &str, name: &str| {
        layers(label)
            .iter()
            .find(|l| l.layer == name)
            .unwrap_or_else(|| panic!("{label}: no layer {name} in {:#?}", layers(label)))
            .clone()
    };
    let run_specs = |label: &str| -> u64 {
        layers(label)
            .iter()
            .filter_map(|l| l.measured)
            .map(|m| m.run_spec_bytes)
            .sum()
    };
    for label in ["inline", "scatter"] {
        let held = layer(label, "lookup").measured.expect("measured");
        assert_eq!(held.tasks_in_memory, chunks, "{label}");
        assert_eq!(held.results_bytes, chunks * 8000, "{label}");
        for layer in layers(label).iter().filter(|l| l.measured.is_some()) {
            // The sum over workers is the sum of the per-worker figures.
            let per_worker: u64 = layer
                .per_worker
                .iter()
                .map(|w| w.measured.run_spec_bytes)
                .sum();
            assert_eq!(Some(per_worker), layer.measured.map(|m| m.run_spec_bytes));
            assert!(
                layer
                    .per_worker
                    .iter()
                    .all(|w| matches!(w.worker, Some(0 | 1)))
            );
        }
        // The prediction of the graph that ran sits beside the measure (the generated graph
        // names its layers `f` and `arange`).
        assert!(
            layers(label).iter().any(|l| l.predicted.is_some()),
            "{label}: {:#?}",
            layers(label)
        );
    }
    let fused = layer("inline", "arange-lookup").measured.expect("measured");
    assert_eq!(fused.released_kept, chunks);
    assert_eq!(fused.tasks_in_memory, 0);
    assert!(
        fused.estimated,
        "one Mapper measured for the group of alike Mappers"
    );
    assert!(
        fused.run_spec_bytes >= chunks * MAPPER_PICKLED_BYTES,
        "{} B of run_specs for {chunks} Mappers of {MAPPER_PICKLED_BYTES} B",
        fused.run_spec_bytes
    );
    assert!(
        run_specs("scatter") * 20 < run_specs("inline"),
        "scatter {} inline {}",
        run_specs("scatter"),
        run_specs("inline")
    );
}

/// A LocalCluster in its own Python process, standing in for a user's existing cluster: its
/// workers do not have graphprof's Python package. Closed on drop.
struct ExistingCluster {
    process: std::process::Child,
    address: String,
}

impl ExistingCluster {
    fn start() -> ExistingCluster {
        const SCRIPT: &str = "
import signal, sys, time
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       host='127.0.0.1', dashboard_address=None)
print(cluster.scheduler_address, flush=True)
def stop(*_):
    cluster.close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.2)
";
        let mut process = Command::new(python())
            .args(["-c", SCRIPT])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python starts");
        let stdout = process.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("address line");
        let address = line.trim().to_string();
        assert!(address.starts_with("tcp://127.0.0.1:"), "{address:?}");
        ExistingCluster { process, address }
    }

    fn workers(&self) -> String {
        let probe = format!(
            "from distributed import Client\nwith Client('{}', timeout=20) as c:\n    print(len(c.scheduler_info()['workers']))",
            self.address
        );
        let output = Command::new(python())
            .args(["-c", &probe])
            .output()
            .expect("probe runs");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for ExistingCluster {
    fn drop(&mut self) {
        // SIGTERM lets the cluster close its workers; then make sure.
        unsafe { libc::kill(self.process.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn sample_uses_an_existing_scheduler_and_leaves_it_running() {
    let _cluster = cluster_lock();
    let cluster = ExistingCluster::start();
    let out = tempfile::tempdir().expect("temp dir");
    let output = graphprof(&[
        os("sample"),
        os("--engine"),
        os("dask"),
        os("--scheduler"),
        os(&cluster.address),
        os("--strategy"),
        os("scatter"),
        os("--strategy"),
        os("inline"),
        os("--chunks"),
        os("64"),
        os("--interval"),
        os("200ms"),
        os("--hold"),
        os("1.2s"),
        os("-o"),
        out.path().as_os_str(),
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = std::fs::read_to_string(out.path().join("report.json")).expect("report.json");
    let report: graphprof::report::sample_report::SampleReport =
        serde_json::from_str(&text).expect("typed report");
    assert_eq!(report.runs.len(), 2);
    for run in &report.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        // On a cluster graphprof did not start, the scheduler's view is what there is.
        assert!(
            run.measures
                .iter()
                .any(|m| m.measure == Measure::DaskProcess && m.worker == Some(1)),
            "{} lacks per-worker dask_process",
            run.label
        );
        // The per-layer probe runs on workers that import graphprof from the shipped package.
        let layers = &run.real_dask.as_ref().expect("real-Dask facts").held_layers;
        assert!(
            layers.iter().any(|l| l.layer == "lookup"
                && l.measured.is_some_and(|m| m.tasks_in_memory == 64)),
            "{}: {layers:#?}",
            run.label
        );
    }
    assert_eq!(cluster.workers(), "2", "the cluster was not left running");
}
