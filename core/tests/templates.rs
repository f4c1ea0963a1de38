//! Runs the shared template vectors (`tests/scenarios/templates.json`, format in
//! `tests/scenarios/README.md`) against `failsoft::template`. The Python, Node and C suites read
//! the same file.

mod common;

use common::{case_object, check_vector_error, vector_cases};
use failsoft::template::{chat_variables, compile, compile_chat, variables};
use serde_json::{Map, Value};

fn run_case(case: &Value) {
    let name = case["name"].as_str().expect("case name");
    let vars = case_object(case, "variables");
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
                check_vector_error(name, &err, error);
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
        let placeholders = case_object(case, "placeholders");
        match compile_chat(messages, &vars, &placeholders, strict) {
            Ok(out) => {
                assert!(error.is_null(), "case {name:?}: expected error {error}, got Ok({out:?})");
                assert_eq!(Value::Array(out), case["expected"], "case {name:?}: compile_chat()");
            }
            Err(err) => {
                assert!(!error.is_null(), "case {name:?}: unexpected error {err:?}");
                check_vector_error(name, &err, error);
            }
        }
    }
}

#[test]
fn shared_vectors() {
    let cases = vector_cases("templates.json");
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
