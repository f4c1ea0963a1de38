//! Opik's wire format read: a blueprint's typed values decoded to JSON, prompt commits resolved.
//!
//! The value's data is a JSON object of the blueprint's keys to decoded values (no metadata):
//!
//! | Opik type | JSON |
//! |---|---|
//! | `string` | string |
//! | `integer` | integer (`"3"`, also `"3.0"`); anything else `InvalidResponse` |
//! | `float` | number |
//! | `boolean` | `true`/`1`/`yes` → true, `false`/`0`/`no` → false (any case); else `InvalidResponse` |
//! | `prompt`, `prompt_commit` | the prompt JSON below, resolved with `GET prompts/by-commit/{commit}` |
//! | any other | the raw string |
//!
//! A `null` value stays `null` whatever its type. A prompt value has the shape of
//! [`crate::prompt::Prompt`]'s JSON, plus the commit:
//! `{"name", "version", "type": "text"|"chat", "prompt": template string | message list,
//! "config": <version metadata or {}>, "labels": [], "tags", "commit_message": <change
//! description>, "commit", "template_type": "mustache"|"jinja2"}` (`version` is Opik's version
//! number when numeric, else 0; a chat template, JSON text on the wire, is parsed into its
//! messages). A commit that does not resolve is `InvalidResponse` (a broken reference, not a
//! missing config). The value's version is `N` of the blueprint name `vN` (`None` otherwise).

use super::{lock, OpikSource, PROMPT_CACHE_MAX};
use crate::error::{Error, ErrorKind, Result};
use crate::prompt::check_chat_item;
use crate::sources::encode_path_segment;
use serde_json::{json, Map, Value as Json};
use std::time::Instant;

impl OpikSource {
    /// The blueprint's values as a JSON object, prompts resolved; and its version number.
    pub(super) fn decode(&self, blueprint: &Json, deadline: Instant) -> Result<(Json, Option<i64>)> {
        let obj = blueprint
            .as_object()
            .ok_or_else(|| Error::invalid_response("Opik blueprint is not an object"))?;
        let version = obj.get("name").and_then(Json::as_str).and_then(version_of_name);
        let values = match obj.get("values") {
            None | Some(Json::Null) => &Vec::new(),
            Some(Json::Array(v)) => v,
            Some(_) => return Err(Error::invalid_response("Opik blueprint `values` is not a list")),
        };
        let mut data = Map::new();
        for item in values {
            let (key, kind, raw) = parse_value_item(item)?;
            let decoded = match (kind, raw) {
                (_, None) => Json::Null,
                ("prompt" | "prompt_commit", Some(commit)) => self.resolve_prompt(key, commit, deadline)?,
                (kind, Some(raw)) => decode_scalar(key, kind, raw)?,
            };
            data.insert(key.to_string(), decoded);
        }
        Ok((Json::Object(data), version))
    }

    /// A prompt commit as failsoft's prompt JSON (see the module documentation).
    pub(super) fn resolve_prompt(&self, key: &str, commit: &str, deadline: Instant) -> Result<Json> {
        if let Some(p) = lock(&self.prompts).get(commit) {
            return Ok(p.clone());
        }
        let path = format!("prompts/by-commit/{}", encode_path_segment(commit));
        let resp = self.call("GET", &path, None, deadline).map_err(|e| {
            if e.kind == ErrorKind::NotFound {
                Error::invalid_response(format!(
                    "config field {key:?} refers to prompt commit {commit:?}, which Opik does not know"
                ))
                .with_status(404)
            } else {
                e
            }
        })?;
        let prompt = prompt_from_commit(&resp.json()?, commit).map_err(|m| {
            Error::invalid_response(format!("prompt commit {commit:?} of config field {key:?}: {m}"))
        })?;
        let mut cache = lock(&self.prompts);
        if cache.len() >= PROMPT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(commit.to_string(), prompt.clone());
        Ok(prompt)
    }
}

/// `N` of a version name `vN`.
pub(super) fn version_of_name(name: &str) -> Option<i64> {
    name.strip_prefix('v').or_else(|| name.strip_prefix('V')).and_then(|n| n.parse().ok())
}

/// `(key, type, raw value)` of one blueprint value.
fn parse_value_item(item: &Json) -> Result<(&str, &str, Option<&str>)> {
    let bad = |m: &str| Error::invalid_response(format!("Opik blueprint value {item}: {m}"));
    let key = item.get("key").and_then(Json::as_str).ok_or_else(|| bad("no string `key`"))?;
    let kind = item.get("type").and_then(Json::as_str).ok_or_else(|| bad("no string `type`"))?;
    let raw = match item.get("value") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.as_str()),
        Some(_) => return Err(bad("`value` is not a string")),
    };
    Ok((key, kind, raw))
}

