//! get_or_create: a project without any config gets its first version from the caller's seed.
//!
//! With [`FetchRequest::create_from`] set (an object of field → value) and a `Default` or
//! `Latest` key, a project that has no blueprint at all (or does not exist) gets its first
//! version from the seed: `POST agent-configs/blueprints` with the project name (the project is
//! created implicitly; Opik tags the first version `prod`), then the blueprint is read back by id
//! and returned, so the first read is `fresh`. A 409 (or 400) means another process created it
//! first: the key is read again. Seed values are typed like Opik's SDK does: string, integer,
//! float, boolean, `null` (a `string` with no value), an object with a string `commit` (a
//! prompt: type `prompt`), and any other list or object as JSON text of type `string`. A
//! prompt-shaped object without a commit (`prompt` or `template` field) cannot be stored by
//! reference, so, as in Opik's SDK, nothing is created: the fetch fails with `InvalidArgument`
//! naming the field, and the caller's fallback is served. An explicit env or version that is
//! missing is `NotFound`, and a project that has any blueprint is never written to.

use super::{OpikSource, DEFAULT_ENV};
use crate::error::{Error, ErrorKind, Result};
use crate::key::Qualifier;
use crate::source::FetchRequest;
use serde_json::{json, Map, Value as Json};
use std::time::Instant;

/// Why a fetch may create the config, when it may.
pub(super) fn may_create(req: &FetchRequest<'_>) -> bool {
    req.create_from.is_some() && matches!(req.key.qualifier, Qualifier::Default | Qualifier::Latest)
}

impl OpikSource {
    /// Creates the project's first version from `seed`, returning the blueprint as read back.
    pub(super) fn create(
        &self,
        project: &str,
        q: &Qualifier,
        seed: &Json,
        deadline: Instant,
    ) -> Result<(Json, u64)> {
        let values = seed_values(seed).map_err(|e| Error {
            message: format!("Opik project {project:?} has no config and none was created: {}", e.message),
            ..e
        })?;
        let id = uuid_v7();
        let body = json!({
            "project_name": project,
            "blueprint": {
                "id": id,
                "type": "blueprint",
                "description": "created by failsoft get_or_create_config from the caller's fallback",
                "values": values,
            },
        });
        match self.call("POST", "agent-configs/blueprints", Some(&body), deadline) {
            Ok(_) => {
                log::info!("created the first config version of Opik project {project:?} from the fallback");
                self.blueprint_by_id(&id, deadline)
            }
            Err(e) if matches!(e.status, Some(409 | 400)) => {
                // Another process created it first: its copy wins.
                log::debug!(
                    "Opik project {project:?}: config created concurrently ({}); reading it",
                    e.message
                );
                let pid = self.project_id(project, deadline)?;
                self.read_blueprint(project, pid.as_str(), q, deadline)
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn fetch_blueprint(&self, req: &FetchRequest<'_>, project: &str) -> Result<(Json, u64)> {
        let q = &req.key.qualifier;
        let create = may_create(req);
        let pid = match self.project_id(project, req.deadline) {
            Ok(pid) => pid,
            Err(e) if e.kind == ErrorKind::NotFound && create => {
                return self.create(project, q, req.create_from.unwrap_or(&Json::Null), req.deadline);
            }
            Err(e) => return Err(e),
        };
        let missing = match self.read_blueprint(project, &pid, q, req.deadline) {
            Ok(found) => return Ok(found),
            Err(e) if e.kind == ErrorKind::NotFound && create => e,
            Err(e) => return Err(e),
        };
        if *q == Qualifier::Default {
            // Only a project without any config is created; one with configs but no `prod` tag is
            // NotFound, as in Opik's SDK.
            match self.read_blueprint(project, &pid, &Qualifier::Latest, req.deadline) {
                Ok(_) => {
                    // Another process may have created (and tagged) the first version between the
                    // two reads: look again before calling the tag missing.
                    match self.read_blueprint(project, &pid, q, req.deadline) {
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        found => return found,
                    }
                    return Err(Error {
                        message: format!(
                            "{}, but other versions exist: tag one with env {DEFAULT_ENV:?}",
                            missing.message
                        ),
                        ..missing
                    });
                }
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.create(project, q, req.create_from.unwrap_or(&Json::Null), req.deadline)
    }
}

/// Whether a seed value is a prompt (an object carrying a `prompt` or `template`).
fn is_prompt_shaped(obj: &Map<String, Json>) -> bool {
    matches!(obj.get("prompt"), Some(Json::String(_) | Json::Array(_)))
        || obj.get("template").is_some_and(Json::is_string)
}

/// The blueprint values to create from a seed object. `InvalidArgument` when a prompt has no commit.
pub fn seed_values(seed: &Json) -> Result<Vec<Json>> {
    let obj = seed
        .as_object()
        .ok_or_else(|| Error::invalid_argument("the config to create from must be a JSON object"))?;
    let mut values = Vec::with_capacity(obj.len());
    for (key, v) in obj {
        let (kind, value) = match v {
            Json::Null => ("string", Json::Null),
            Json::Bool(b) => ("boolean", json!(if *b { "true" } else { "false" })),
            Json::Number(n) if n.is_i64() || n.is_u64() => ("integer", json!(n.to_string())),
            Json::Number(n) => ("float", json!(n.to_string())),
            Json::String(s) => ("string", json!(s)),
            Json::Object(o) => match o.get("commit") {
                Some(Json::String(c)) if !c.is_empty() => ("prompt", json!(c)),
                _ if is_prompt_shaped(o) => {
                    return Err(Error::invalid_argument(format!(
                        "field {key:?} is a prompt without a commit; Opik stores prompts by commit, so create the prompt in Opik first"
                    )))
                }
                _ => ("string", json!(v.to_string())),
            },
            Json::Array(_) => ("string", json!(v.to_string())),
        };
        values.push(json!({"key": key, "type": kind, "value": value}));
    }
    Ok(values)
}

/// A random UUID version 7 (time-ordered), the id format Opik uses.
fn uuid_v7() -> String {
    let ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()
            as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..14].copy_from_slice(&fastrand::u64(..).to_be_bytes());
    b[14..].copy_from_slice(&fastrand::u16(..).to_be_bytes());
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn seeds_are_typed_like_the_opik_sdk() {
        let v = seed_values(
            &json!({"s":"x","i":3,"f":0.5,"b":true,"n":null,"l":[1,2],"p":{"commit":"abc","prompt":"t"}}),
        )
        .unwrap();
        let by_key: HashMap<&str, &Json> = v.iter().map(|x| (x["key"].as_str().unwrap(), x)).collect();
        assert_eq!(by_key["s"]["type"], "string");
        assert_eq!(by_key["i"]["type"], "integer");
        assert_eq!(by_key["i"]["value"], "3");
        assert_eq!(by_key["f"]["type"], "float");
        assert_eq!(by_key["f"]["value"], "0.5");
        assert_eq!(by_key["b"]["value"], "true");
        assert_eq!(by_key["n"]["value"], Json::Null);
        assert_eq!(by_key["l"]["value"], "[1,2]");
        assert_eq!(by_key["p"]["type"], "prompt");
        assert_eq!(by_key["p"]["value"], "abc");
        let e = seed_values(&json!({"p": {"prompt": "no commit"}})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn uuid_v7_has_its_version_and_variant() {
        let u = uuid_v7();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "7");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid_v7(), u);
    }
}
