//! The flags every source-reading command takes (`get`, `watch`, `pull`, `invalidate`, `fleet
//! warm`), mapped onto core's shared client spec.

use crate::args::{json, or_env, seconds};
use clap::{Args, ValueEnum};
use failsoft::{Client, ClientSpec, FleetSpec, Key, SourceSpec};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// Any HTTP JSON endpoint: --url 'http://host/{key}'
    Http,
    /// A local JSON file of key -> value: --path FILE
    File,
    /// Langfuse prompts (LANGFUSE_BASE_URL, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY)
    Langfuse,
    /// Opik agent configs (OPIK_URL_OVERRIDE, OPIK_API_KEY, OPIK_WORKSPACE)
    Opik,
}

impl SourceKind {
    fn name(self) -> &'static str {
        match self {
            SourceKind::Http => "http",
            SourceKind::File => "file",
            SourceKind::Langfuse => "langfuse",
            SourceKind::Opik => "opik",
        }
    }
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Source")]
pub struct SourceArgs {
    /// Where values come from
    #[arg(long, value_enum)]
    pub source: SourceKind,
    /// http: the URL template, {key} replaced by the URL-encoded key (default: $FAILSOFT_URL);
    /// langfuse/opik: the base URL (default: LANGFUSE_BASE_URL / OPIK_URL_OVERRIDE)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// http: a request header, repeatable (a name given twice keeps the last value)
    #[arg(long, value_name = "'Name: value'")]
    pub header: Vec<String>,
    /// file: the JSON file of key -> value
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// langfuse: the prompt label to read
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// langfuse: a prompt version number; opik: a config version (vN or latest)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// opik: the project (default: OPIK_PROJECT_NAME); a key of `-` names this project
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// opik: the environment to read
    #[arg(long, value_name = "E")]
    pub env: Option<String>,

    /// Cache TTL (default: FAILSOFT_TTL_SECONDS, else 300)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Cache")]
    pub ttl: Option<Duration>,
    /// How long a read with nothing cached waits (default 5)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Cache")]
    pub cold_deadline: Option<Duration>,
    /// Last-known-good snapshots (default: FAILSOFT_SNAPSHOT_DIR)
    #[arg(long, value_name = "DIR", help_heading = "Cache")]
    pub snapshot_dir: Option<PathBuf>,
    /// Served when the backend fails and nothing is cached
    #[arg(long, value_name = "JSON", value_parser = json, allow_hyphen_values = true, help_heading = "Cache")]
    pub fallback: Option<serde_json::Value>,
    /// Bound on one background fetch (default 10)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Cache")]
    pub request_timeout: Option<Duration>,

    /// Fleet mode: share refreshes and the last known good through Redis (default:
    /// FAILSOFT_REDIS_URL)
    #[arg(long, value_name = "URL", help_heading = "Fleet")]
    pub redis_url: Option<String>,
    /// Prefix of the fleet's Redis keys (default failsoft)
    #[arg(long, value_name = "P", help_heading = "Fleet")]
    pub fleet_prefix: Option<String>,
}

impl SourceArgs {
    /// The flags as core's shared client spec, the one every binding builds from: the CLI maps
    /// flags onto it and builds nothing itself, so an option means the same here as in a library.
    /// Langfuse and Opik keys come from the environment only (a flag would show them in `ps`).
    pub fn spec(&self) -> Result<ClientSpec, String> {
        let source = match self.source {
            SourceKind::Http => SourceSpec::Http {
                url: or_env(self.url.as_deref(), "FAILSOFT_URL")
                    .ok_or("--source http needs --url 'http://…/{key}'")?,
                headers: self.headers()?,
                version_field: None,
            },
            SourceKind::File => {
                let path = self.path.as_ref().ok_or("--source file needs --path FILE.json")?;
                SourceSpec::File { path: utf8("--path", path)? }
            }
            SourceKind::Langfuse => SourceSpec::Langfuse {
                base_url: self.url.clone(),
                public_key: None,
                secret_key: None,
                timeout_seconds: None,
            },
            SourceKind::Opik => SourceSpec::Opik {
                base_url: self.url.clone(),
                api_key: None,
                workspace: None,
                project_name: self.project.clone(),
            },
        };
        let fleet = match (&self.redis_url, &self.fleet_prefix) {
            (Some(url), prefix) => {
                Some(FleetSpec { redis_url: Some(url.clone()), prefix: prefix.clone(), ..Default::default() })
            }
            (None, Some(_)) => return Err("--fleet-prefix needs --redis-url".into()),
            (None, None) => None,
        };
        Ok(ClientSpec {
            source,
            ttl_seconds: self.ttl.map(|d| d.as_secs_f64()),
            cold_deadline_seconds: self.cold_deadline.map(|d| d.as_secs_f64()),
            request_timeout_seconds: self.request_timeout.map(|d| d.as_secs_f64()),
            snapshot_dir: self.snapshot_dir.as_deref().map(|d| utf8("--snapshot-dir", d)).transpose()?,
            refresh_workers: None,
            keep_on_not_found: None,
            fleet,
        })
    }

    /// The client the flags describe. No I/O.
    pub fn client(&self) -> Result<Client, String> {
        build(&self.spec()?)
    }

