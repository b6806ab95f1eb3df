//! `graphprof sample` on real Dask with the user's own collection (`SCRIPT.py:VARIABLE`: as
//! given, then rewritten to scatter and delayed on the real graph objects), with a graph file
//! replayed with synthetic objects, and on a cluster of `dask scheduler` / `dask worker`
//! processes the test starts on 127.0.0.1 (no workers yet, reused workers, restarted workers);
//! and the collection swept by `--chunks`, culled to its first outputs by the driver.
//!
//! Nothing is mocked or skipped: the Python with dask comes from `GRAPHPROF_PYTHON`, else
//! `<repo>/.venv`. Tests that start clusters run one at a time (2 cores).

mod common;

use common::{dask_graphprof as graphprof, labelled_run as run, sample_report as report};

use common::dask_python as python;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use graphprof::report::sample_report::SampleReport;
use graphprof::report::samples_csv::read_samples_csv;

fn cluster_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn held(report: &SampleReport, label: &str) -> u64 {
    run(report, label).held_growth_bytes().expect("held")
}

/// `graphprof dask export` of the user pipeline to `graph`, then `analyze --workers 2` of it.
fn export_pipeline(graph: &Path) -> graphprof::analyze::Analysis {
    let export = graphprof(
        &["dask", "export", "fixtures/dask/user_pipeline.py:result"],
        graph,
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    common::analyze_json(graph, &["--workers", "2"])
}

/// The held figure `analyze` prints for `strategy`.
fn held_prediction(analysis: &graphprof::analyze::Analysis, strategy: &str) -> u64 {
    analysis
        .strategies
        .iter()
        .find(|s| s.strategy == strategy)
        .unwrap_or_else(|| panic!("no {strategy} row"))
        .held_bytes
}

fn labels(report: &SampleReport) -> Vec<String> {
    report.runs.iter().map(|r| r.label.clone()).collect()
}

#[test]
fn the_users_collection_runs_as_given_and_rewritten_with_equal_results() {
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let output = graphprof(
        &[
            "sample",
            "fixtures/dask/user_pipeline.py:result",
            "--engine",
            "dask",
            "--workers",
            "2",
            "--interval",
            "100ms",
            "--hold",
            "0.6s",
        ],
        out.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    println!("{stdout}");
    let report = report(out.path());
    assert_eq!(labels(&report), ["as-given", "scatter", "delayed"]);
    for run in &report.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        let dask = run.real_dask.as_ref().expect("real_dask facts");
        assert_eq!(dask.fresh_workers, Some(true), "{}", run.label);
        assert!(!dask.replay);
        assert_eq!(dask.results_compared, Some(3), "{}", run.label);
        assert_eq!(dask.results_equal, Some(true), "{}", run.label);
        let model = run
            .held_vs_model
            .as_ref()
            .expect("prediction beside the measure");
        assert_eq!(model.measured_bytes, run.held_growth_bytes().expect("held"));
        assert!(run.held_per_chunk_bytes.is_some());
    }
    let orders: Vec<Option<u32>> = report
        .runs
        .iter()
        .map(|r| r.real_dask.as_ref().and_then(|d| d.order))
        .collect();
    assert_eq!(orders, [Some(1), Some(2), Some(3)]);
    // Both culprits moved: the dict argument and the bound method (its instance).
    for label in ["scatter", "delayed"] {
        let moved = &run(&report, label).real_dask.as_ref().expect("facts").moved;
        assert_eq!(moved.len(), 2, "{label}: {moved:?}");
        assert!(moved.iter().any(|m| m.starts_with("dict ")), "{moved:?}");
        assert!(moved.iter().any(|m| m.starts_with("method ")), "{moved:?}");
    }
    let as_given = held(&report, "as-given");
    for label in ["scatter", "delayed"] {
        assert!(
            as_given >= 3 * held(&report, label),
            "as-given {as_given} vs {label} {}",
            held(&report, label)
        );
    }
    // The same labels in the table, report.json and samples.csv.
    let rows = read_samples_csv(&out.path().join("samples.csv")).expect("samples.csv");
    for label in labels(&report) {
        assert!(rows.iter().any(|r| r.label == label), "{label} not in csv");
        assert!(stdout.contains(&label));
    }
    assert!(stdout.contains("results equal to the as-given's (3 chunks compared)"));
    // Each run is compared with the held figure `analyze` prints for its strategy on the same
    // collection (one figure per quantity), not with the rewritten graph's own as-given figure.
    let analysis = export_pipeline(&out.path().join("user_pipeline.graph.json"));
    for run in &report.runs {
        let want = held_prediction(&analysis, &run.label);
        let beside = run
            .held_vs_model
            .as_ref()
            .expect("prediction")
            .predicted_bytes;
        // Two exports of one script size the outputs' results apart by a few bytes.
        assert!(
            beside.abs_diff(want) <= want / 100,
            "{}: sample compared with {beside}, analyze predicts {want}",
            run.label
        );
    }
}

/// A dask.delayed chain (64 `score` calls, each carrying the script's 50,000-float `table` by
/// value, then `plus`, then one `sum`): only the sum is held, and the worker that holds it keeps
/// the run_specs of the released ancestors it ran, one table per `score`; the other worker keeps
/// nothing. Scattered, the specs embed no table. The report reads back typed and validates.
#[test]
fn held_layers_of_a_delayed_chain_are_measured_on_the_holders_worker() {
    const TABLE_BYTES: u64 = 50_000 * 8;
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let output = graphprof(
        &[
            "sample",
            "fixtures/dask/chain_pipeline.py:result",
            "--engine",
            "dask",
            "--strategy",
            "as-given",
            "--strategy",
            "scatter",
            "--workers",
            "2",
            "--interval",
            "100ms",
            "--hold",
            "0.6s",
        ],
        out.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    println!("{stdout}");
    assert!(stdout.contains("Held per layer"), "{stdout}");
    let value: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("report.json")).expect("report.json"),
    )
    .expect("json");
    let problems =
        common::json_schema::problems(&common::json_schema::schema("sample-report"), &value);
    assert!(problems.is_empty(), "{problems:#?}");
    let report = report(out.path());
    let layers = |label: &str| {
        run(&report, label)
            .real_dask
            .as_ref()
            .expect("real-Dask facts")
            .held_layers
            .clone()
    };
    let layer = |label: &str, name: &str| {
        layers(label)
            .into_iter()
            .find(|l| l.layer == name)
            .unwrap_or_else(|| panic!("{label}: no layer {name}: {:#?}", layers(label)))
    };
    for label in ["as-given", "scatter"] {
        let sum = layer(label, "sum");
        let held = sum.measured.expect("measured");
        assert_eq!(
            (held.tasks_in_memory, held.released_kept),
            (1, 0),
            "{label}"
        );
        assert_eq!(sum.per_worker.len(), 1);
        let holder = sum.per_worker[0].worker;
        assert!(holder.is_some());
        // Released ancestors are kept only where the result is held.
        for name in ["score", "plus"] {
            let kept = layer(label, name);
            let figures = kept.measured.expect("measured");
            assert_eq!(figures.tasks_in_memory, 0, "{label} {name}");
            assert!(
                (1..=64).contains(&figures.released_kept),
                "{label} {name}: {figures:?}"
            );
            assert!(
                kept.per_worker.iter().all(|w| w.worker == holder),
                "{kept:?}"
            );
            assert!(kept.predicted.is_some(), "{label} {name}: no prediction");
        }
    }
    let score = layer("as-given", "score").measured.expect("measured");
    assert!(
        score.run_spec_bytes >= score.released_kept * TABLE_BYTES,
        "{score:?}: one table of {TABLE_BYTES} B per kept score"
    );
    let scattered = layer("scatter", "score").measured.expect("measured");
    assert!(
        scattered.run_spec_bytes < scattered.released_kept * 16 * 1024,
        "{scattered:?}"
    );
    let predicted = layer("as-given", "score").predicted.expect("predicted");
    assert!(predicted.run_spec_bytes > 8 * TABLE_BYTES, "{predicted:?}");
}

