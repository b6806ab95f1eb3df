//! `graphprof analyze` end to end: the seed case of the issue (one Mapper embedded in 1024 tasks),
//! the scatter and delayed strategies, the warning threshold, object identity versus content
//! identity, every output format, and where the output goes.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{SEED_PAYLOAD_BYTES, analyze_json, analyze_text, fixture, generate, graphprof};
use graphprof::analyze::Analysis;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const MIB: u64 = 1 << 20;

fn seed_graph(dir: &Path, strategy: &str, chunks: u64) -> PathBuf {
    generate(
        dir,
        &format!("seed-{strategy}-{chunks}.json"),
        "map-blocks",
        &[
            "--chunks",
            &chunks.to_string(),
            "--payload-bytes",
            "240KiB",
            "--strategy",
            strategy,
        ],
    )
}

#[test]
fn the_seed_case_names_one_payload_embedded_1024_times_and_the_silent_warning() {
    let dir = tempfile::tempdir().unwrap();
    let analysis = analyze_json(&seed_graph(dir.path(), "inline", 1024), &[]);

    assert_eq!(analysis.graph.tasks, 2048);
    assert_eq!(analysis.duplicates.len(), 1, "{:#?}", analysis.duplicates);
    let mapper = &analysis.duplicates[0];
    assert_eq!(mapper.copies, 1024);
    assert_eq!(mapper.tasks, 1024);
    assert_eq!(
        mapper.objects, 1,
        "pickle shares the one object in the message"
    );
    assert_eq!(mapper.size_bytes, SEED_PAYLOAD_BYTES);
    assert_eq!(mapper.wasted_bytes, 1023 * SEED_PAYLOAD_BYTES);
    assert_eq!(mapper.wire_wasted_bytes, 0);
    assert_eq!(mapper.type_name.as_deref(), Some("Mapper"));
    assert!(mapper.digest.starts_with("blake3:") && mapper.digest.len() == 7 + 64);
    assert_eq!(mapper.layers.len(), 1);
    assert_eq!(mapper.layers[0].layer, "f");
    assert!(!mapper.example_keys.is_empty());
    assert!(
        mapper.example_keys[0].starts_with("('f-"),
        "{:?}",
        mapper.example_keys
    );
    assert_eq!(analysis.duplicated_bytes, 1023 * SEED_PAYLOAD_BYTES);

    assert!(
        analysis.sizes.wire_bytes < MIB,
        "wire {}",
        analysis.sizes.wire_bytes
    );
    assert!(
        analysis.sizes.materialised_bytes > 200 * MIB,
        "materialised {}",
        analysis.sizes.materialised_bytes
    );
    assert!(analysis.sizes.materialised_bytes >= 1024 * SEED_PAYLOAD_BYTES);

    let warning = &analysis.warning;
    assert!(!warning.fires, "{}", warning.explanation);
    assert!(warning.silent_growth, "{}", warning.explanation);
    assert_eq!(warning.wire_source, "model");
    assert_eq!(warning.threshold_bytes, 10_000_000);
    let blame = warning
        .blame
        .as_ref()
        .expect("silent growth names a payload");
    assert_eq!(blame.digest, mapper.digest);
    assert_eq!(blame.copies, 1024);
    assert!(
        warning.explanation.contains("silent"),
        "{}",
        warning.explanation
    );

    let scatter = analysis
        .strategies
        .iter()
        .find(|s| s.strategy == "scatter")
        .expect("a scatter prediction");
    assert!(scatter.saved_held_bytes > 200 * MIB as i64, "{scatter:?}");
    assert!(scatter.materialised_bytes < MIB, "{scatter:?}");
}

#[test]
fn scatter_and_delayed_graphs_have_no_duplicated_payloads() {
    let dir = tempfile::tempdir().unwrap();
    for strategy in ["scatter", "delayed"] {
        let analysis = analyze_json(&seed_graph(dir.path(), strategy, 1024), &[]);
        assert!(
            analysis.duplicates.is_empty(),
            "{strategy}: {:?}",
            analysis.duplicates
        );
        assert_eq!(analysis.duplicated_bytes, 0, "{strategy}");
        assert!(!analysis.warning.fires, "{strategy}");
        assert!(!analysis.warning.silent_growth, "{strategy}");
        assert!(analysis.warning.blame.is_none(), "{strategy}");
        assert!(analysis.sizes.materialised_bytes < MIB, "{strategy}");
    }
    let scatter = analyze_json(&fixture("seed-scatter-64.json"), &[]);
    assert_eq!(scatter.graph.data_objects, 1);
    assert_eq!(scatter.sizes.data_bytes, SEED_PAYLOAD_BYTES);
    let delayed = analyze_json(&fixture("seed-delayed-64.json"), &[]);
    assert_eq!(delayed.graph.tasks, 129);
    assert_eq!(delayed.structure.max_fan_out, 64);
}

