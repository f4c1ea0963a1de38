//! Opik agent configuration ("blueprints"), under `{base}/v1/private/`.
//!
//! # Keys
//!
//! The key's name is the Opik project name; an empty name means the source's project
//! (`project_name` option or `OPIK_PROJECT_NAME`). Qualifiers:
//!
//! - [`Qualifier::Default`]: the blueprint tagged with env `prod`;
//! - [`Qualifier::Env`]: the blueprint tagged with that env (`Env("prod")` reads the same
//!   blueprint as `Default` but, like an explicit `env="prod"` in Opik's SDK, never creates);
//! - [`Qualifier::Named`]: a version by name (`v1`, `v2`, …);
//! - [`Qualifier::Latest`]: the newest version.
//!
//! Labels and numeric versions are `InvalidArgument` before any I/O
//! ([`crate::config::config_key`] turns `version="3"` into `Named("v3")`).
//!
//! # Requests
//!
//! Headers `Authorization: <api key>` (raw, no `Bearer`) and `Comet-Workspace: <workspace>`, each
//! only when set (a local Opik needs neither). The project id is resolved once per project name
//! with `POST projects/retrieve` and kept in the source; that request counts inside the read's
//! deadline. Prompt commits are immutable, so resolved prompts are kept too.
//!
//! # Data
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
//!
//! # get_or_create
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

use super::encode_path_segment;
use super::langfuse::{check_chat_item, normalize_base_url};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Http, HttpResponse};
use crate::key::{Key, Qualifier};
use crate::source::{FetchRequest, Fetched, FetchedValue, Source};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Comet's hosted Opik, used when neither the option nor `OPIK_URL_OVERRIDE` is set.
pub const DEFAULT_BASE_URL: &str = "https://www.comet.com/opik/api";
/// The env a key without qualifier reads.
pub const DEFAULT_ENV: &str = "prod";
/// The environment variable of the source's default TTL.
pub const TTL_ENV: &str = "OPIK_CONFIG_TTL_SECONDS";

/// Resolved prompts kept at most; the cache is emptied when full (commits are immutable).
const PROMPT_CACHE_MAX: usize = 1024;

/// Settings of an [`OpikSource`]; `None` takes the environment variable named on each field.
#[derive(Clone, Default)]
pub struct OpikOptions {
    /// `OPIK_URL_OVERRIDE`, else `https://www.comet.com/opik/api` (a local install serves
    /// `http://localhost:5173/api`).
    pub base_url: Option<String>,
    /// `OPIK_API_KEY`. Never shown anywhere.
    pub api_key: Option<String>,
    /// `OPIK_WORKSPACE`.
    pub workspace: Option<String>,
    /// The project read by keys with an empty name: `OPIK_PROJECT_NAME`.
    pub project_name: Option<String>,
}

impl std::fmt::Debug for OpikOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpikOptions")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("workspace", &self.workspace)
            .field("project_name", &self.project_name)
            .finish()
    }
}

/// Reads Opik agent configurations. See the [module documentation](self).
pub struct OpikSource {
    base_url: String,
    api_key: Option<String>,
    workspace: Option<String>,
    project_name: Option<String>,
    http: Http,
    /// Project name → id.
    project_ids: Mutex<HashMap<String, String>>,
    /// Commit → resolved prompt JSON.
    prompts: Mutex<HashMap<String, Json>>,
}

impl std::fmt::Debug for OpikSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpikSource")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("workspace", &self.workspace)
            .field("project_name", &self.project_name)
            .finish()
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a fetch may create the config, when it may.
fn may_create(req: &FetchRequest<'_>) -> bool {
    req.create_from.is_some() && matches!(req.key.qualifier, Qualifier::Default | Qualifier::Latest)
}

