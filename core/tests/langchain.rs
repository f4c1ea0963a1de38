//! Runs the shared LangChain vectors (`tests/scenarios/langchain.json`, format in
//! `tests/scenarios/README.md`) against `Prompt::langchain` / `Prompt::langchain_from_arguments`
//! on fallback prompts. The Python, Node and C suites read the same file; the Python and Node
//! suites also format the results with LangChain itself.

mod common;

use common::{case_object, check_vector_error, vector_cases};
use failsoft::langchain::{LangchainItem, LangchainPrompt};
use failsoft::prompt::fallback_prompt;
use failsoft::{ErrorKind, Prompt};
use serde_json::{json, Map, Value};

fn prompt_of(case: &Value) -> Prompt {
    let data = fallback_prompt("lc", case["prompt"].clone(), None).expect("a valid fallback prompt");
    Prompt::from_json(&data).expect("prompt JSON")
}

/// LangChain's f-string formatting, as far as the vectors use it: `{{` and `}}` are braces,
/// `{name}` is the variable's text. Panics on a variable the vectors do not give.
fn format_fstring(template: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some(stripped) = tail.strip_prefix('{') {
            let end = stripped.find('}').expect("closed variable");
            let name = &stripped[..end];
            let value = vars.get(name).unwrap_or_else(|| panic!("LangChain would miss {name:?}"));
            out.push_str(value.as_str().expect("format_variables are strings"));
            rest = &stripped[end + 1..];
        } else {
            panic!("a single `}}` in {template:?}: LangChain would refuse it");
        }
    }
    out.push_str(rest);
    out
}

/// Formats the converted prompt like LangChain and compares with `compile` for the union of the
/// call's and the format's variables (and placeholders).
fn check_formats_like_compile(name: &str, case: &Value, prompt: &Prompt, converted: &LangchainPrompt) {
    let Some(format_vars) = case.get("format_variables") else { return };
    let format_vars = format_vars.as_object().expect("format_variables is an object");
    let format_ph = case_object(case, "format_placeholders");
    let mut all_vars = case_object(case, "variables");
    all_vars.extend(format_vars.clone());
    let mut all_ph = case_object(case, "placeholders");
    all_ph.extend(format_ph.clone());
    match converted {
        LangchainPrompt::Text(t) => {
            assert_eq!(
                format_fstring(t, format_vars),
                prompt.compile(&all_vars, true).unwrap(),
                "case {name:?}"
            )
        }
        LangchainPrompt::Chat(items) => {
            let mut formatted = Vec::new();
            for item in items {
                match item {
                    LangchainItem::Message { role, content } => {
                        formatted.push(json!({"role": role, "content": format_fstring(content, format_vars)}))
                    }
                    LangchainItem::Placeholder { name } => {
                        for m in format_ph[name].as_array().expect("format placeholder given") {
                            formatted.push(json!({"role": m["role"], "content": m["content"]}));
                        }
                    }
                }
            }
            let compiled: Vec<Value> = prompt
                .compile_chat(&all_vars, &all_ph, true)
                .unwrap()
                .into_iter()
                .map(|m| json!({"role": m["role"], "content": m["content"]}))
                .collect();
            assert_eq!(formatted, compiled, "case {name:?}");
        }
    }
}

#[test]
fn shared_vectors() {
    let cases = vector_cases("langchain.json");
    assert!(cases.len() >= 15, "only {} vectors", cases.len());
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("case name");
        assert!(names.insert(name), "duplicate case {name}");
        let prompt = prompt_of(case);
        let vars = case_object(case, "variables");
        let placeholders = case_object(case, "placeholders");
        let mut arguments = vars.clone();
        arguments.extend(placeholders.clone());
        let split = prompt.langchain(&vars, &placeholders);
        let merged = prompt.langchain_from_arguments(&arguments);
        assert_eq!(split, merged, "case {name:?}: one map of arguments reads the same");
        match split {
            Ok(converted) => {
                assert!(
                    case["error"].is_null(),
                    "case {name:?}: expected {}, got {converted:?}",
                    case["error"]
                );
                assert_eq!(converted.to_json(), case["expected"], "case {name:?}");
                check_formats_like_compile(name, case, &prompt, &converted);
            }
            Err(err) => {
                assert!(!case["error"].is_null(), "case {name:?}: unexpected error {err:?}");
                check_vector_error(name, &err, &case["error"]);
                assert_eq!(err.key, "lc", "case {name:?}: the error names the prompt");
            }
        }
    }
}

#[test]
fn text_prompt_refuses_placeholders() {
    let prompt = Prompt::from_json(&fallback_prompt("t", json!("{{h}}"), None).unwrap()).unwrap();
    let ph = json!({"h": []}).as_object().unwrap().clone();
    let err = prompt.langchain(&Map::new(), &ph).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("text prompt"), "{}", err.message);
}

#[test]
fn large_prompt_converts_in_linear_time() {
    let template = "{\"a\": {{x}}} { {{ y }} ".repeat(50_000);
    let started = std::time::Instant::now();
    let out = failsoft::langchain::text(&template, &Map::new()).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out, "{{\"a\": {x}}} {{ {y} ".repeat(50_000));
}