    /// `--header 'Name: value'`, repeatable; a name given twice keeps its last value.
    fn headers(&self) -> Result<BTreeMap<String, String>, String> {
        self.header
            .iter()
            .map(|h| {
                let (k, v) =
                    h.split_once(':').ok_or_else(|| format!("--header must be 'Name: value', got {h:?}"))?;
                Ok((k.trim().to_string(), v.trim().to_string()))
            })
            .collect()
    }

    /// Rejects the flags of another source.
    fn only_for(&self, given: &[(&str, bool)]) -> Result<(), String> {
        match given.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(format!("--{flag} does not apply to --source {}", self.source.name())),
            None => Ok(()),
        }
    }

    /// The keys a command names, in the source's key syntax: plain keys for http and file; prompt
    /// names with `--label L | --version N` for langfuse; project names (`-`: the `--project` /
    /// `OPIK_PROJECT_NAME` one) with `--env E | --version V | --version latest` for opik.
    pub fn keys(&self, names: &[String]) -> Result<Vec<Key>, String> {
        if names.is_empty() {
            return Err("name at least one key".into());
        }
        let (label, version, env, project) =
            (self.label.is_some(), self.version.is_some(), self.env.is_some(), self.project.is_some());
        match self.source {
            SourceKind::Langfuse => {
                self.only_for(&[("env", env), ("project", project)])?;
                let version = self
                    .version
                    .as_deref()
                    .map(|v| {
                        v.parse::<u64>().map_err(|_| format!("--version must be a whole number, got {v:?}"))
                    })
                    .transpose()?;
                names
                    .iter()
                    .map(|n| {
                        failsoft::prompt::prompt_key(n, self.label.as_deref(), version)
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            }
            SourceKind::Opik => {
                self.only_for(&[("label", label)])?;
                names
                    .iter()
                    .map(|n| {
                        let project = if n == "-" { "" } else { n.as_str() };
                        failsoft::config::config_key(project, self.env.as_deref(), self.version.as_deref())
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            }
            SourceKind::Http | SourceKind::File => {
                self.only_for(&[("label", label), ("version", version), ("env", env), ("project", project)])?;
                Ok(names.iter().map(|n| Key::new(n.as_str())).collect())
            }
        }
    }

    pub fn read_options(&self) -> failsoft::ReadOptions<'static> {
        failsoft::ReadOptions {
            fallback: self.fallback.clone().map(failsoft::Fallback::Value),
            ..Default::default()
        }
    }
}

/// Builds a client from a spec; the error as the CLI prints it.
pub fn build(spec: &ClientSpec) -> Result<Client, String> {
    spec.build().map_err(|e| e.to_string())
}

/// A path flag's value as the spec's text.
fn utf8(flag: &str, path: &Path) -> Result<String, String> {
    path.to_str().map(str::to_string).ok_or_else(|| format!("{flag} must be valid UTF-8, got {path:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        source: SourceArgs,
    }

    fn spec(args: &[&str]) -> Result<ClientSpec, String> {
        Flags::try_parse_from(std::iter::once("failsoft").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?
            .source
            .spec()
    }

    #[test]
    fn flags_map_onto_the_shared_client_spec() {
        let s = spec(&[
            "--source",
            "http",
            "--url",
            "http://h/{key}",
            "--header",
            "Authorization: Bearer t",
            "--ttl",
            "1.5",
            "--cold-deadline",
            "0.25",
            "--request-timeout",
            "3",
            "--snapshot-dir",
            "/tmp/s",
            "--redis-url",
            "redis://127.0.0.1:6379",
            "--fleet-prefix",
            "agents",
        ])
        .unwrap();
        let SourceSpec::Http { url, headers, version_field: None } = &s.source else { panic!("{s:?}") };
        assert_eq!(url, "http://h/{key}");
        assert_eq!(headers.get("Authorization").map(String::as_str), Some("Bearer t"));
        assert_eq!(
            (s.ttl_seconds, s.cold_deadline_seconds, s.request_timeout_seconds),
            (Some(1.5), Some(0.25), Some(3.0))
        );
        assert_eq!(s.snapshot_dir.as_deref(), Some("/tmp/s"));
        let fleet = s.fleet.as_ref().unwrap();
        assert_eq!(fleet.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(fleet.prefix.as_deref(), Some("agents"));

        let s = spec(&["--source", "opik", "--url", "http://o/api", "--project", "p"]).unwrap();
        let SourceSpec::Opik { base_url, api_key: None, workspace: None, project_name } = &s.source else {
            panic!("{s:?}")
        };
        assert_eq!((base_url.as_deref(), project_name.as_deref()), (Some("http://o/api"), Some("p")));
        assert!(s.fleet.is_none() && s.ttl_seconds.is_none());

        // Keys stay in the environment: the spec carries none.
        let s = spec(&["--source", "langfuse", "--url", "http://l"]).unwrap();
        assert!(matches!(&s.source, SourceSpec::Langfuse { public_key: None, secret_key: None, .. }));
    }

    #[test]
    fn flags_the_spec_cannot_take_are_named() {
        assert!(spec(&["--source", "file"]).unwrap_err().contains("--path"));
        let e = spec(&["--source", "http", "--url", "http://h/{key}", "--header", "no colon"]).unwrap_err();
        assert!(e.contains("--header"), "{e}");
        let e = spec(&["--source", "file", "--path", "/x.json", "--fleet-prefix", "p"]).unwrap_err();
        assert!(e.contains("--redis-url"), "{e}");
    }
}