#[test]
fn the_committed_seed_fixtures_match_the_generator() {
    let inline = analyze_json(&fixture("seed-inline-64.json"), &[]);
    assert_eq!(inline.duplicates.len(), 1);
    assert_eq!(inline.duplicates[0].copies, 64);
    assert_eq!(inline.duplicated_bytes, 63 * SEED_PAYLOAD_BYTES);
    let dir = tempfile::tempdir().unwrap();
    for strategy in ["inline", "scatter", "delayed"] {
        let fresh = std::fs::read(seed_graph(dir.path(), strategy, 64)).unwrap();
        let committed = std::fs::read(fixture(&format!("seed-{strategy}-64.json"))).unwrap();
        assert!(
            fresh == committed,
            "fixtures/seed-{strategy}-64.json is stale"
        );
    }
}

#[test]
fn a_lower_threshold_makes_the_warning_fire_and_blames_the_mapper() {
    let analysis = analyze_json(
        &fixture("seed-inline-64.json"),
        &["--warning-threshold", "100KiB"],
    );
    let warning = &analysis.warning;
    assert_eq!(warning.threshold_bytes, 100 * 1024);
    assert!(warning.fires, "{}", warning.explanation);
    assert!(!warning.silent_growth);
    let blame = warning
        .blame
        .as_ref()
        .expect("a firing warning names a payload");
    assert_eq!(blame.type_name.as_deref(), Some("Mapper"));
    assert_eq!(blame.digest, analysis.duplicates[0].digest);
    assert_eq!(
        blame.wire_bytes, SEED_PAYLOAD_BYTES,
        "one object on the wire"
    );
    assert!(warning.explanation.contains("Sending large graph"));
}

/// 256 tasks, each embedding a 240 kB payload without an object id: `distinct` gives each its own
/// digest, otherwise all share one.
fn many_payloads_graph(dir: &Path, distinct: bool) -> PathBuf {
    let tasks: Vec<serde_json::Value> = (0..256u32)
        .map(|i| {
            let digest = format!("blake3:{:064x}", if distinct { i + 1 } else { 7 });
            serde_json::json!({
                "key": ["load-ab12cd34", i],
                "function": "load",
                "args": [{"payload": {"size_bytes": 240_000, "digest": digest, "type": "ndarray"}}],
            })
        })
        .collect();
    let graph = serde_json::json!({
        "format": "graphprof-graph", "version": 1, "name": "256 payloads", "tasks": tasks,
    });
    let path = dir.join(format!("many-{distinct}.json"));
    std::fs::write(&path, serde_json::to_vec(&graph).unwrap()).unwrap();
    path
}

#[test]
fn payloads_without_object_ids_are_each_on_the_wire_and_the_warning_fires() {
    let dir = tempfile::tempdir().unwrap();
    let specs = 256 * 64;
    let payloads = 256 * 240_000;

    let distinct = analyze_json(&many_payloads_graph(dir.path(), true), &[]);
    assert_eq!(distinct.sizes.wire_bytes, payloads + specs);
    assert_eq!(distinct.sizes.materialised_bytes, payloads + specs);
    assert!(distinct.duplicates.is_empty());
    assert_eq!(distinct.graph.distinct_payloads, 256);
    assert!(distinct.warning.fires, "{}", distinct.warning.explanation);
    assert_eq!(distinct.layers[0].name, "load");

    // Equal content without object identity: duplicated, and no sharing on the wire either.
    let same = analyze_json(&many_payloads_graph(dir.path(), false), &[]);
    assert_eq!(same.sizes.wire_bytes, payloads + specs);
    assert_eq!(same.duplicates.len(), 1);
    assert_eq!(same.duplicates[0].copies, 256);
    assert_eq!(same.duplicates[0].objects, 256);
    assert_eq!(same.duplicates[0].wire_wasted_bytes, 255 * 240_000);
    assert!(same.warning.fires);
    assert_eq!(same.warning.blame.as_ref().unwrap().wire_bytes, payloads);
}

