//! Runs tests/scenarios/llm.json: the LLM fault scenarios every language runs.

use failsoft::llm::{client_from_value, CallSpec, ChatError};
use failsoft_sim::{Fault, Simulator};
use serde_json::{json, Value};
use std::time::Instant;

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/llm.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a scenario's call came to, in the names llm.json uses.
#[derive(Default, Debug)]
struct Outcome {
    text: String,
    served_by: Option<usize>,
    restarts: u32,
    classes: Vec<Value>,
    error: Option<(String, String)>,
}

fn classes(attempts: &[failsoft::llm::Attempt]) -> Vec<Value> {
    attempts.iter().map(|a| json!(a.class.map(|c| c.as_str()))).collect()
}

fn failed(e: ChatError) -> Outcome {
    Outcome {
        classes: classes(&e.attempts),
        error: Some((e.error.kind.as_str().to_string(), e.error.message.clone())),
        ..Outcome::default()
    }
}

fn run(sim: &Simulator, scenario: &Value) -> Result<Outcome, failsoft::Error> {
    let key = "sk-scenario-key";
    let mut spec = json!({
        "base_url": sim.openai_base_url("primary"), "api_key": key,
        "fallback_client": {"base_url": sim.openai_base_url("fallback"), "api_key": key},
        "fallback": scenario.get("fallback").cloned().unwrap_or(json!({"model": "m"})),
    });
    if let Some(o) = scenario["options"].as_object() {
        spec.as_object_mut().unwrap().extend(o.clone());
    }
    let client = client_from_value(spec)?;
    let request = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    if scenario["stream"] != json!(true) {
        return Ok(match client.chat(&request) {
            Ok(r) => Outcome {
                text: r.completion["choices"][0]["message"]["content"].as_str().unwrap_or_default().into(),
                served_by: Some(r.served_by.index),
                classes: classes(&r.attempts),
                ..Outcome::default()
            },
            Err(e) => failed(e),
        });
    }
    let call = CallSpec::from_value(scenario.get("call").cloned().unwrap_or(json!({})))?.options()?;
    let mut s = match client.chat_stream_with(&request, call) {
        Ok(s) => s,
        Err(e) => return Ok(failed(e)),
    };
    let mut out = Outcome::default();
    while let Some(item) = s.next() {
        match item {
            Ok(chunk) => {
                if s.is_restart() {
                    out.text.clear();
                }
                if let Some(t) = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                    out.text.push_str(t);
                }
            }
            Err(e) => out.error = Some((e.kind.as_str().to_string(), e.message.clone())),
        }
    }
    out.served_by = Some(s.served_by().index);
    out.restarts = s.restarts();
    out.classes = classes(s.attempts());
    Ok(out)
}

#[test]
fn llm_scenarios() {
    let file = load();
    for scenario in file["scenarios"].as_array().unwrap() {
        let name = scenario["name"].as_str().unwrap();
        let sim = Simulator::start(file["fixture"].clone());
        if let Some(reply) = scenario["reply"].as_str() {
            sim.set_openai_reply(reply);
        }
        for f in scenario["faults"].as_array().into_iter().flatten() {
            let (route, fault) = Fault::from_json(f).unwrap();
            sim.set_fault(&route, fault);
        }
        let expect = &scenario["expect"];
        let start = Instant::now();
        let outcome = run(&sim, scenario);
        let took = start.elapsed();
        if let Some(field) = expect["invalid_option"].as_str() {
            let e = outcome.expect_err(name);
            assert_eq!(e.kind, failsoft::ErrorKind::InvalidArgument, "{name}");
            assert!(e.message.contains(field), "{name}: {e}");
            continue;
        }
        let o = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(max) = scenario["max_ms"].as_f64() {
            assert!(took.as_secs_f64() * 1000.0 <= max, "{name}: took {took:?}");
        }
        match (expect["error_kind"].as_str(), &o.error) {
            (Some(kind), Some((got, message))) => {
                assert_eq!(got, kind, "{name}: {message}");
                let want = expect["error_contains"].as_str().unwrap_or_default();
                assert!(message.contains(want), "{name}: {message}");
            }
            (None, None) => {}
            (want, got) => panic!("{name}: error {got:?}, want {want:?}"),
        }
        if let Some(text) = expect["text"].as_str() {
            assert_eq!(o.text, text, "{name}");
        }
        if let Some(start) = expect["text_starts_with"].as_str() {
            assert!(o.text.starts_with(start), "{name}: {}", o.text);
        }
        if let Some(end) = expect["text_ends_with"].as_str() {
            assert!(o.text.ends_with(end), "{name}: {}", o.text);
        }
        if let Some(i) = expect["served_by"].as_u64() {
            assert_eq!(o.served_by, Some(i as usize), "{name}");
        }
        if let Some(n) = expect["restarts"].as_u64() {
            assert_eq!(o.restarts as u64, n, "{name}");
        }
        if let Some(c) = expect["classes"].as_array() {
            assert_eq!(&o.classes, c, "{name}");
        }
        for (target, n) in expect["hits"].as_object().into_iter().flatten() {
            let got = sim.request_count(&format!("/t/{target}/v1/chat/completions"));
            assert_eq!(json!(got), *n, "{name}: hits on {target}");
        }
    }
}
