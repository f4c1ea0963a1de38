//! A local JSON file holding an object of key → value, re-read on every refresh (a file changed
//! on disk is picked up like a new version). Its mtime and length act as the ETag, so an
//! unchanged file is not parsed again.

use crate::error::{Error, Result};
use crate::source::{FetchRequest, Fetched, FetchedValue, Source};
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
}

impl FileSource {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into() }
    }

    fn stamp(&self) -> Result<String> {
        let meta = std::fs::metadata(&self.path).map_err(|e| self.io_error(e))?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
        Ok(format!("{}.{:09}-{}", mtime.as_secs(), mtime.subsec_nanos(), meta.len()))
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        let what = format!("{}: {e}", self.path.display());
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::unavailable(format!("file missing: {what}")),
            _ => Error::unavailable(what),
        }
    }
}

impl Source for FileSource {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn identity(&self) -> String {
        let abs = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        format!("file|{}", abs.display())
    }

    fn validate_key(&self, key: &crate::Key) -> Result<()> {
        if key.qualifier != crate::Qualifier::Default {
            return Err(Error::invalid_argument(
                "the file source takes plain keys (no label, version or env)",
            ));
        }
        Ok(())
    }

    fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched> {
        let stamp = self.stamp()?;
        if req.etag == Some(stamp.as_str()) {
            return Ok(Fetched::NotModified);
        }
        let bytes = std::fs::read(&self.path).map_err(|e| self.io_error(e))?;
        let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid_response(format!("{} is not valid JSON ({e})", self.path.display()))
        })?;
        let serde_json::Value::Object(mut map) = doc else {
            return Err(Error::invalid_response(format!(
                "{} must hold a JSON object of key → value",
                self.path.display()
            )));
        };
        let data = map.remove(&req.key.name).ok_or_else(|| {
            Error::not_found(format!("no key {:?} in {}", req.key.name, self.path.display()))
        })?;
        let version = data.get("version").and_then(|v| v.as_i64());
        Ok(Fetched::Modified(FetchedValue { data, version, etag: Some(stamp), bytes: bytes.len() as u64 }))
    }
}
