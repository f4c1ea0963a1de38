//! Typed configuration on top of a [`Client`] (SPEC §7), used by every binding: the fallback
//! object declares the fields, seeds a config the backend does not have yet (Opik
//! `get_or_create_config`), and is served when the backend cannot answer. A value from the
//! backend (fresh, stale or snapshot) must carry every declared field with the fallback's JSON
//! type, else it is an `InvalidResponse` error naming each missing or mistyped field; it is
//! never filled in from the fallback.
//!
//! # The type rule (the same in every language)
//!
//! Each declared field's JSON type (null, bool, number, string, list, object) must be the
//! fallback's:
//!
//! - JSON has one number type: a fallback `3` accepts a backend `3.5`. Finer rules are the
//!   language's own (a Python field annotated `int` then rejects `3.5`, naming the field).
//! - A `null` in the fallback declares a field of any type (Python's `Optional[X] = None`); a
//!   backend `null` where the fallback has a value is mistyped.
//! - Only the declared fields are checked, not what is inside a list or an object (Python checks
//!   nested annotations itself); fields the fallback does not declare pass through.
//!
//! # Values stored as JSON text
//!
//! Opik has no list or object type: its SDK stores them as JSON text of type `string` (and so
//! does failsoft when it creates a config). When a declared field is a list (object) in the
//! fallback and the backend holds a string that parses as a list (object), the read returns the
//! parsed JSON, so the value has the fallback's shape in every language; a string that does not
//! parse as that shape is a mistyped field.
//!
//! # Checked once per version
//!
//! The client keeps the checked (and parsed) data of each config key, keyed by the fetched
//! data's `Arc` (never the `Payload` pointer: copies of a payload share `data`), so every read of
//! one version returns the same `data` `Arc` and a binding converts it once, comparing pointers.

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::key::{Key, Qualifier};
use crate::options::{Fallback, ReadOptions};
use crate::value::{Payload, Value};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// The JSON type names the type rule speaks of (see the module documentation).
fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "object",
    }
}

/// The declared fields present in `data` with another JSON type than the fallback's, each as
/// `name (expected T, got U)`, in the fallback's key order.
pub fn mistyped_fields(fallback: &Map<String, Json>, data: &Json) -> Vec<String> {
    let Some(obj) = data.as_object() else { return Vec::new() };
    fallback
        .iter()
        .filter(|(_, declared)| !declared.is_null())
        .filter_map(|(k, declared)| {
            let got = obj.get(k)?;
            let (want, have) = (json_type(declared), json_type(got));
            (want != have).then(|| format!("{k} (expected {want}, got {have})"))
        })
        .collect()
}

/// `InvalidResponse` naming every field of `fallback` missing from, or mistyped in, a backend
/// value; `Ok` for a fallback value.
pub fn check_fields(key: &Key, fallback: &Map<String, Json>, value: &Value) -> Result<()> {
    if value.is_fallback() {
        return Ok(());
    }
    check_data(key, fallback, value.data(), value.version())
}

