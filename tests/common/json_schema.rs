//! A small JSON Schema 2020-12 validator for the tests that hold graphprof's schemas (docs/*.schema.json)
//! against real files and real output: `$ref` (local), `type`, `const`, `enum`, `properties`,
//! `required`, `additionalProperties: false`, `items`, `prefixItems`, `minItems`, `minimum`,
//! `maximum`, `oneOf`, `anyOf`. `pattern` is accepted but not checked; any other keyword panics,
//! so a schema cannot rely on a rule that is silently not enforced here.

use serde_json::Value;
use std::path::Path;

/// Keywords that only annotate or that this validator checks.
const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "minimum",
    "maximum",
    "oneOf",
    "anyOf",
    "pattern",
];

/// `docs/NAME.schema.json`, parsed.
pub fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/{name}.schema.json"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

/// Problems of `value` against `root`, with JSON pointers; empty when it validates.
pub fn problems(root: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    validate(root, root, value, "", &mut found);
    found
}

/// Problems of `value` against `schema` (a part of `root`), with JSON pointers.
pub fn validate(root: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(rules) = schema.as_object() else {
        return;
    };
    if let Some(unknown) = rules.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        panic!("schema keyword {unknown} is not checked by tests/common/json_schema.rs");
    }
    if let Some(reference) = rules.get("$ref").and_then(Value::as_str) {
        validate(root, resolve(root, reference), value, at, problems);
    }
    if let Some(kind) = rules.get("type") {
        let ok = match kind {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .any(|n| type_matches(n.as_str().expect("type name"), value)),
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
    if let Some(options) = rules.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {options:?}"));
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
            let name = required.as_str().expect("required names are strings");
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
