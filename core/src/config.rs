//! Typed configuration on top of a [`Client`] (SPEC §7), used by every binding: the fallback
//! object declares the fields, seeds a config the backend does not have yet (Opik
//! `get_or_create_config`), and is served when the backend cannot answer. A value from the
//! backend (fresh, stale or snapshot) must carry every declared field: a missing one is an
//! `InvalidResponse` error naming every missing field, never filled from the fallback.
//!
//! # Values stored as JSON text
//!
//! Opik has no list or object type: its SDK stores them as JSON text of type `string` (and so
//! does failsoft when it creates a config). When a declared field is a list (object) in the
//! fallback and the backend holds a string that parses as a list (object), the read returns the
//! parsed JSON, so the value has the fallback's shape in every language. Nothing else is coerced:
//! checking types is the binding's job (Python validates its annotations, Node its inferred type).

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::key::{Key, Qualifier};
use crate::options::{Fallback, ReadOptions};
use crate::value::Value;
use serde_json::{Map, Value as Json};
use std::sync::Arc;
use std::time::Duration;

/// The cache key of an Opik config: `project` (empty: the source's project), and at most one of
/// `env` and `version`. No env and no version is [`Qualifier::Default`] (env `prod`, created from
/// the fallback when the project has no config at all); `version` `"latest"` is
/// [`Qualifier::Latest`] (also created when empty); a version `"3"` or `"v3"` is
/// [`Qualifier::Named`]`("v3")`; an env is [`Qualifier::Env`] (never created, even `prod`, as in
/// Opik's SDK).
pub fn config_key(project: &str, env: Option<&str>, version: Option<&str>) -> Result<Key> {
    let qualifier = match (env, version) {
        (Some(e), Some(v)) => {
            return Err(Error::invalid_argument(format!(
                "give an env or a version, not both (env {e:?}, version {v:?})"
            ))
            .with_key(project))
        }
        (Some(""), None) | (None, Some("")) => {
            return Err(Error::invalid_argument("the env or version must not be empty").with_key(project))
        }
        (Some(e), None) => Qualifier::Env(e.to_string()),
        (None, Some("latest")) => Qualifier::Latest,
        (None, Some(v)) if v.bytes().all(|b| b.is_ascii_digit()) => Qualifier::Named(format!("v{v}")),
        (None, Some(v)) => Qualifier::Named(v.to_string()),
        (None, None) => Qualifier::Default,
    };
    Ok(Key::with(project, qualifier))
}

/// Options of one config read.
#[derive(Clone, Debug)]
pub struct ConfigOptions {
    /// Overrides the client's TTL for this read.
    pub ttl: Option<Duration>,
    /// Overrides the client's cold deadline for this read.
    pub cold_deadline: Option<Duration>,
    /// Create the config from the fallback when the backend has none at all. true.
    pub create: bool,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions { ttl: None, cold_deadline: None, create: true }
    }
}

/// The fields declared in `fallback` that `data` lacks, in the order of the fallback's keys
/// (sorted: `serde_json` maps keep their keys sorted). Data that is not an object lacks every field.
pub fn missing_fields(fallback: &Map<String, Json>, data: &Json) -> Vec<String> {
    let obj = data.as_object();
    fallback.keys().filter(|k| !obj.is_some_and(|o| o.contains_key(k.as_str()))).cloned().collect()
}

/// `InvalidResponse` naming every field of `fallback` missing from a backend value; `Ok` for a
/// fallback value.
pub fn check_fields(key: &Key, fallback: &Map<String, Json>, value: &Value) -> Result<()> {
    if value.is_fallback() {
        return Ok(());
    }
    if !value.data().is_object() {
        return Err(Error::invalid_response(format!("config {key} is not a JSON object")).with_key(key));
    }
    let missing = missing_fields(fallback, value.data());
    if missing.is_empty() {
        return Ok(());
    }
    let version = value.version().map(|v| format!(" (version {v})")).unwrap_or_default();
    Err(Error::invalid_response(format!(
        "config {key}{version} is missing field{} declared in the fallback: {}",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", ")
    ))
    .with_key(key))
}

