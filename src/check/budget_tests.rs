//! Tests of `budget.rs`, kept beside it (it includes this file as its `tests` module).

use super::*;

fn budget_in(dir: &Path, text: &str) -> Result<Budget, String> {
    let path = dir.join("graphprof.toml");
    std::fs::write(&path, text).unwrap();
    read_budget(&path, dir).map_err(|e| e.to_string())
}

#[test]
fn sizes_as_strings_or_integers_and_later_entries_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("g")).unwrap();
    std::fs::write(dir.path().join("g/a.json"), "{}").unwrap();
    std::fs::write(dir.path().join("g/b.json"), "{}").unwrap();
    let budget = budget_in(
        dir.path(),
        "[defaults]\nmax_wire_bytes = \"240KiB\"\ntolerance_percent = 5\n\n\
         [[graph]]\nglob = \"g/*.json\"\nmax_tasks = 10\n\n\
         [[graph]]\npath = \"g/a.json\"\nmax_wire_bytes = 1000\n\
         [graph.sample.inline]\nmax_peak_bytes = \"1MiB\"\n",
    )
    .unwrap();
    let a = budget.limits_for("g/a.json");
    assert_eq!(a.max_wire_bytes.as_ref().map(|l| l.value), Some(1000));
    assert!(
        a.max_wire_bytes
            .as_ref()
            .unwrap()
            .origin
            .ends_with("graphprof.toml:9")
    );
    assert_eq!(a.max_tasks.as_ref().map(|l| l.value), Some(10));
    assert_eq!(a.tolerance(), 5.0);
    assert_eq!(
        a.sampled(Strategy::Inline, SampledFigure::Peak)
            .map(|l| l.value),
        Some(1 << 20)
    );
    let b = budget.limits_for("g/b.json");
    assert_eq!(b.max_wire_bytes.as_ref().map(|l| l.value), Some(245_760));
    assert!(b.sampled(Strategy::Inline, SampledFigure::Peak).is_none());
}

#[test]
fn errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = budget_in(dir.path(), "[defaults]\nmax_wire_bytez = 5\n").unwrap_err();
    assert!(unknown.contains("graphprof.toml: line 2"), "{unknown}");
    assert!(!unknown.contains('\n'), "{unknown}");
    let size = budget_in(dir.path(), "[defaults]\n\nmax_wire_bytes = \"5 parsecs\"\n").unwrap_err();
    assert!(
        size.contains("line 3") && size.contains("parsecs"),
        "{size}"
    );
    let glob = budget_in(dir.path(), "[[graph]]\nglob = \"nothing/*.json\"\n").unwrap_err();
    assert!(
        glob.contains("line 2") && glob.contains("matches no graph"),
        "{glob}"
    );
    let path = budget_in(dir.path(), "\n[[graph]]\npath = \"gone.json\"\n").unwrap_err();
    assert!(
        path.contains("line 3") && path.contains("does not exist"),
        "{path}"
    );
    let neither = budget_in(dir.path(), "[[graph]]\nmax_tasks = 3\n").unwrap_err();
    assert!(
        neither.contains("line 1") && neither.contains("path"),
        "{neither}"
    );
}

#[test]
fn a_bad_value_is_named_at_its_own_line_not_the_table_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "{}").unwrap();
    let tolerance = budget_in(
        dir.path(),
        "[defaults]\nmax_wire_bytes = 1\n\ntolerance_percent = -1\n",
    )
    .unwrap_err();
    assert!(
        tolerance.contains("line 4,") && tolerance.contains("tolerance_percent"),
        "{tolerance}"
    );
    let ratio = budget_in(
        dir.path(),
        "[[graph]]\npath = \"a.json\"\nmax_tasks = 3\nmax_duplication_ratio = 0.5\n",
    )
    .unwrap_err();
    assert!(
        ratio.contains("line 4,") && ratio.contains("max_duplication_ratio"),
        "{ratio}"
    );
    let both = budget_in(
        dir.path(),
        "[[graph]]\npath = \"a.json\"\nglob = \"*.json\"\n",
    )
    .unwrap_err();
    assert!(
        both.contains("line 3,") && both.contains("not both"),
        "{both}"
    );
    let floor = budget_in(dir.path(), "[defaults]\nnoise_floor_bytes = \"1KiB\"\n").unwrap();
    assert_eq!(floor.limits_for("a.json").noise_floor(), 1024);
    assert_eq!(
        Budget::none().limits_for("a.json").noise_floor(),
        DEFAULT_NOISE_FLOOR_BYTES
    );
}
