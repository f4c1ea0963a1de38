//! JSON in and out of the LLM calls, as pure conversions over `failsoft::llm`: the options (core's
//! `LlmSpec`, the names every language shares) with an error that always names the bad option,
//! and the JSON forms of attempts and breaker states.
//!
//! Both halves would serve Python and Node as well and belong in core (`LlmSpec::from_value`,
//! `Attempt::to_json`, `CircuitState::as_str`); nothing here depends on the ffi crate.

use failsoft::llm::{Attempt, CircuitState, LlmClient, LlmSpec, TargetSpec};
use failsoft::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

fn invalid(message: String) -> Error {
    Error::invalid_argument(format!("invalid LLM options: {message}"))
}

/// The error of deserializing `v` as `T`, as text.
fn probe<T: DeserializeOwned>(v: Value) -> Option<String> {
    serde_json::from_value::<T>(v).err().map(|e| e.to_string())
}

/// `fields` plus `key: value`, as an object.
fn with(fields: &[(&str, Value)], key: &str, value: &Value) -> Value {
    let mut one: Map<String, Value> = fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    one.insert(key.to_string(), value.clone());
    Value::Object(one)
}

/// serde names unknown and missing fields but not mistyped ones (`invalid type: string "3",
/// expected f64`): find the field that fails on its own (next to the required ones), so that the
/// message always names it: `targets[1].timeout_seconds: invalid type: …`.
fn locate(v: &Value, error: String) -> String {
    if error.contains("unknown field") || error.contains("missing field") {
        return error;
    }
    let Some(map) = v.as_object() else { return error };
    let no_targets = [("targets", json!([]))];
    for (k, val) in map {
        if let (true, Some(targets)) = (k == "targets", val.as_array()) {
            for (i, t) in targets.iter().enumerate() {
                let Some(e) = probe::<TargetSpec>(t.clone()) else { continue };
                if let Some(fields) = t.as_object() {
                    for (tk, tv) in fields {
                        if let Some(e) = probe::<TargetSpec>(with(&[("base_url", json!("http://x"))], tk, tv))
                        {
                            return format!("targets[{i}].{tk}: {e}");
                        }
                    }
                }
                return format!("targets[{i}]: {e}");
            }
        }
        if let Some(e) = probe::<LlmSpec>(with(&no_targets, k, val)) {
            return format!("{k}: {e}");
        }
    }
    error
}

/// Builds an LLM client from the options JSON text (core's `LlmSpec`). `InvalidArgument` for
/// text that is not a JSON object, or an unknown, missing, mistyped or invalid option, named.
pub(crate) fn llm_from_json(text: &str) -> Result<LlmClient> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not valid JSON ({e})")))?;
    if !v.is_object() {
        return Err(invalid("the options must be a JSON object".into()));
    }
    let spec: LlmSpec = serde_json::from_value(v.clone()).map_err(|e| invalid(locate(&v, e.to_string())))?;
    spec.build()
}

/// One attempt as JSON: `{"target": 0, "model": "m" | null, "error_kind": "Unavailable" | null,
/// "class": "timeout" | null, "status": 503 | null, "elapsed_ms": 1.25, "skipped": false,
/// "message": "…" | null}`; the kind by the core's name, as in the C status and prefetch JSON.
pub(crate) fn attempt_to_json(a: &Attempt) -> Value {
    json!({
        "target": a.target,
        "model": a.model,
        "error_kind": a.error_kind.map(|k| k.as_str()),
        "class": a.class.map(|c| c.as_str()),
        "status": a.status,
        "elapsed_ms": a.elapsed_ms,
        "skipped": a.skipped,
        "message": a.message,
    })
}

/// Every attempt as a JSON array, in order.
pub(crate) fn attempts_to_json(attempts: &[Attempt]) -> Value {
    Value::Array(attempts.iter().map(attempt_to_json).collect())
}

/// A breaker state's stable name: `closed`, `open`, `half_open`.
pub(crate) fn circuit_state_name(s: CircuitState) -> &'static str {
    match s {
        CircuitState::Closed => "closed",
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half_open",
    }
}
