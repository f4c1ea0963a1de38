//! Where values come from. A client has exactly one source.

use crate::error::Result;
use crate::key::Key;
use std::time::Instant;

/// What a source answers for a key.
#[derive(Debug)]
pub enum Fetched {
    /// A (possibly) new value.
    Modified { data: serde_json::Value, version: Option<i64>, etag: Option<String> },
    /// The conditional request matched: the cached value is still current (HTTP 304).
    NotModified,
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