#[test]
fn a_graph_file_replays_on_real_dask_with_synthetic_objects() {
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let output = graphprof(
        &[
            "sample",
            "fixtures/seed-inline-64.json",
            "--engine",
            "dask",
            "--workers",
            "2",
            "--interval",
            "100ms",
            "--hold",
            "0.6s",
        ],
        out.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{stdout}");
    let report = report(out.path());
    assert_eq!(labels(&report), ["as-given", "scatter", "delayed"]);
    for run in &report.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        assert!(run.real_dask.as_ref().is_some_and(|d| d.replay));
    }
    assert!(stdout.contains("a replay of the graph file with synthetic objects"));
    // 64 tasks each deserialise their own copy of the one 240 KiB object.
    let as_given = held(&report, "as-given");
    assert!(as_given > 64 * 200 * 1024, "as-given held {as_given}");
    assert!(as_given >= 3 * held(&report, "scatter"));
    let model = run(&report, "as-given")
        .held_vs_model
        .clone()
        .expect("model");
    assert!(
        model.error_percent.abs() < 35.0,
        "replayed held {} vs predicted {}",
        model.measured_bytes,
        model.predicted_bytes
    );
}

/// A fix sampled alone (`--strategy delayed`, no as-given run) is still compared with the figure
/// `analyze` prints for that strategy on the file (a collection's export: 13.8 MB for the user
/// pipeline's `dask.delayed(obj)`), not with the rewritten graph's own as-given one (2.3 MB).
#[test]
fn a_fix_sampled_alone_is_compared_with_analyzes_figure_for_it() {
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let graph = out.path().join("pipeline.graph.json");
    let analysis = export_pipeline(&graph);
    let sampled = out.path().join("sampled");
    let graph_arg = graph.to_str().expect("a UTF-8 temp path");
    let output = graphprof(
        &[
            "sample",
            graph_arg,
            "--engine",
            "dask",
            "--workers",
            "2",
            "--strategy",
            "delayed",
            "--hold",
            "0.3s",
        ],
        &sampled,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&sampled);
    assert_eq!(labels(&report), ["delayed"]);
    let beside = run(&report, "delayed")
        .held_vs_model
        .as_ref()
        .expect("prediction");
    assert_eq!(
        beside.predicted_bytes,
        held_prediction(&analysis, "delayed")
    );
    assert!(!beside.lower_bound);
}