#[test]
fn content_identity_ignores_names_object_ids_and_type_labels() {
    let analysis = analyze_json(&fixture("hand-written.json"), &[]);
    assert_eq!(analysis.graph.tasks, 5);
    assert_eq!(analysis.graph.data_objects, 1);
    assert_eq!(analysis.graph.distinct_payloads, 3);
    assert_eq!(analysis.duplicates.len(), 1, "{:#?}", analysis.duplicates);
    let copy = &analysis.duplicates[0];
    assert_eq!(copy.copies, 2);
    assert_eq!(copy.objects, 2, "two object ids: two objects on the wire");
    assert_eq!(copy.size_bytes, 35);
    assert_eq!(copy.wasted_bytes, 35);
    assert_eq!(copy.wire_wasted_bytes, 35);
    assert_eq!(
        copy.type_name.as_deref(),
        Some("Mapper"),
        "the first label wins"
    );
    assert_eq!(copy.example_keys, ["('x-77ab', 0)", "('x-77ab', 1)"]);
    // The digest the loader computed from the bytes: blake3 of the decoded payload.
    let expected = blake3::hash(b"graphprof: a pickled Mapper, really").to_hex();
    assert_eq!(copy.digest, format!("blake3:{expected}"));

    // spec 100 + 64 + 64 + 64 + 64, payloads 35 (object 1) + 35 (object 2) + 34.
    assert_eq!(analysis.sizes.wire_bytes, 460);
    assert_eq!(analysis.sizes.materialised_bytes, 460);
    assert_eq!(analysis.sizes.wire_bytes_measured, Some(4096));
    assert_eq!(analysis.warning.wire_source, "measured");
    assert_eq!(analysis.warning.wire_bytes, 4096);
    assert_eq!(analysis.sizes.data_bytes, 1000);
    assert_eq!(analysis.sizes.output_bytes, 960);
    let mut layers: Vec<&str> = analysis.layers.iter().map(|l| l.name.as_str()).collect();
    layers.sort_unstable();
    assert_eq!(layers, ["load", "total", "x", "y"]);
    assert_eq!(analysis.structure.edges, 6);
    assert_eq!(analysis.structure.depth, 4);
    assert_eq!(analysis.structure.max_fan_in, 3);
    assert_eq!(analysis.structure.max_fan_in_key, "('y-12cd', 1, 'b')");
    assert_eq!(analysis.structure.leaves, 1);
    assert_eq!(analysis.structure.components, 1);
}

#[test]
fn markdown_has_the_tables() {
    let markdown = analyze_text(&fixture("seed-inline-64.json"), &["--format", "markdown"]);
    assert!(markdown.starts_with("## graphprof analysis"), "{markdown}");
    for heading in [
        "### Duplicated payloads",
        "### Strategies",
        "### Layers",
        "### Largest tasks",
    ] {
        assert!(markdown.contains(heading), "no {heading}:\n{markdown}");
    }
    assert!(
        markdown.contains("| size | bytes | what it is |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| payload | type | kind | size (pickled) | in memory | copies |"),
        "{markdown}"
    );
    assert!(markdown.contains("| --- |"), "{markdown}");
    let mapper_row = markdown
        .lines()
        .find(|line| line.starts_with("| blake3:") && line.contains("| Mapper |"))
        .expect("a row for the Mapper");
    assert!(mapper_row.contains("| 64 |"), "{mapper_row}");
    assert!(markdown.contains("SILENT GROWTH"), "{markdown}");
}

#[test]
fn the_first_screen_of_text_answers_the_questions() {
    let dir = tempfile::tempdir().unwrap();
    let path = seed_graph(dir.path(), "inline", 1024);
    let digest = analyze_json(&path, &[]).duplicates[0].digest.clone();
    let text = analyze_text(&path, &[]);
    let screen: String = text.lines().take(25).collect::<Vec<_>>().join("\n");
    assert!(screen.contains("2,048 tasks"), "{screen}");
    let wire = screen
        .lines()
        .find(|l| l.trim_start().starts_with("wire"))
        .unwrap();
    assert!(wire.contains("KiB"), "{wire}");
    let materialised = screen
        .lines()
        .find(|l| l.trim_start().starts_with("materialised"))
        .unwrap();
    assert!(materialised.contains("240 MiB"), "{materialised}");
    assert!(screen.contains("SILENT GROWTH"), "{screen}");
    assert!(screen.contains("Duplicated payloads (1"), "{screen}");
    assert!(
        screen.contains(&digest[..19]),
        "short digest {} in:\n{screen}",
        &digest[..19]
    );
    assert!(screen.contains("1,024"), "{screen}");
    assert!(screen.contains("Mapper"), "{screen}");
}

