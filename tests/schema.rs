//! `docs/graph.schema.json` against `docs/FORMAT.md` and the fixtures: the schema lists exactly the
//! fields the format's tables list, every valid fixture validates, and the bad fixtures whose
//! problem is structural do not. The validator is a small subset of JSON Schema 2020-12 (`$ref`,
//! `type`, `const`, `properties`, `required`, `additionalProperties: false`, `items`,
//! `prefixItems`, `minItems`, `minimum`, `maximum`, `oneOf`, `anyOf`); `pattern` is not checked.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may unwrap too

mod common;

use common::{fixture, valid_fixtures};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/graph.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("local $ref only");
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// Problems of `value` against `schema`, with JSON pointers.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(rules) = schema.as_object() else {
        return;
    };
    if let Some(reference) = rules.get("$ref").and_then(Value::as_str) {
        validate(root, resolve(root, reference), value, at, problems);
    }
    if let Some(kind) = rules.get("type") {
        let ok = match kind {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .any(|n| type_matches(n.as_str().unwrap(), value)),
            _ => panic!("bad type"),
        };
        if !ok {
            problems.push(format!("{at}: not of type {kind}"));
            return;
        }
    }
    if let Some(expected) = rules.get("const")
        && expected != value
    {
        problems.push(format!("{at}: expected {expected}, got {value}"));
    }
    if let (Some(min), Some(n)) = (rules.get("minimum").and_then(Value::as_f64), value.as_f64())
        && n < min
    {
        problems.push(format!("{at}: {n} below the minimum {min}"));
    }
    if let (Some(max), Some(n)) = (rules.get("maximum").and_then(Value::as_u64), value.as_u64())
        && n > max
    {
        problems.push(format!("{at}: {n} above the maximum {max}"));
    }
    if let (Some(max), true) = (rules.get("maximum"), value.is_f64()) {
        problems.push(format!("{at}: {value} is not an integer up to {max}"));
    }
    if let Some(object) = value.as_object() {
        let properties = rules.get("properties").and_then(Value::as_object);
        for required in rules
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                problems.push(format!("{at}: missing required {name}"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => validate(root, sub, field, &format!("{at}/{name}"), problems),
                None if rules.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{at}: unknown field {name}"))
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = rules.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            problems.push(format!("{at}: fewer than {min} items"));
        }
        let prefix = rules.get("prefixItems").and_then(Value::as_array);
        let prefix_len = prefix.map_or(0, Vec::len);
        for (i, item) in items.iter().enumerate() {
            let sub = match prefix.and_then(|p| p.get(i)) {
                Some(sub) => Some(sub),
                None if i >= prefix_len => rules.get("items"),
                None => None,
            };
            if let Some(sub) = sub {
                validate(root, sub, item, &format!("{at}/{i}"), problems);
            }
        }
    }
    for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = rules.get(keyword).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|option| {
                    let mut scratch = Vec::new();
                    validate(root, option, value, at, &mut scratch);
                    scratch.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                problems.push(format!(
                    "{at}: {passing} of the {keyword} alternatives match"
                ));
            }
        }
    }
}

fn problems_of(value: &Value) -> Vec<String> {
    let root = schema();
    let mut problems = Vec::new();
    validate(&root, &root, value, "", &mut problems);
    problems
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