/// `dask scheduler` and `dask worker` processes on 127.0.0.1, killed on drop.
struct DaskProcesses {
    folder: tempfile::TempDir,
    children: Vec<Child>,
}

impl DaskProcesses {
    fn scheduler() -> (DaskProcesses, String) {
        let folder = tempfile::tempdir().expect("temp dir");
        let file = folder.path().join("scheduler.json");
        let child = Command::new(python())
            .args([
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
            ])
            .args([
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dask scheduler starts");
        let processes = DaskProcesses {
            folder,
            children: vec![child],
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(address) = info["address"].as_str()
            {
                return (processes, address.to_string());
            }
            assert!(Instant::now() < deadline, "the scheduler wrote no file");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn add_worker(&mut self) {
        let child = Command::new(python())
            .args(["-m", "distributed.cli.dask_worker", "--nthreads", "1"])
            .args(["--host", "127.0.0.1", "--dashboard-address", ":0"])
            .arg("--scheduler-file")
            .arg(self.folder.path().join("scheduler.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dask worker starts");
        self.children.push(child);
    }
}

impl Drop for DaskProcesses {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for child in self.children.iter_mut().rev() {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_cluster_of_dask_processes_without_workers_then_reused_then_restarted() {
    let _cluster = cluster_lock();
    let (mut cluster, address) = DaskProcesses::scheduler();
    let out = tempfile::tempdir().expect("temp dir");
    let seed = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "sample",
            "--engine",
            "dask",
            "--scheduler",
            address.as_str(),
            "--chunks",
            "32",
            "--interval",
            "200ms",
            "--hold",
            "0.6s",
            "--timeout",
            "4s",
        ];
        args.extend_from_slice(extra);
        graphprof(&args, out)
    };
    // No worker: one clear line and exit 2 once the timeout has passed, not a hang.
    let started = Instant::now();
    let output = seed(&["--strategy", "scatter"], out.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has no workers after 4 s"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));

    cluster.add_worker();
    cluster.add_worker();
    let output = seed(
        &["--strategy", "scatter", "--strategy", "scatter"],
        out.path(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reused = report(out.path());
    assert_eq!(labels(&reused), ["scatter", "scatter#2"]);
    for run in &reused.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        let fresh = run.real_dask.as_ref().and_then(|d| d.fresh_workers);
        assert_eq!(fresh, Some(false), "{}", run.label);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("workers reused from the previous run"),
        "{stdout}"
    );

    let again = tempfile::tempdir().expect("temp dir");
    let output = seed(&["--strategy", "inline", "--restart-workers"], again.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restarted = report(again.path());
    let fresh = restarted.runs[0]
        .real_dask
        .as_ref()
        .and_then(|d| d.fresh_workers);
    assert_eq!(fresh, Some(true));
}

/// `sample user_pipeline.py:result --chunks 12,48`: each count runs the user's real collection
/// (48 partitions) culled to its first 12 and 48 outputs, as given and scattered, on fresh
/// workers; the driver runs exactly the outputs graphprof chose, the results stay equal, as-given
/// holds more with more outputs, and its slope (the dict and the bound method's weights in every
/// task) is far above scatter's.
#[test]
fn the_users_collection_sweeps_its_first_outputs_on_real_dask() {
    let _cluster = cluster_lock();
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let output = graphprof(
        &[
            "sample",
            "fixtures/dask/user_pipeline.py:result",
            "--engine",
            "dask",
            "--chunks",
            "12,48",
            "--strategy",
            "as-given",
            "--strategy",
            "scatter",
            "--workers",
            "2",
            "--interval",
            "100ms",
            "--hold",
            "0.5s",
        ],
        out.path(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    println!("{stdout}\n(took {:.0} s)", started.elapsed().as_secs_f64());
    let report = report(out.path());
    assert_eq!(
        labels(&report),
        ["as-given@12", "scatter@12", "as-given@48", "scatter@48"]
    );
    for run in &report.runs {
        assert!(run.complete, "{}: {:?}", run.label, run.error);
        let chunks = run.chunks.expect("chunks");
        let dask = run.real_dask.as_ref().expect("real_dask facts");
        let culled = dask.culled.as_ref().expect("the driver says what it ran");
        assert_eq!((culled.outputs, culled.of), (chunks, 48), "{}", run.label);
        assert_eq!(culled.matched_by, "keys", "{}", run.label);
        assert_eq!(dask.fresh_workers, Some(true), "{}", run.label);
        assert_eq!(dask.results_equal, Some(true), "{}", run.label);
        assert_eq!(dask.results_compared, Some(3), "{}", run.label);
    }
    // Culled to fewer outputs, fewer tasks are sent.
    let tasks = |label: &str| {
        let dask = run(&report, label).real_dask.as_ref().expect("facts");
        dask.culled.as_ref().expect("culled").tasks
    };
    assert!(tasks("as-given@12") < tasks("as-given@48"));
    assert!(
        held(&report, "as-given@12") < held(&report, "as-given@48"),
        "{stdout}"
    );
    let sweep = report.sweep.as_ref().expect("a sweep");
    assert_eq!(sweep.chunks, vec![12, 48]);
    assert_eq!(sweep.outputs_of, Some(48));
    assert_eq!(
        sweep.swept.as_deref(),
        Some("fixtures/dask/user_pipeline.py:result, first 12/48 of 48 outputs")
    );
    let slope = |label: &str| {
        let fit = sweep
            .fits
            .iter()
            .find(|fit| fit.label == label)
            .expect("a fit");
        assert_eq!(fit.method, "least squares", "{label}");
        assert_eq!(fit.points.len(), 2, "{label}");
        fit.slope_bytes_per_chunk.expect("a slope")
    };
    let (given, scattered) = (slope("as-given"), slope("scatter"));
    // ~2.2 MiB per chunk as given (measured), against tens of KiB scattered.
    assert!(given > 1.0e6, "{given}");
    assert!(given > 10.0 * scattered.max(1.0), "{given} vs {scattered}");
    assert!(
        stdout.contains("ran the first 12 of the collection's 48 outputs"),
        "{stdout}"
    );
}
