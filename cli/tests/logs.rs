//! `RUST_LOG=trace` never shows a secret (issue 15, SPEC §4): the CLI configured with the API
//! keys, Langfuse secret key and URL password of `tests/scenarios/secrets.json` goes through a
//! successful read, a 401, a refused connection and an LLM fallback; neither its log (stderr)
//! nor what it prints (values, errors, the chat result) holds any of them in any form.

use failsoft_sim::{FaultMode, Simulator};
use serde_json::Value;
use std::process::Command;

fn scenario() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/secrets.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or_else(|| panic!("secrets.json: no {path}"))
}

/// Runs the CLI at the most verbose level; returns stdout and stderr together.
fn failsoft(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_failsoft"))
        .args(args)
        .env("RUST_LOG", "trace")
        .env_remove("LANGFUSE_PUBLIC_KEY")
        .env_remove("LANGFUSE_SECRET_KEY")
        .env_remove("OPENAI_API_KEY")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The one assertion of secrets.json: no forbidden form anywhere, every useful line present.
fn assert_no_secret_and_useful(v: &Value, captured: &str) {
    for f in v["forbidden"].as_array().unwrap() {
        assert!(
            !captured.contains(s(f, "/text")),
            "the {} form of {} leaked:\n{captured}",
            s(f, "/form"),
            s(f, "/secret")
        );
    }
    for line in v["useful_lines"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        assert!(captured.contains(line), "the log lacks {line:?}:\n{captured}");
    }
}

#[test]
fn trace_logs_and_output_hold_no_secret_through_success_401_refused_and_fallback() {
    let v = scenario();
    let sim = Simulator::start_default();
    let url = sim.url();
    let with_password =
        url.replacen("://", &format!("://{}:{}@", s(&v, "/url_user"), s(&v, "/secrets/url_password")), 1);
    let kv = format!("{with_password}/kv/{{key}}");
    let bearer = format!("Authorization: Bearer {}", s(&v, "/secrets/api_key"));
    let mut captured = String::new();

    // A successful read, with a credential header and a password in the URL.
    let out = failsoft(&["get", "greeting", "--source", "http", "--url", &kv, "--header", &bearer], &[]);
    assert!(out.contains("\"is_fallback\": false"), "{out}");
    captured += &out;

    // A 401: the simulator knows other Langfuse keys, so ours are sent and refused.
    let keys = [
        ("LANGFUSE_PUBLIC_KEY", s(&v, "/langfuse_public_key")),
        ("LANGFUSE_SECRET_KEY", s(&v, "/secrets/langfuse_secret_key")),
    ];
    let out = failsoft(&["get", s(&v, "/prompt"), "--source", "langfuse", "--url", &url], &keys);
    assert!(out.contains("401"), "{out}");
    captured += &out;

    // A refused connection, served from the fallback.
    sim.set_fault("*", FaultMode::Refused);
    let out = failsoft(
        &["get", "settings", "--source", "http", "--url", &kv, "--header", &bearer, "--fallback", "1"],
        &[],
    );
    assert!(out.contains("\"is_fallback\": true"), "{out}");
    captured += &out;
    sim.clear_faults();

    // An LLM fallback: the primary (keyed, password in its URL) answers 500, the fallback answers.
    sim.set_fault(&format!("/t/{}", s(&v, "/llm_primary")), FaultMode::Status(500));
    let primary = format!("{with_password}/t/{}/v1", s(&v, "/llm_primary"));
    let fallback = sim.openai_base_url(s(&v, "/llm_fallback"));
    let out = failsoft(
        &[
            "chat",
            "hi",
            "--json",
            "--base-url",
            &primary,
            "--model",
            "m",
            "--api-key",
            s(&v, "/secrets/api_key"),
            "--fallback-base-url",
            &fallback,
            "--fallback-api-key",
            s(&v, "/secrets/fallback_api_key"),
        ],
        &[],
    );
    assert!(out.contains("Hello from the simulator [target=b]"), "{out}");
    captured += &out;

    assert_no_secret_and_useful(&v, &captured);
    // The HTTP stack's trace lines (connections, wire dumps) never pass the bridge.
    assert!(!captured.contains(" ureq"), "{captured}");
    // failsoft's own debug lines do.
    assert!(captured.contains("[DEBUG failsoft") || captured.contains("[TRACE failsoft"), "{captured}");
}
