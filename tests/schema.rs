//! `docs/graph.schema.json` against `docs/FORMAT.md` and the fixtures: the schema lists exactly the
//! fields the format's tables list, every valid fixture validates, and the bad fixtures whose
//! problem is structural do not. The validator (tests/common/json_schema.rs) is a small subset of
//! JSON Schema 2020-12; tests/output_schemas.rs holds the schemas of graphprof's own outputs.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, json_schema, valid_fixtures};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn schema() -> Value {
    json_schema::schema("graph")
}

fn problems_of(value: &Value) -> Vec<String> {
    json_schema::problems(&schema(), value)
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The backticked names in the first column of the tables under a `## heading` of FORMAT.md.
fn format_md_fields(heading: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading}"));
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

fn schema_fields(pointer: &str) -> BTreeSet<String> {
    schema()
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("no {pointer}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_schema_lists_exactly_the_fields_of_format_md() {
    assert_eq!(
        schema()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema_fields("/properties"), format_md_fields("Top level"));
    assert_eq!(
        schema_fields("/$defs/task/properties"),
        format_md_fields("Tasks")
    );
    let mut content = schema_fields("/$defs/payload/properties");
    content.extend(schema_fields("/$defs/data/properties"));
    assert_eq!(content, format_md_fields("Payloads and data objects"));
    assert!(!schema_fields("/$defs/data/properties").contains("object_id"));
    assert_eq!(
        schema_fields("/properties/measured/properties"),
        BTreeSet::from(["wire_bytes".to_string(), "source".to_string()])
    );
}

#[test]
fn every_valid_fixture_validates() {
    let fixtures = valid_fixtures();
    assert!(fixtures.len() >= 4, "{fixtures:?}");
    for path in fixtures {
        let problems = problems_of(&read(&path));
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
    }
}

#[test]
fn structural_mistakes_do_not_validate() {
    for name in [
        "size-is-string.json",
        "key-is-number.json",
        "unknown-top-field.json",
        "unknown-task-field.json",
        "wrong-format.json",
        "version-2.json",
        "missing-tasks.json",
        "missing-function.json",
        "negative-size.json",
        "size-over-1tib.json",
        "u64-overflow.json",
        "float-size.json",
        "empty-graph.json",
        "payload-without-identity.json",
        "payload-digest-without-size.json",
        "empty-tuple-key.json",
        "tuple-key-nested.json",
        "top-level-array.json",
        "arg-both-ref-and-payload.json",
        "measured-not-number.json",
        "object-id-on-data.json",
    ] {
        let problems = problems_of(&read(&fixture(&format!("bad/{name}"))));
        assert!(
            !problems.is_empty(),
            "bad/{name} validates against the schema"
        );
    }
}