#[test]
fn output_file_is_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("analysis.json");
    std::fs::write(&report, "old report, not JSON").unwrap();
    graphprof()
        .arg("analyze")
        .arg(fixture("seed-inline-64.json"))
        .args(["--format", "json", "-o"])
        .arg(&report)
        .assert()
        .success()
        .stdout("");
    let analysis: Analysis = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(analysis.duplicates[0].copies, 64);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("analysis.json")],
        "temp files left"
    );

    // A failed analysis leaves the previous report alone.
    graphprof()
        .arg("analyze")
        .arg(fixture("bad/cycle-2.json"))
        .arg("-o")
        .arg(&report)
        .assert()
        .code(2);
    let again: Analysis = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(again, analysis);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // Like `graphprof ... | head -1`: read one line, close the pipe, let the writer hit EPIPE.
    let cases: [&[&str]; 2] = [
        &["generate", "map-blocks", "--chunks", "200000"],
        &[
            "analyze", "--chunks", "20000", "--format", "json", "--top", "20000",
        ],
    ];
    for args in cases {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_graphprof"))
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is dropped here: the pipe is closed with most of the output unwritten.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn without_a_file_analyze_runs_the_seed_case() {
    let output = graphprof()
        .args(["analyze", "--format", "json", "--chunks", "1024"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let analysis: Analysis = serde_json::from_slice(&output.stdout).unwrap();
    assert!(analysis.graph.source.starts_with("generated:"));
    assert_eq!(analysis.duplicates[0].copies, 1024);
    assert!(analysis.warning.silent_growth);
}

#[test]
fn markdown_escapes_what_comes_from_the_graph_and_lists_functions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inject.json");
    std::fs::write(
        &path,
        r#"{"format": "graphprof-graph", "version": 1, "name": "<script>x|y</script>",
            "tasks": [{"key": "a|b", "function": "f<b>"}]}"#,
    )
    .unwrap();
    let markdown = analyze_text(&path, &["--format", "markdown"]);
    assert!(
        !markdown.contains("<script>") && !markdown.contains("<b>"),
        "{markdown}"
    );
    assert!(markdown.contains("&lt;script&gt;"), "{markdown}");
    assert!(markdown.contains("### Functions"), "{markdown}");
    // Every table row still has its columns: no cell was split by a `|` from the graph.
    for line in markdown.lines().filter(|l| l.contains("a&#124;b")) {
        assert!(!line.contains("a|b"), "{line}");
    }
}

/// A huge key is shortened in the text and Markdown tables instead of padding every row and
/// the header to its width (a 50 MB key took 884 MB of memory that way).
#[test]
fn a_huge_key_is_shortened_in_human_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = format!("start-{}-end", "k".repeat(1_000_000));
    let graph = dir.path().join("big-key.json");
    let text = serde_json::json!({"format": "graphprof-graph", "version": 1, "tasks": [
        {"key": key, "function": "arange", "output_bytes": 8},
        {"key": "b", "function": "sum", "args": [{"ref": key}]}]});
    std::fs::write(&graph, text.to_string()).expect("writes");
    for format in ["text", "markdown"] {
        let output = graphprof()
            .arg("analyze")
            .arg(&graph)
            .args(["--format", format])
            .output()
            .expect("runs");
        assert!(output.status.success());
        assert!(
            output.stdout.len() < 100_000,
            "{format}: {} bytes of output for one key",
            output.stdout.len()
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("start-kkk"));
    }
}

/// `analyze -` reads the graph from standard input: the same analysis as from the file, named
/// `<stdin>`; a bad graph on stdin is one line naming `<stdin>` and the place, exit 2.
#[test]
fn analyze_reads_a_graph_from_standard_input() {
    let path = fixture("seed-scatter-64.json");
    let from_file = analyze_json(&path, &[]);
    let output = graphprof()
        .args(["analyze", "-", "--format", "json"])
        .write_stdin(std::fs::read(&path).unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let from_stdin: Analysis = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_stdin.graph.tasks, from_file.graph.tasks);
    assert_eq!(from_stdin.sizes.wire_bytes, from_file.sizes.wire_bytes);
    assert_eq!(from_stdin.strategies.len(), from_file.strategies.len());
    let output = graphprof()
        .args(["analyze", "-"])
        .write_stdin("{\"tasks\": [")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("<stdin>: line 1"), "{stderr}");
}
