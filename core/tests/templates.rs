//! Runs the shared template vectors (`tests/scenarios/templates.json`, format in
//! `tests/scenarios/README.md`) against `failsoft::template`. The Python, Node and C suites read
//! the same file.

use failsoft::template::{chat_variables, compile, compile_chat, variables};
use failsoft::{Error, ErrorKind};
use serde_json::{Map, Value};

fn load() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/templates.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    doc["cases"].as_array().expect("`cases` is an array").clone()
}

fn object(case: &Value, key: &str) -> Map<String, Value> {
    match case.get(key) {
        None | Some(Value::Null) => Map::new(),
        Some(v) => v.as_object().unwrap_or_else(|| panic!("{key} must be an object")).clone(),
    }
}

fn check_error(name: &str, err: &Error, expected: &Value) {
    let kind = expected["kind"].as_str().expect("error.kind");
    assert_eq!(err.kind.as_str(), kind, "case {name:?}: kind of {err:?}");
    assert_eq!(err.kind, ErrorKind::InvalidArgument, "case {name:?}");
    for needle in expected["contains"].as_array().expect("error.contains") {
        let needle = needle.as_str().expect("error.contains holds strings");
        assert!(err.message.contains(needle), "case {name:?}: message {:?} lacks {needle:?}", err.message);
    }
}

fn run_case(case: &Value) {
    let name = case["name"].as_str().expect("case name");
    let vars = object(case, "variables");
    let strict = case["strict"].as_bool().unwrap_or_else(|| panic!("case {name:?}: strict must be a bool"));
    let error = &case["error"];

    if let Some(template) = case.get("template") {
        let template = template.as_str().unwrap_or_else(|| panic!("case {name:?}: template is a string"));
        if let Some(used) = case.get("variables_used") {
            let used: Vec<String> = serde_json::from_value(used.clone()).expect("variables_used");
            assert_eq!(variables(template), used, "case {name:?}: variables()");
        }
        match compile(template, &vars, strict) {
            Ok(out) => {
                assert!(error.is_null(), "case {name:?}: expected error {error}, got Ok({out:?})");
                assert_eq!(Value::String(out), case["expected"], "case {name:?}: compile()");
            }
            Err(err) => {
                assert!(!error.is_null(), "case {name:?}: unexpected error {err:?}");
                check_error(name, &err, error);
            }
        }
    } else {
        let messages = case["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("case {name:?}: needs `template` or `messages` array"));
        if let Some(used) = case.get("variables_used") {
            let used: Vec<String> = serde_json::from_value(used.clone()).expect("variables_used");
            assert_eq!(chat_variables(messages), used, "case {name:?}: chat_variables()");
        }
        let placeholders = object(case, "placeholders");
        match compile_chat(messages, &vars, &placeholders, strict) {
            Ok(out) => {
                assert!(error.is_null(), "case {name:?}: expected error {error}, got Ok({out:?})");
                assert_eq!(Value::Array(out), case["expected"], "case {name:?}: compile_chat()");
            }
            Err(err) => {
                assert!(!error.is_null(), "case {name:?}: unexpected error {err:?}");
                check_error(name, &err, error);
            }
        }
    }
}

#[test]
fn shared_vectors() {
    let cases = load();
    assert!(cases.len() >= 40, "only {} vectors", cases.len());
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(names.insert(case["name"].as_str().expect("case name")), "duplicate case {}", case["name"]);
        run_case(case);
    }
}

#[test]
fn compile_is_deterministic_for_strict_errors() {
    let vars = Map::new();
    let a = compile("{{z}} {{a}} {{m}}", &vars, true).unwrap_err();
    let b = compile("{{z}} {{a}} {{m}}", &vars, true).unwrap_err();
    assert_eq!(a, b);
    assert_eq!(a.message, "missing template variables: z, a, m");
}

#[test]
fn large_template_is_fast() {
    let mut vars = Map::new();
    vars.insert("x".into(), Value::String("y".into()));
    let template = "a {{x}} {{ missing }} { {{".repeat(50_000);
    let started = std::time::Instant::now();
    let out = compile(&template, &vars, false).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.len(), template.len() - 50_000 * 4);
}
