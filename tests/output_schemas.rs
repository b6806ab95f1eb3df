//! The schemas of every JSON graphprof writes, held against real output of the binary: the analysis
//! (`analyze --format json`, docs/analysis.schema.json), sample's report.json
//! (docs/sample-report.schema.json), check's JSON report (docs/check.schema.json), diff's JSON
//! (docs/diff.schema.json) and baselines (docs/baseline.schema.json). The schemas are closed and list
//! every field as required, so an output that gains, loses or retypes a field without its schema
//! fails here. The validator is tests/common/json_schema.rs.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, graphprof, json_schema, valid_fixtures};
use serde_json::Value;
use std::fs;
use std::path::Path;

/// The schemas of graphprof's outputs, by file name under docs/.
const OUTPUTS: [&str; 5] = ["analysis", "sample-report", "check", "diff", "baseline"];

/// Fields that a closed object may omit: (schema, JSON pointer to the object's schema, field).
const OPTIONAL: &[(&str, &str, &str)] = &[
    ("sample-report", "/properties/runs/items", "real_dask"),
    ("sample-report", "/properties/runs/items", "chunks"),
    ("sample-report", "", "sweep"),
    ("sample-report", "/properties/sweep", "swept"),
    ("sample-report", "/properties/sweep", "outputs_of"),
    (
        "sample-report",
        "/properties/runs/items/properties/real_dask",
        "culled",
    ),
    (
        "sample-report",
        "/properties/runs/items/properties/real_dask",
        "replicas_dropped",
    ),
    ("baseline", "/properties/graphs/items", "sampled"),
    (
        "baseline",
        "/properties/graphs/items/properties/sampled",
        "inline",
    ),
    (
        "baseline",
        "/properties/graphs/items/properties/sampled",
        "scatter",
    ),
    (
        "baseline",
        "/properties/graphs/items/properties/sampled",
        "delayed",
    ),
];

/// Asserts that `value` validates against docs/`name`.schema.json.
fn assert_valid(name: &str, value: &Value, what: &str) {
    let problems = json_schema::problems(&json_schema::schema(name), value);
    assert!(
        problems.is_empty(),
        "{what} does not match docs/{name}.schema.json: {problems:#?}"
    );
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap_or_else(|e| {
        panic!("{}: {e}", path.display());
    })
}