fn check_data(key: &Key, fallback: &Map<String, Json>, data: &Json, version: Option<i64>) -> Result<()> {
    let version = version.map(|v| format!(" (version {v})")).unwrap_or_default();
    if !data.is_object() {
        return Err(
            Error::invalid_response(format!("config {key}{version} is not a JSON object")).with_key(key)
        );
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut problems = Vec::new();
    let missing = missing_fields(fallback, data);
    if !missing.is_empty() {
        let s = plural(missing.len());
        problems.push(format!("is missing field{s} declared in the fallback: {}", missing.join(", ")));
    }
    let mistyped = mistyped_fields(fallback, data);
    if !mistyped.is_empty() {
        let s = plural(mistyped.len());
        problems.push(format!("has field{s} of another type than the fallback's: {}", mistyped.join(", ")));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::invalid_response(format!("config {key}{version} {}", problems.join("; "))).with_key(key))
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

/// The last check of one config key: the fetched data it was made from, the declaration it was
/// checked against, and the checked payload (or why the data is wrong).
struct Check {
    raw: Arc<Json>,
    declared: Map<String, Json>,
    checked: std::result::Result<Arc<Payload>, Error>,
}

/// The checked configs of one client, by key (see "Checked once per version").
#[derive(Default)]
pub(crate) struct Checks(Mutex<HashMap<Key, Check>>);

impl Checks {
    /// `value` (from the backend) checked against `fallback`, with the data of the last check
    /// of the same fetched data: parsed and checked once per version.
    fn check(&self, key: &Key, fallback: &Map<String, Json>, value: Value) -> Result<Value> {
        if let Some(hit) = self.cached(key, &value, Some(fallback)) {
            return hit;
        }
        let raw = value.payload.data.clone();
        let checked = match coerce_json_text(fallback, &raw) {
            Some(data) => Arc::new(value.payload.with_data(data)),
            None => value.payload.clone(),
        };
        let checked = check_data(key, fallback, &checked.data, value.version()).map(|()| checked);
        let check = Check { raw, declared: fallback.clone(), checked: checked.clone() };
        let old = lock(&self.0).insert(key.clone(), check);
        drop(old); // outside the lock
        checked.map(|payload| Value { payload, ..value })
    }

    /// The last check's answer for `value`'s fetched data (and `fallback`, when given); `None`
    /// when that data was not checked yet.
    fn cached(
        &self,
        key: &Key,
        value: &Value,
        fallback: Option<&Map<String, Json>>,
    ) -> Option<Result<Value>> {
        let checks = lock(&self.0);
        let c = checks.get(key).filter(|c| Arc::ptr_eq(&c.raw, &value.payload.data))?;
        if fallback.is_some_and(|f| *f != c.declared) {
            return None;
        }
        Some(match &c.checked {
            Err(e) => Err(e.clone()),
            // The same data re-dated by a renewal (a 304) keeps its checked data, with the new dates.
            Ok(p) if p.fetched_at != value.payload.fetched_at => {
                Ok(Value { payload: Arc::new(value.payload.with_data(p.data.clone())), ..value.clone() })
            }
            Ok(p) => Ok(Value { payload: p.clone(), ..value.clone() }),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The cached config of `key` as its last read checked it, without fetching or waiting: `None`
/// when nothing is cached (see [`Client::peek`]), its data was not checked yet, was checked
/// against another `fallback` (when given), or failed the check. A warm read of an unchanged
/// config returns the same `data` `Arc` every time.
pub fn cached_config(
    client: &Client,
    key: &Key,
    ttl: Option<Duration>,
    fallback: Option<&Map<String, Json>>,
) -> Option<Value> {
    let value = client.peek(key, ttl)?;
    client.config_checks().cached(key, &value, fallback)?.ok()
}

/// Reads a config declared by `fallback` (SPEC §7): creates it from the fallback when the source
/// has none at all (`opts.create`, Opik semantics: only for the default env or `latest`, never
/// over an existing config), serves the fallback when the backend cannot answer, and checks a
/// value from the backend against the fallback (the type rule of the module documentation).
///
/// Errors: `InvalidArgument` for a key the source cannot serve; `NotFound` when the config does
/// not exist and was not created (an explicit env or version that is missing, a project whose
/// configs have no `prod` tag, `create` off), because a fallback covers an unreachable or failing
/// backend, not a config that is not there, as in Opik's SDK; `InvalidResponse` naming every
/// declared field a backend value lacks or holds with another type. Any other failure serves the
/// fallback, with the error.
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
    client.config_checks().check(key, fallback, value)
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

    #[test]
    fn the_type_rule_compares_json_types_with_null_declaring_any_and_one_number_type() {
        let fb = obj(json!({"n": 3, "s": "x", "b": true, "l": [], "o": {}, "any": null}));
        let ok = json!({"n": 3.5, "s": "y", "b": false, "l": [1], "o": {"k": 1}, "any": [1], "extra": 1});
        assert!(mistyped_fields(&fb, &ok).is_empty());
        let bad = json!({"n": "3", "s": null, "b": 1, "l": {}, "o": [], "any": "x"});
        assert_eq!(
            mistyped_fields(&fb, &bad),
            vec![
                "b (expected bool, got number)",
                "l (expected list, got object)",
                "n (expected number, got string)",
                "o (expected object, got list)",
                "s (expected string, got null)",
            ]
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_one_invalid_response_naming_each() {
        let fb = obj(json!({"model": "m", "temperature": 0.5, "stops": []}));
        let key = config_key("p", Some("prod"), None).unwrap();
        let e = check_data(&key, &fb, &json!({"model": 4, "stops": "not json"}), Some(2)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidResponse);
        assert_eq!(e.key, "p@env:prod");
        assert!(
            e.message.contains("(version 2) is missing field declared in the fallback: temperature"),
            "{e}"
        );
        assert!(
            e.message.contains("model (expected string, got number), stops (expected list, got string)"),
            "{e}"
        );
    }
}
