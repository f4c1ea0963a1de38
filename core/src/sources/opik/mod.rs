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
//! How a blueprint's values become the value's data is in [`decode`]; how a project without any
//! config gets its first one (`get_or_create`) is in [`create`].

mod create;
mod decode;

pub use create::seed_values;
pub use decode::{decode_scalar, prompt_from_commit};

use super::{encode_path_segment, env_nonempty, normalize_base_url};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Http, HttpResponse};
use crate::key::{Key, Qualifier};
use crate::source::{FetchRequest, Fetched, FetchedValue, Source};
use serde_json::{json, Value as Json};
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
