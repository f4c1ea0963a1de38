//! Building a source and client options from flags and environment variables.

use crate::args::Args;
use failsoft::sources::{FileSource, HttpSource};
use failsoft::{ClientOptions, Key, Source};
use std::sync::Arc;

/// Flags every source-reading command accepts.
pub const SOURCE_FLAGS: &[&str] =
    &["source", "url", "header", "path", "ttl", "cold-deadline", "snapshot-dir", "fallback", "help"];

pub fn build_source(args: &Args) -> Result<Arc<dyn Source>, String> {
    let kind = args.get("source").ok_or("--source is required (http, file)")?;
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
        other => Err(format!("unknown --source {other:?} (expected http or file)")),
    }
}

/// The keys a command names, in the source's key syntax.
pub fn keys(_args: &Args, names: &[String]) -> Result<Vec<Key>, String> {
    if names.is_empty() {
        return Err("name at least one key".into());
    }
    Ok(names.iter().map(|n| Key::new(n.as_str())).collect())
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
    Ok(o)
}

pub fn fallback(args: &Args) -> Result<Option<serde_json::Value>, String> {
    args.get("fallback")
        .map(|raw| serde_json::from_str(raw).map_err(|e| format!("--fallback must be JSON ({e}): {raw}")))
        .transpose()
}
