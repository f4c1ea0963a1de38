//! Where values come from. A client has exactly one source.

use crate::error::Result;
use crate::key::Key;
use std::time::Instant;

/// A value a source fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedValue {
    pub data: serde_json::Value,
    /// The source's version number, when it has one; a lower one never replaces a higher one.
    pub version: Option<i64>,
    /// The validator to send as `If-None-Match` next time.
    pub etag: Option<String>,
    /// Bytes read from the wire (for the `bytes_fetched` counter).
    pub bytes: u64,
}

/// What a source answers for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// A (possibly) new value.
    Modified(FetchedValue),
    /// The conditional request matched: the cached value is still current (HTTP 304).
    NotModified,
}

impl Fetched {
    /// A new value without validator.
    pub fn value(data: serde_json::Value, version: Option<i64>, bytes: u64) -> Self {
        Fetched::Modified(FetchedValue { data, version, etag: None, bytes })
    }
}

/// One fetch: the key, the validator of the cached value, and the instant by which the whole
/// fetch (DNS, connect, every request it needs) must be over.
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    pub key: &'a Key,
    pub etag: Option<&'a str>,
    pub deadline: Instant,
    /// When set, the caller asked to create the value from this seed if the source has none at
    /// all (Opik `get_or_create_config`). Sources that cannot create ignore it.
    pub create_from: Option<&'a serde_json::Value>,
}

/// A backend failsoft reads from. Implementations do blocking I/O and must honour
/// `FetchRequest::deadline`; they are called from library threads, never on a warm read.
pub trait Source: Send + Sync + 'static {
    /// A short name: `http`, `file`, `langfuse`, `opik`.
    fn kind(&self) -> &'static str;

    /// What this source is, for binding snapshots to it: kind, base URL, project or public-key
    /// fingerprint. Never contains a secret.
    fn identity(&self) -> String;

    /// Fetches one key.
    fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched>;

    /// The environment variable that sets this source's default TTL in seconds, honoured so
    /// existing deployments keep their settings (`LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`).
    fn ttl_env(&self) -> Option<&'static str> {
        None
    }

    /// Checks a key before any I/O; a key the source can never serve is `InvalidArgument`.
    fn validate_key(&self, _key: &Key) -> Result<()> {
        Ok(())
    }
}