/// The data with JSON-text strings parsed where the fallback declares a list or an object
/// (see the module documentation); `None` when nothing changes.
pub fn coerce_json_text(fallback: &Map<String, Json>, data: &Json) -> Option<Json> {
    let obj = data.as_object()?;
    let mut out: Option<Map<String, Json>> = None;
    for (k, declared) in fallback {
        let Some(Json::String(text)) = obj.get(k) else { continue };
        if !(declared.is_array() || declared.is_object()) {
            continue;
        }
        match serde_json::from_str::<Json>(text) {
            Ok(parsed)
                if parsed.is_array() == declared.is_array() && parsed.is_object() == declared.is_object() =>
            {
                out.get_or_insert_with(|| obj.clone()).insert(k.clone(), parsed);
            }
            _ => {}
        }
    }
    out.map(Json::Object)
}

/// Reads a config declared by `fallback` (SPEC §7): creates it from the fallback when the source
/// has none at all (`opts.create`, Opik semantics: only for the default env or `latest`, never
/// over an existing config), serves the fallback when the backend cannot answer, and checks that
/// a value from the backend carries every declared field.
///
/// Errors: `InvalidArgument` for a key the source cannot serve; `NotFound` when the config does
/// not exist and was not created (an explicit env or version that is missing, a project whose
/// configs have no `prod` tag, `create` off), because a fallback covers an unreachable or failing
/// backend, not a config that is not there, as in Opik's SDK; `InvalidResponse` naming every
/// declared field a backend value lacks. Any other failure serves the fallback, with the error.
pub fn get_or_create_config(
    client: &Client,
    key: &Key,
    fallback: &Map<String, Json>,
    opts: ConfigOptions,
) -> Result<Value> {
    let seed = Json::Object(fallback.clone());
    let read = ReadOptions {
        ttl: opts.ttl,
        cold_deadline: opts.cold_deadline,
        create_from: opts.create.then(|| seed.clone()),
        fallback: Some(Fallback::Value(seed)),
    };
    let value = client.get_with(key, read)?;
    if value.is_fallback() {
        // The fallback stands in for a backend that cannot answer, not for a config that does not
        // exist where one was asked for (Opik raises ConfigNotFound there too).
        if let Some(e) = value.error.as_ref().filter(|e| e.kind == ErrorKind::NotFound) {
            return Err(Error::clone(e));
        }
        return Ok(value);
    }
    let value = match coerce_json_text(fallback, value.data()) {
        Some(data) => {
            let payload = value.payload.with_data(data);
            Value { payload: Arc::new(payload), source: value.source, error: value.error.clone() }
        }
        None => value,
    };
    check_fields(key, fallback, &value)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keys() {
        assert_eq!(config_key("p", None, None).unwrap().qualifier, Qualifier::Default);
        assert_eq!(config_key("p", Some("prod"), None).unwrap().qualifier, Qualifier::Env("prod".into()));
        assert_eq!(config_key("p", None, Some("3")).unwrap().qualifier, Qualifier::Named("v3".into()));
        assert_eq!(config_key("p", None, Some("v3")).unwrap().qualifier, Qualifier::Named("v3".into()));
        assert_eq!(config_key("p", None, Some("latest")).unwrap().qualifier, Qualifier::Latest);
        assert!(config_key("p", Some("a"), Some("v1")).is_err());
    }

    #[test]
    fn missing_and_coerced() {
        let fb = obj(json!({"a": 1, "b": [1], "c": {"x": 1}, "d": "s"}));
        assert_eq!(missing_fields(&fb, &json!({"a": 2, "c": "{}"})), vec!["b", "d"]);
        let coerced = coerce_json_text(&fb, &json!({"a": 2, "b": "[3]", "c": "[1]", "d": "[1]"})).unwrap();
        assert_eq!(coerced, json!({"a": 2, "b": [3], "c": "[1]", "d": "[1]"}));
        assert!(coerce_json_text(&fb, &json!({"a": 2})).is_none());
    }
}
