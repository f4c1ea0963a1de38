//! Building a source and client options from flags and environment variables.

use crate::args::Args;
use failsoft::sources::{FileSource, HttpSource, LangfuseOptions, LangfuseSource, OpikOptions, OpikSource};
use failsoft::{ClientOptions, Key, Source};
use std::sync::Arc;

/// Flags every source-reading command accepts.
pub const SOURCE_FLAGS: &[&str] = &[
    "source",
    "url",
    "header",
    "path",
    "ttl",
    "cold-deadline",
    "snapshot-dir",
    "fallback",
    "help",
    // fleet mode: --redis-url URL (else FAILSOFT_REDIS_URL), --fleet-prefix P
    "redis-url",
    "fleet-prefix",
    "request-timeout",
    // langfuse: --label L | --version N (credentials from LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY)
    "label",
    "version",
    // opik: --project P, --env E | --version V | --version latest (OPIK_API_KEY, OPIK_WORKSPACE)
    "project",
    "env",
];

pub fn build_source(args: &Args) -> Result<Arc<dyn Source>, String> {
    let kind = args.get("source").ok_or("--source is required (http, file, langfuse, opik)")?;
    match kind {
        "http" => {
            let url =
                args.get_or_env("url", "FAILSOFT_URL").ok_or("--source http needs --url 'http://…/{key}'")?;
            let mut s = HttpSource::new(url).map_err(|e| e.to_string())?;
            for h in args.all("header") {
                let (k, v) =
                    h.split_once(':').ok_or_else(|| format!("--header must be 'Name: value', got {h:?}"))?;
                s = s.header(k.trim(), v.trim());
            }
            Ok(Arc::new(s))
        }
        "file" => {
            let path = args.get("path").ok_or("--source file needs --path FILE.json")?;
            Ok(Arc::new(FileSource::new(path)))
        }
        // Base URL: --url, else LANGFUSE_BASE_URL / LANGFUSE_HOST; keys from the environment.
        "langfuse" => {
            let options =
                LangfuseOptions { base_url: args.get("url").map(str::to_string), ..Default::default() };
            Ok(Arc::new(LangfuseSource::new(options).map_err(|e| e.to_string())?))
        }
        // Base URL: --url, else OPIK_URL_OVERRIDE; project: --project, else OPIK_PROJECT_NAME.
        "opik" => {
            let options = OpikOptions {
                base_url: args.get("url").map(str::to_string),
                project_name: args.get("project").map(str::to_string),
                ..Default::default()
            };
            Ok(Arc::new(OpikSource::new(options).map_err(|e| e.to_string())?))
        }
        other => Err(format!("unknown --source {other:?} (expected http, file, langfuse or opik)")),
    }
}

/// Rejects the flags of another source.
fn only_for(args: &Args, source: &str, flags: &[&str]) -> Result<(), String> {
    match flags.iter().find(|f| args.get(f).is_some()) {
        Some(f) => Err(format!("--{f} does not apply to --source {source}")),
        None => Ok(()),
    }
}

/// The keys a command names, in the source's key syntax: plain keys for http and file; prompt
/// names with `--label L | --version N` for langfuse; project names (`-`: the `--project` /
/// `OPIK_PROJECT_NAME` one) with `--env E | --version V | --version latest` for opik.
pub fn keys(args: &Args, names: &[String]) -> Result<Vec<Key>, String> {
    if names.is_empty() {
        return Err("name at least one key".into());
    }
    let source = args.get("source").unwrap_or_default();
    match source {
        "langfuse" => {
            only_for(args, source, &["env", "project"])?;
            let version = args
                .get("version")
                .map(|v| v.parse::<u64>().map_err(|_| format!("--version must be a whole number, got {v:?}")))
                .transpose()?;
            names
                .iter()
                .map(|n| {
                    failsoft::prompt::prompt_key(n, args.get("label"), version).map_err(|e| e.to_string())
                })
                .collect()
        }
        "opik" => {
            only_for(args, source, &["label"])?;
            names
                .iter()
                .map(|n| {
                    let project = if n == "-" { "" } else { n.as_str() };
                    failsoft::config::config_key(project, args.get("env"), args.get("version"))
                        .map_err(|e| e.to_string())
                })
                .collect()
        }
        _ => {
            only_for(args, source, &["label", "version", "env", "project"])?;
            Ok(names.iter().map(|n| Key::new(n.as_str())).collect())
        }
    }
}

pub fn client_options(args: &Args) -> Result<ClientOptions, String> {
    let mut o = ClientOptions::default();
    if let Some(ttl) = args.seconds("ttl")? {
        o.ttl = Some(ttl);
    }
    if let Some(d) = args.seconds("cold-deadline")? {
        o.cold_deadline = d;
    }
    if let Some(dir) = args.get("snapshot-dir") {
        o.snapshot_dir = Some(dir.into());
    }
    if let Some(t) = args.seconds("request-timeout")? {
        o.request_timeout = t;
    }
    if let Some(url) = args.get("redis-url") {
        let fleet = failsoft::FleetSpec {
            redis_url: Some(url.to_string()),
            prefix: args.get("fleet-prefix").map(str::to_string),
            ..Default::default()
        };
        o.fleet = Some(fleet.options().map_err(|e| e.message)?);
    }
    Ok(o)
}

pub fn fallback(args: &Args) -> Result<Option<serde_json::Value>, String> {
    args.get("fallback")
        .map(|raw| serde_json::from_str(raw).map_err(|e| format!("--fallback must be JSON ({e}): {raw}")))
        .transpose()
}