fn stdout_json(args: &[&str]) -> Value {
    let output = graphprof().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "graphprof {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every object schema in `value`, with its JSON pointer.
fn object_schemas<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") {
                out.push((at.clone(), value));
            }
            for (key, sub) in map {
                object_schemas(sub, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                object_schemas(sub, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_output_schema_is_closed_and_requires_its_fields() {
    for name in OUTPUTS {
        let schema = json_schema::schema(name);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let mut objects = Vec::new();
        object_schemas(&schema, String::new(), &mut objects);
        assert!(objects.len() >= 3, "{name}: {}", objects.len());
        for (at, object) in objects {
            assert_eq!(
                object["additionalProperties"],
                Value::Bool(false),
                "{name}{at} is open"
            );
            let required: Vec<&str> = object["required"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}{at} has no required list"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            for field in object["properties"].as_object().unwrap().keys() {
                let optional = OPTIONAL.contains(&(name, at.as_str(), field.as_str()));
                assert_eq!(
                    required.contains(&field.as_str()),
                    !optional,
                    "{name}{at}: field {field} (listed optional: {optional})"
                );
            }
        }
    }
}

#[test]
fn analysis_json_of_every_fixture_matches_its_schema() {
    let mut files = valid_fixtures();
    files.push(fixture("check/graphs/map-blocks-inline.json"));
    files.push(fixture("check/graphs/map-blocks-scatter.json"));
    for path in files {
        let path = path.to_str().unwrap();
        let analysis = stdout_json(&["analyze", path, "--format", "json"]);
        assert_valid("analysis", &analysis, path);
        // Strict: an unknown field or a missing one is refused.
        let mut extra = analysis.clone();
        extra["sizes"]["surprise_bytes"] = Value::from(1);
        assert!(!json_schema::problems(&json_schema::schema("analysis"), &extra).is_empty());
        let mut missing = analysis;
        missing["graph"].as_object_mut().unwrap().remove("tasks");
        assert!(!json_schema::problems(&json_schema::schema("analysis"), &missing).is_empty());
    }
}

#[test]
fn diff_json_matches_its_schema() {
    let analysis = stdout_json(&[
        "analyze",
        fixture("check/graphs/map-blocks-inline.json")
            .to_str()
            .unwrap(),
        "--format",
        "json",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("analysis.json");
    fs::write(&report, analysis.to_string()).unwrap();
    let pairs = [
        (
            fixture("check/graphs/map-blocks-inline.json"),
            fixture("check/regressed/map-blocks-inline.json"),
        ),
        (
            fixture("seed-inline-64.json"),
            fixture("seed-scatter-64.json"),
        ),
        (report, fixture("check/regressed/map-blocks-inline.json")),
    ];
    for (old, new) in pairs {
        let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
        let diff = stdout_json(&["diff", old, new, "--format", "json"]);
        assert_valid("diff", &diff, &format!("diff {old} {new}"));
    }
}

/// A folder laid out for `check`: two graphs and a regressed one, a budget with an exact and a
/// sampled limit, and a scripted probe standing in for the sampled memory.
fn check_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let graphs = dir.path().join("g");
    fs::create_dir(&graphs).unwrap();
    for name in ["map-blocks-inline.json", "map-blocks-scatter.json"] {
        fs::copy(fixture(&format!("check/graphs/{name}")), graphs.join(name)).unwrap();
    }
    fs::copy(
        fixture("check/regressed/map-blocks-inline.json"),
        graphs.join("regressed.json"),
    )
    .unwrap();
    fs::write(
        dir.path().join("budget.toml"),
        "[defaults]\nmax_duplication_ratio = 3.0\n[[graph]]\nglob = \"g/*.json\"\n\
         max_wire_bytes = \"5KiB\"\n[graph.sample.inline]\nmax_peak_bytes = \"10MiB\"\n",
    )
    .unwrap();
    let run = |peak: u64| {
        format!(
            "{{\"peak_bytes\": {peak}, \"held_bytes\": {}, \"after_release_bytes\": 1000}}",
            peak / 2
        )
    };
    fs::write(
        dir.path().join("probe.json"),
        format!(
            "{{\"inline\": [{}, {}, {}], \"scatter\": [{}]}}",
            run(10_000_000),
            run(12_000_000),
            run(11_000_000),
            run(50_000)
        ),
    )
    .unwrap();
    dir
}

fn check(dir: &Path, sampled: bool, args: &[&str]) -> std::process::Output {
    let mut command = graphprof();
    command.current_dir(dir).arg("check").args(args);
    if sampled {
        command
            .env("GRAPHPROF_SCRIPTED_PROBE", dir.join("probe.json"))
            .args(["--sample", "--repeat", "3"])
            .args(["--strategy", "inline", "--strategy", "scatter"]);
    } else {
        command.env_remove("GRAPHPROF_SCRIPTED_PROBE");
    }
    command.output().unwrap()
}

#[test]
fn baselines_and_check_reports_match_their_schemas() {
    for sampled in [false, true] {
        let dir = check_folder();
        let graphs = ["g/map-blocks-inline.json", "g/map-blocks-scatter.json"];
        let update = check(
            dir.path(),
            sampled,
            &[
                &graphs[..],
                &["--baseline", "base.json", "--update-baseline"],
            ]
            .concat(),
        );
        assert_eq!(update.status.code(), Some(0), "{update:?}");
        let baseline = read(&dir.path().join("base.json"));
        assert_eq!(
            baseline["graphs"][0].get("sampled").is_some(),
            sampled,
            "{baseline}"
        );
        assert_valid(
            "baseline",
            &baseline,
            &format!("baseline (sampled {sampled})"),
        );

        let passing = check(
            dir.path(),
            sampled,
            &[
                &graphs[..],
                &["--baseline", "base.json", "--json", "ok.json"],
            ]
            .concat(),
        );
        assert_eq!(passing.status.code(), Some(0), "{passing:?}");
        let report = read(&dir.path().join("ok.json"));
        assert_eq!(report["passed"], Value::Bool(true));
        assert_valid(
            "check",
            &report,
            &format!("passing check (sampled {sampled})"),
        );

        // Failing: the inline graph regresses (a new duplicated payload), a graph is not in the
        // baseline, and with the budget some limits are exceeded.
        fs::copy(
            dir.path().join("g/regressed.json"),
            dir.path().join("g/map-blocks-inline.json"),
        )
        .unwrap();
        let everything = [
            "g/map-blocks-inline.json",
            "g/map-blocks-scatter.json",
            "g/regressed.json",
        ];
        for extra in [&["--budget", "budget.toml"][..], &[][..]] {
            let args = [
                &everything[..],
                &["--baseline", "base.json", "--json", "check.json"],
                extra,
            ]
            .concat();
            let output = check(dir.path(), sampled, &args);
            assert_eq!(output.status.code(), Some(1), "{output:?}");
            let report = read(&dir.path().join("check.json"));
            assert_eq!(report["passed"], Value::Bool(false));
            assert_valid(
                "check",
                &report,
                &format!("check {args:?} (sampled {sampled})"),
            );
        }
    }
    // The committed baseline too.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/baseline.json");
    assert_valid("baseline", &read(&committed), "reports/baseline.json");
}

fn sample(args: &[&str]) -> (Value, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let output = graphprof()
        .arg("sample")
        .arg("-o")
        .arg(dir.path())
        .args(["--interval", "5ms"])
        .args(args)
        .output()
        .unwrap();
    (read(&dir.path().join("report.json")), output)
}

#[test]
fn sample_reports_match_their_schema() {
    let (seed, output) = sample(&[
        "--chunks",
        "4",
        "--payload-bytes",
        "64KiB",
        "--workers",
        "2",
        "--hold",
        "0.05s",
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(seed["runs"].as_array().unwrap().len(), 3);
    assert_valid("sample-report", &seed, "the seed case");

    let (swept, output) = sample(&[
        "--chunks",
        "4,8",
        "--payload-bytes",
        "64KiB",
        "--workers",
        "2",
        "--hold",
        "0.05s",
        "--worker-memory",
        "1GiB",
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(swept["sweep"]["fits"].as_array().unwrap().len(), 3);
    assert!(swept["runs"][0]["chunks"].is_u64(), "{swept}");
    assert_valid("sample-report", &swept, "a sweep");

    let graph = fixture("hand-written.json");
    let (file, output) = sample(&[graph.to_str().unwrap(), "--hold", "0.05s"]);
    assert!(output.status.success(), "{output:?}");
    assert_valid("sample-report", &file, "a graph file");

    let (failed, output) = sample(&["--", "sh", "-c", "sleep 0.05; exit 3"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(failed["runs"][0]["error"].is_string(), "{failed}");
    assert_valid("sample-report", &failed, "a failing command");
}
