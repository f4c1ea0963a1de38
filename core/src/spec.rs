//! Client options as plain data — the one definition of every option's name, shared by the C
//! options JSON, the Python keyword arguments and the Node options object, so an option means
//! the same thing (and is validated the same way) in every language.
//!
//! ```json
//! {"source": {"kind": "http", "url": "http://host/{key}", "headers": {"Authorization": "…"}},
//!  "ttl_seconds": 60, "cold_deadline_seconds": 5, "snapshot_dir": "/var/lib/failsoft"}
//! ```

use crate::client::Client;
use crate::error::{Error, Result};
use crate::fleet::{FleetMode, FleetOptions, OnStoreDown};
use crate::options::ClientOptions;
use crate::source::Source;
use crate::sources::langfuse::{LangfuseOptions, LangfuseSource};
use crate::sources::opik::{OpikOptions, OpikSource};
use crate::sources::{FileSource, HttpSource};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Where values come from, tagged by `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceSpec {
    /// Any HTTP JSON endpoint: `url` contains `{key}`.
    Http {
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Top-level body field holding the version (default `version`).
        #[serde(default)]
        version_field: Option<String>,
    },
    /// A local JSON file of key → value.
    File { path: String },
    /// Langfuse prompts; each field left out takes its environment variable
    /// (`LANGFUSE_BASE_URL`/`LANGFUSE_HOST`, `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`, `LANGFUSE_TIMEOUT`).
    Langfuse {
        #[serde(default)]
        base_url: Option<String>,
        #[serde(default)]
        public_key: Option<String>,
        #[serde(default)]
        secret_key: Option<String>,
        #[serde(default)]
        timeout_seconds: Option<f64>,
    },
    /// Opik agent configs; each field left out takes its environment variable
    /// (`OPIK_URL_OVERRIDE`, `OPIK_API_KEY`, `OPIK_WORKSPACE`, `OPIK_PROJECT_NAME`).
    Opik {
        #[serde(default)]
        base_url: Option<String>,
        #[serde(default)]
        api_key: Option<String>,
        #[serde(default)]
        workspace: Option<String>,
        #[serde(default)]
        project_name: Option<String>,
    },
}

/// Every client option, by the name every language uses (snake_case; camelCase in Node).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub source: SourceSpec,
    #[serde(default)]
    pub ttl_seconds: Option<f64>,
    #[serde(default)]
    pub cold_deadline_seconds: Option<f64>,
    #[serde(default)]
    pub request_timeout_seconds: Option<f64>,
    #[serde(default)]
    pub snapshot_dir: Option<String>,
    #[serde(default)]
    pub refresh_workers: Option<usize>,
    #[serde(default)]
    pub keep_on_not_found: Option<bool>,
    /// Fleet mode (SPEC §10).
    #[serde(default)]
    pub fleet: Option<FleetSpec>,
}

/// `fleet`: `{"redis_url", "prefix", "mode", "on_store_down", "retention_seconds"}`. Every field
/// is optional; `redis_url` left out takes `FAILSOFT_REDIS_URL`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    #[serde(default)]
    pub redis_url: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub on_store_down: Option<String>,
    #[serde(default)]
    pub retention_seconds: Option<f64>,
}

impl std::fmt::Debug for FleetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSpec")
            .field("redis_url", &self.redis_url.as_deref().map(crate::fleet::redact_url))
            .field("prefix", &self.prefix)
            .field("mode", &self.mode)
            .field("on_store_down", &self.on_store_down)
            .field("retention_seconds", &self.retention_seconds)
            .finish()
    }
}

impl FleetSpec {
    /// The fleet options, validated; errors name the field and never echo a password.
    pub fn options(&self) -> Result<FleetOptions> {
        let url = match &self.redis_url {
            Some(u) => u.clone(),
            None => std::env::var("FAILSOFT_REDIS_URL").ok().filter(|v| !v.trim().is_empty()).ok_or_else(
                || Error::invalid_argument("fleet.redis_url is required (or set FAILSOFT_REDIS_URL)"),
            )?,
        };
        let mut o = FleetOptions::new(url);
        if let Some(p) = &self.prefix {
            o.prefix = p.clone();
        }
        if let Some(m) = &self.mode {
            o.mode = FleetMode::parse(m)?;
        }
        if let Some(d) = &self.on_store_down {
            o.on_store_down = OnStoreDown::parse(d)?;
        }
        if let Some(r) = self.retention_seconds {
            o.retention = seconds("fleet.retention_seconds", r)?;
        }
        o.validate()?;
        Ok(o)
    }
}

/// Seconds as a duration, or `InvalidArgument` naming the option.
pub fn seconds(name: &str, v: f64) -> Result<Duration> {
    if v.is_finite() && (0.0..1e9).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(Error::invalid_argument(format!("{name} must be a non-negative number of seconds, got {v}")))
    }
}

impl ClientSpec {
    /// Parses the options JSON; an unknown or mistyped option is `InvalidArgument` naming it.
    pub fn from_json(text: &str) -> Result<ClientSpec> {
        serde_json::from_str(text)
            .map_err(|e| Error::invalid_argument(format!("invalid client options: {e}")))
    }

    pub fn from_value(v: serde_json::Value) -> Result<ClientSpec> {
        serde_json::from_value(v).map_err(|e| Error::invalid_argument(format!("invalid client options: {e}")))
    }

    pub fn options(&self) -> Result<ClientOptions> {
        let mut o = ClientOptions::default();
        if let Some(t) = self.ttl_seconds {
            o.ttl = Some(seconds("ttl_seconds", t)?);
        }
        if let Some(t) = self.cold_deadline_seconds {
            o.cold_deadline = seconds("cold_deadline_seconds", t)?;
        }
        if let Some(t) = self.request_timeout_seconds {
            o.request_timeout = seconds("request_timeout_seconds", t)?;
        }
        if let Some(d) = &self.snapshot_dir {
            o.snapshot_dir = Some(d.into());
        }
        if let Some(n) = self.refresh_workers {
            o.refresh_workers = n;
        }
        if let Some(k) = self.keep_on_not_found {
            o.keep_on_not_found = k;
        }
        if let Some(f) = &self.fleet {
            o.fleet = Some(f.options()?);
        }
        o.validate()?;
        Ok(o)
    }

    pub fn source(&self) -> Result<Arc<dyn Source>> {
        Ok(match &self.source {
            SourceSpec::Http { url, headers, version_field } => {
                let mut s = HttpSource::new(url.clone())?;
                for (k, v) in headers {
                    s = s.header(k.clone(), v.clone());
                }
                if let Some(f) = version_field {
                    s = s.version_field(Some(f.clone()));
                }
                Arc::new(s)
            }
            SourceSpec::File { path } => Arc::new(FileSource::new(path)),
            SourceSpec::Langfuse { base_url, public_key, secret_key, timeout_seconds } => {
                Arc::new(LangfuseSource::new(LangfuseOptions {
                    base_url: base_url.clone(),
                    public_key: public_key.clone(),
                    secret_key: secret_key.clone(),
                    timeout: timeout_seconds.map(|t| seconds("timeout_seconds", t)).transpose()?,
                })?)
            }
            SourceSpec::Opik { base_url, api_key, workspace, project_name } => {
                Arc::new(OpikSource::new(OpikOptions {
                    base_url: base_url.clone(),
                    api_key: api_key.clone(),
                    workspace: workspace.clone(),
                    project_name: project_name.clone(),
                })?)
            }
        })
    }

    /// Builds the client. No I/O.
    pub fn build(&self) -> Result<Client> {
        Client::with_source(self.source()?, self.options()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_mistyped_options_are_named() {
        let e = ClientSpec::from_json(r#"{"source": {"kind": "http", "url": "http://h/{key}"}, "ttl": 3}"#)
            .unwrap_err();
        assert!(e.message.contains("ttl"), "{e}");
        let e = ClientSpec::from_json(r#"{"source": {"kind": "ftp"}}"#).unwrap_err();
        assert!(e.message.contains("ftp"), "{e}");
        let spec = ClientSpec::from_json(
            r#"{"source": {"kind": "http", "url": "http://h/{key}"}, "ttl_seconds": -1}"#,
        )
        .unwrap();
        assert!(spec.build().unwrap_err().message.contains("ttl_seconds"));
        let spec = ClientSpec::from_json(r#"{"source": {"kind": "http", "url": "http://h/x"}}"#).unwrap();
        assert!(spec.build().unwrap_err().message.contains("{key}"));
    }

    #[test]
    fn options_map_to_the_client() {
        let spec = ClientSpec::from_json(
            r#"{"source": {"kind": "file", "path": "/tmp/x.json"}, "ttl_seconds": 1.5, "cold_deadline_seconds": 0.25,
                "snapshot_dir": "/tmp/snaps", "refresh_workers": 2, "keep_on_not_found": true}"#,
        )
        .unwrap();
        let c = spec.build().unwrap();
        assert_eq!(c.ttl(), Duration::from_millis(1500));
        assert_eq!(c.options().cold_deadline, Duration::from_millis(250));
        assert_eq!(c.options().refresh_workers, 2);
        assert!(c.options().keep_on_not_found);
    }

    #[test]
    fn fleet_options_are_validated_by_name_without_the_password() {
        let build = |fleet: &str| {
            ClientSpec::from_json(&format!(
                r#"{{"source": {{"kind": "file", "path": "/tmp/x.json"}}, "fleet": {fleet}}}"#
            ))
            .and_then(|s| s.options())
        };
        let e = build(r#"{"redis_url": "http://u:hunter2@h/0"}"#).unwrap_err();
        assert!(e.message.contains("fleet.redis_url") && !e.message.contains("hunter2"), "{e}");
        let e = build(r#"{"redis_url": "redis://h", "mode": "write"}"#).unwrap_err();
        assert!(e.message.contains("fleet.mode"), "{e}");
        let e = build(r#"{"redis_url": "redis://h", "on_store_down": "x"}"#).unwrap_err();
        assert!(e.message.contains("fleet.on_store_down"), "{e}");
        let e = build(r#"{"redis_url": "redis://h", "retention_seconds": -1}"#).unwrap_err();
        assert!(e.message.contains("fleet.retention_seconds"), "{e}");
        let e = build(r#"{"redis_url": "redis://h", "ttl": 1}"#).unwrap_err();
        assert!(e.message.contains("ttl"), "{e}");
        let o = build(
            r#"{"redis_url": "redis://:hunter2@127.0.0.1:6379/0", "prefix": "agents", "mode": "read_only",
                "on_store_down": "stale_only", "retention_seconds": 60}"#,
        )
        .unwrap();
        let f = o.fleet.unwrap();
        assert_eq!(
            (f.prefix.as_str(), f.mode, f.on_store_down),
            ("agents", FleetMode::ReadOnly, OnStoreDown::StaleOnly)
        );
        assert_eq!(f.retention, Duration::from_secs(60));
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[test]
    fn langfuse_and_opik_sources_are_built_without_secrets_in_identity() {
        let spec = ClientSpec::from_json(
            r#"{"source": {"kind": "langfuse", "base_url": "http://127.0.0.1:1", "public_key": "pk-lf-1",
                "secret_key": "sk-lf-secret"}}"#,
        )
        .unwrap();
        let c = spec.build().unwrap();
        assert_eq!(c.source().kind(), "langfuse");
        assert!(!c.source().identity().contains("sk-lf-secret"));
        let spec = ClientSpec::from_json(
            r#"{"source": {"kind": "opik", "base_url": "http://127.0.0.1:1", "api_key": "opik-secret",
                "project_name": "my-agent"}}"#,
        )
        .unwrap();
        let c = spec.build().unwrap();
        assert_eq!(c.source().kind(), "opik");
        assert!(!c.source().identity().contains("opik-secret"));
        let e = ClientSpec::from_json(r#"{"source": {"kind": "langfuse", "secret": "x"}}"#).unwrap_err();
        assert!(e.message.contains("secret"), "{e}");
    }
}