impl OpikSource {
    /// A source from `options`, each `None` taken from the environment. No I/O. Fails only on a
    /// base URL that is not http(s) (`InvalidArgument`).
    pub fn new(options: OpikOptions) -> Result<OpikSource> {
        let base_raw = options
            .base_url
            .filter(|u| !u.trim().is_empty())
            .or_else(|| env_nonempty("OPIK_URL_OVERRIDE"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let base_url = normalize_base_url(&base_raw, "the Opik base URL")?;
        let pick =
            |v: Option<String>, env: &str| v.filter(|s| !s.trim().is_empty()).or_else(|| env_nonempty(env));
        let api_key = pick(options.api_key, "OPIK_API_KEY");
        crate::logging::register_url_password(&base_raw);
        if let Some(k) = &api_key {
            crate::logging::register_header("Authorization", k);
        }
        Ok(OpikSource {
            base_url,
            api_key,
            workspace: pick(options.workspace, "OPIK_WORKSPACE"),
            project_name: pick(options.project_name, "OPIK_PROJECT_NAME"),
            http: Http::default(),
            project_ids: Mutex::new(HashMap::new()),
            prompts: Mutex::new(HashMap::new()),
        })
    }

    /// From the environment only.
    pub fn from_env() -> Result<OpikSource> {
        OpikSource::new(OpikOptions::default())
    }

    /// Replaces the HTTP settings (timeouts, body cap).
    pub fn with_http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The project keys with an empty name read.
    pub fn default_project(&self) -> Option<&str> {
        self.project_name.as_deref()
    }

    /// The project a key reads.
    pub fn project_of<'k>(&'k self, key: &'k Key) -> Result<&'k str> {
        if !key.name.is_empty() {
            return Ok(&key.name);
        }
        self.project_name.as_deref().ok_or_else(|| {
            Error::invalid_argument("no Opik project: name one in the key or set OPIK_PROJECT_NAME")
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/private/{path}", self.base_url)
    }

    /// One request under `v1/private/`: non-2xx answers become typed errors.
    fn call(&self, method: &str, path: &str, body: Option<&Json>, deadline: Instant) -> Result<HttpResponse> {
        let url = self.url(path);
        let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
        if let Some(k) = &self.api_key {
            headers.push(("Authorization", k.as_str()));
        }
        if let Some(w) = &self.workspace {
            headers.push(("Comet-Workspace", w.as_str()));
        }
        let bytes = body.map(|b| b.to_string().into_bytes());
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let resp = self
            .http
            .request(method, &url, &headers, bytes.as_deref(), deadline)
            .map_err(|e| self.scrub(e))?;
        if (200..300).contains(&resp.status) {
            return Ok(resp);
        }
        let mut e = resp.status_error(&format!("Opik ({method} {})", redact_url(&url)));
        if e.kind == ErrorKind::Unauthorized {
            e.message.push_str(" (check OPIK_API_KEY and OPIK_WORKSPACE)");
        }
        Err(self.scrub(e))
    }

    fn scrub(&self, mut e: Error) -> Error {
        if let Some(k) = &self.api_key {
            if e.message.contains(k.as_str()) {
                e.message = e.message.replace(k.as_str(), "<redacted>");
            }
        }
        e
    }

    /// The project's id, from the cache or `POST projects/retrieve`.
    fn project_id(&self, project: &str, deadline: Instant) -> Result<String> {
        if let Some(id) = lock(&self.project_ids).get(project) {
            return Ok(id.clone());
        }
        let resp = self
            .call("POST", "projects/retrieve", Some(&json!({ "name": project })), deadline)
            .map_err(|e| {
                if e.kind == ErrorKind::NotFound {
                    Error::not_found(format!("Opik project {project:?} does not exist")).with_status(404)
                } else {
                    e
                }
            })?;
        let body = resp.json()?;
        let id = body
            .get("id")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid_response("Opik projects/retrieve answered without an `id`"))?
            .to_string();
        lock(&self.project_ids).insert(project.to_string(), id.clone());
        Ok(id)
    }

    /// The blueprint a qualifier selects (404: `NotFound`).
    fn read_blueprint(
        &self,
        project: &str,
        pid: &str,
        q: &Qualifier,
        deadline: Instant,
    ) -> Result<(Json, u64)> {
        let pid_enc = encode_path_segment(pid);
        let path = match q {
            Qualifier::Default => {
                format!("agent-configs/blueprints/environments/{DEFAULT_ENV}/projects/{pid_enc}")
            }
            Qualifier::Env(e) => {
                format!("agent-configs/blueprints/environments/{}/projects/{pid_enc}", encode_path_segment(e))
            }
            Qualifier::Latest => format!("agent-configs/blueprints/latest/projects/{pid_enc}"),
            Qualifier::Named(n) => {
                format!("agent-configs/blueprints/projects/{pid_enc}/names/{}", encode_path_segment(n))
            }
            other => {
                return Err(Error::invalid_argument(format!("Opik configs cannot be read by {other:?}")))
            }
        };
        match self.call("GET", &path, None, deadline) {
            Ok(resp) => Ok((resp.json()?, resp.body.len() as u64)),
            Err(e) if e.kind == ErrorKind::NotFound => {
                // The project may have been deleted (and recreated): resolve its id again next time.
                lock(&self.project_ids).remove(project);
                let what = match q {
                    Qualifier::Default => format!("no config tagged env {DEFAULT_ENV:?}"),
                    Qualifier::Env(e) => format!("no config tagged env {e:?}"),
                    Qualifier::Latest => "no config at all".to_string(),
                    Qualifier::Named(n) => format!("no config version {n:?}"),
                    _ => String::new(),
                };
                Err(Error { message: format!("Opik project {project:?} has {what}"), ..e })
            }
            Err(e) => Err(e),
        }
    }

    fn blueprint_by_id(&self, id: &str, deadline: Instant) -> Result<(Json, u64)> {
        let resp = self.call(
            "GET",
            &format!("agent-configs/blueprints/{}", encode_path_segment(id)),
            None,
            deadline,
        )?;
        Ok((resp.json()?, resp.body.len() as u64))
    }

    /// The blueprint's values as a JSON object, prompts resolved; and its version number.
    fn decode(&self, blueprint: &Json, deadline: Instant) -> Result<(Json, Option<i64>)> {
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
    fn resolve_prompt(&self, key: &str, commit: &str, deadline: Instant) -> Result<Json> {
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

    /// Creates the project's first version from `seed`, returning the blueprint as read back.
    fn create(&self, project: &str, q: &Qualifier, seed: &Json, deadline: Instant) -> Result<(Json, u64)> {
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

    fn fetch_blueprint(&self, req: &FetchRequest<'_>, project: &str) -> Result<(Json, u64)> {
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

impl Source for OpikSource {
    fn kind(&self) -> &'static str {
        "opik"
    }

    fn identity(&self) -> String {
        format!(
            "opik|{}|{}|{}",
            self.base_url,
            self.workspace.as_deref().unwrap_or(""),
            self.project_name.as_deref().unwrap_or("")
        )
    }

    fn ttl_env(&self) -> Option<&'static str> {
        Some(TTL_ENV)
    }

    fn validate_key(&self, key: &Key) -> Result<()> {
        self.project_of(key)?;
        match &key.qualifier {
            Qualifier::Default | Qualifier::Latest => Ok(()),
            Qualifier::Env(e) if !e.is_empty() => Ok(()),
            Qualifier::Named(n) if !n.is_empty() => Ok(()),
            Qualifier::Env(_) | Qualifier::Named(_) => {
                Err(Error::invalid_argument("the env or version name must not be empty"))
            }
            Qualifier::Label(_) => {
                Err(Error::invalid_argument("Opik configs are read by env or version name, not label"))
            }
            Qualifier::Version(n) => Err(Error::invalid_argument(format!(
                "Opik config versions are named: use the version name \"v{n}\""
            ))),
        }
    }

    fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched> {
        let project = self.project_of(req.key)?;
        if let Some(seed) = req.create_from {
            if !seed.is_object() {
                return Err(Error::invalid_argument("the config to create from must be a JSON object"));
            }
        }
        let (blueprint, bytes) = self.fetch_blueprint(req, project)?;
        let (data, version) = self.decode(&blueprint, req.deadline)?;
        Ok(Fetched::Modified(FetchedValue { data, version, etag: None, bytes }))
    }
}

/// `N` of a version name `vN`.
fn version_of_name(name: &str) -> Option<i64> {
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
    fn uuid_v7_has_its_version_and_variant() {
        let u = uuid_v7();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "7");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid_v7(), u);
    }

    #[test]
    fn version_names() {
        assert_eq!(version_of_name("v12"), Some(12));
        assert_eq!(version_of_name("draft"), None);
    }
}
