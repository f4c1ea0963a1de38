//! Secrets configured through the options (the same JSON every door passes on) are registered
//! by the core itself, so `failsoft::logging::redact` removes them in each form
//! `tests/scenarios/secrets.json` forbids that a message could carry whole; the hex-dump forms
//! are kept out by the bridge's target filter instead (the CLI, C, Python and Node suites prove
//! that end to end).

use failsoft::llm::LlmSpec;
use failsoft::ClientSpec;
use serde_json::{json, Value};

fn scenario() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/secrets.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn secrets_from_client_and_llm_options_are_redacted_in_every_whole_form() {
    let v = scenario();
    let secret = |k: &str| v["secrets"][k].as_str().unwrap().to_owned();
    let with_password =
        format!("http://{}:{}@127.0.0.1:1", v["url_user"].as_str().unwrap(), secret("url_password"));
    let langfuse = json!({"source": {"kind": "langfuse", "base_url": "http://127.0.0.1:1",
        "public_key": v["langfuse_public_key"], "secret_key": secret("langfuse_secret_key")}});
    ClientSpec::from_json(&langfuse.to_string()).unwrap().build().unwrap();
    let http = json!({"source": {"kind": "http", "url": format!("{with_password}/kv/{{key}}")}});
    ClientSpec::from_json(&http.to_string()).unwrap().build().unwrap();
    let llm = json!({"targets": [
        {"base_url": format!("{with_password}/v1"), "api_key": secret("api_key"), "model": "m"},
        {"base_url": "http://127.0.0.1:1/v1", "api_key": secret("fallback_api_key"), "model": "m"}]});
    LlmSpec::from_json(&llm.to_string()).unwrap().build().unwrap();

    let mut checked = 0;
    for f in v["forbidden"].as_array().unwrap() {
        let (form, text) = (f["form"].as_str().unwrap(), f["text"].as_str().unwrap());
        if form.starts_with("hex_dump") {
            continue;
        }
        // Not one of the generic shapes (`sk-…`, URLs): only registration can catch it.
        let message = format!("upstream echoed ={text}= back");
        let clean = failsoft::logging::redact(&message);
        assert!(!clean.contains(text), "{form} of {}: {clean}", f["secret"]);
        assert!(clean.contains("upstream echoed"), "{clean}");
        checked += 1;
    }
    assert!(checked >= 17, "{checked}");
}

#[test]
fn error_messages_are_redacted_wherever_they_are_built() {
    let e =
        failsoft::Error::unavailable("GET https://u:hunter2-pw@h/x failed; Authorization: Bearer abcdef123");
    assert!(!e.message.contains("hunter2-pw") && !e.message.contains("abcdef123"), "{e}");
    assert!(e.message.contains("https://u:<redacted>@h/x failed"), "{e}");
}