/// A typed string as JSON (every type but the prompt ones).
pub fn decode_scalar(key: &str, kind: &str, raw: &str) -> Result<Json> {
    let bad =
        || Error::invalid_response(format!("config field {key:?} of type {kind} has the value {raw:?}"));
    let t = raw.trim();
    Ok(match kind {
        "string" => Json::String(raw.to_string()),
        "integer" => match t.parse::<i64>() {
            Ok(i) => json!(i),
            Err(_) => match t.parse::<f64>() {
                Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
                _ => return Err(bad()),
            },
        },
        "float" => match t.parse::<f64>() {
            Ok(f) if f.is_finite() => serde_json::Number::from_f64(f).map(Json::Number).ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        "boolean" => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Json::Bool(true),
            "false" | "0" | "no" => Json::Bool(false),
            _ => return Err(bad()),
        },
        other => {
            log::debug!("config field {key:?} has the unknown Opik type {other:?}; kept as a string");
            Json::String(raw.to_string())
        }
    })
}

/// The answer of `prompts/by-commit/{commit}` as failsoft's prompt JSON. Accepts Opik's
/// `PromptDetail` (`{name, template_structure, requested_version: {template, commit, …}}`) and a
/// flat prompt version (`{name, template, commit, …}`).
pub fn prompt_from_commit(body: &Json, commit: &str) -> std::result::Result<Json, String> {
    let top = body.as_object().ok_or("the answer is not an object")?;
    let ver = top.get("requested_version").and_then(Json::as_object).unwrap_or(top);
    let template = ver.get("template").and_then(Json::as_str).ok_or("no string `template`")?;
    let structure = ver
        .get("template_structure")
        .or_else(|| top.get("template_structure"))
        .and_then(Json::as_str)
        .unwrap_or("text");
    let (kind, prompt) = if structure == "chat" {
        let messages: Json =
            serde_json::from_str(template).map_err(|e| format!("chat template is not JSON ({e})"))?;
        let items = messages.as_array().ok_or("chat template is not a list of messages")?;
        for (i, item) in items.iter().enumerate() {
            check_chat_item(item, i)?;
        }
        ("chat", messages)
    } else {
        ("text", Json::String(template.to_string()))
    };
    let version = match ver.get("version_number") {
        Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Json::String(s)) => version_of_name(s).or_else(|| s.parse().ok()).unwrap_or(0),
        _ => 0,
    };
    let config = match ver.get("metadata") {
        Some(m) if m.is_object() => m.clone(),
        _ => json!({}),
    };
    let tags: Vec<Json> = ver
        .get("tags")
        .and_then(Json::as_array)
        .map(|t| t.iter().filter(|x| x.is_string()).cloned().collect())
        .unwrap_or_default();
    Ok(json!({
        "name": top.get("name").and_then(Json::as_str).unwrap_or(""),
        "version": version,
        "type": kind,
        "prompt": prompt,
        "config": config,
        "labels": [],
        "tags": tags,
        "commit_message": ver.get("change_description").filter(|c| c.is_string()).cloned().unwrap_or(Json::Null),
        "commit": ver.get("commit").and_then(Json::as_str).unwrap_or(commit),
        "template_type": ver.get("type").and_then(Json::as_str).unwrap_or("mustache"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_every_scalar_type() {
        assert_eq!(decode_scalar("k", "string", " x ").unwrap(), json!(" x "));
        assert_eq!(decode_scalar("k", "integer", "42").unwrap(), json!(42));
        assert_eq!(decode_scalar("k", "integer", "3.0").unwrap(), json!(3));
        assert_eq!(decode_scalar("k", "float", "0.25").unwrap(), json!(0.25));
        for t in ["true", "1", "yes", "YES", "True"] {
            assert_eq!(decode_scalar("k", "boolean", t).unwrap(), json!(true), "{t}");
        }
        for f in ["false", "0", "no", "No"] {
            assert_eq!(decode_scalar("k", "boolean", f).unwrap(), json!(false), "{f}");
        }
        for (kind, raw) in
            [("integer", "x"), ("integer", "2.5"), ("float", "nan"), ("float", "z"), ("boolean", "maybe")]
        {
            let e = decode_scalar("field", kind, raw).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidResponse);
            assert!(e.message.contains("field"), "{}", e.message);
        }
        assert_eq!(decode_scalar("k", "json", "{}").unwrap(), json!("{}"));
    }

    #[test]
    fn prompt_commits_in_both_shapes() {
        let flat = prompt_from_commit(
            &json!({"name":"sys","commit":"c1","template":"Hi {{x}}","type":"mustache"}),
            "c1",
        )
        .unwrap();
        assert_eq!(flat["type"], "text");
        assert_eq!(flat["prompt"], "Hi {{x}}");
        assert_eq!(flat["commit"], "c1");
        let detail = prompt_from_commit(
            &json!({"name":"chatty","template_structure":"chat","requested_version":{
                "commit":"c2","template":"[{\"role\":\"user\",\"content\":\"{{q}}\"}]","version_number":"3",
                "metadata":{"m":1},"change_description":"why"}}),
            "c2",
        )
        .unwrap();
        assert_eq!(detail["type"], "chat");
        assert_eq!(detail["prompt"][0]["content"], "{{q}}");
        assert_eq!(detail["version"], 3);
        assert_eq!(detail["config"]["m"], 1);
        assert_eq!(detail["commit_message"], "why");
        assert!(prompt_from_commit(&json!({"template_structure":"chat","template":"nope"}), "c").is_err());
    }

    #[test]
    fn version_names() {
        assert_eq!(version_of_name("v12"), Some(12));
        assert_eq!(version_of_name("draft"), None);
    }
}
