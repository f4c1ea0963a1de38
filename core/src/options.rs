//! Client and read options, with their defaults and the environment variables behind them.

use crate::error::{Error, Result};
use crate::fleet::FleetOptions;
use std::path::PathBuf;
use std::time::Duration;

/// Default TTL of a cached value (SPEC §3).
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Default bound on a cold read, DNS, connect and retries included (SPEC §2).
pub const DEFAULT_COLD_DEADLINE: Duration = Duration::from_secs(5);

/// Options of a [`crate::Client`]. Every field has a documented default; `Default` gives them.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Cache TTL. `None`: `FAILSOFT_TTL_SECONDS`, else the source's own variable
    /// (e.g. `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`), else 300 s. Zero: fetch on every read.
    pub ttl: Option<Duration>,
    /// How long a read with nothing cached waits for the backend before falling back. 5 s.
    pub cold_deadline: Duration,
    /// Bound on one background fetch (a refresh, or a cold fetch that outlives its reader). 10 s.
    pub request_timeout: Duration,
    /// Background refresh workers. 4.
    pub refresh_workers: usize,
    /// Last-known-good snapshots. `None`: `FAILSOFT_SNAPSHOT_DIR` if set, else no snapshots.
    pub snapshot_dir: Option<PathBuf>,
    /// Keep serving a key whose refresh answers 404 instead of evicting it. false.
    pub keep_on_not_found: bool,
    /// The one quick retry of a cold fetch that got an HTTP error answer. 150 ms.
    pub quick_retry_delay: Duration,
    /// First backoff after a failed refresh; doubles up to `backoff_cap`, up to 50 % jitter. 1 s.
    pub backoff_base: Duration,
    /// 30 s.
    pub backoff_cap: Duration,
    /// Retry interval while the source refuses the credentials (status `fatal`). 300 s.
    pub auth_retry_interval: Duration,
    /// Keys not read for this many TTLs stop being refreshed ahead. 10.
    pub idle_ttls: u32,
    /// Fleet mode: share refreshes and the last known good through Redis (SPEC §10).
    /// `None`: `FAILSOFT_REDIS_URL` if set, else off.
    pub fleet: Option<FleetOptions>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ttl: None,
            cold_deadline: DEFAULT_COLD_DEADLINE,
            request_timeout: Duration::from_secs(10),
            refresh_workers: 4,
            snapshot_dir: None,
            keep_on_not_found: false,
            quick_retry_delay: Duration::from_millis(150),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            auth_retry_interval: Duration::from_secs(300),
            idle_ttls: 10,
            fleet: None,
        }
    }
}

impl ClientOptions {
    /// Rejects options that cannot work, naming the option.
    pub fn validate(&self) -> Result<()> {
        if self.cold_deadline.is_zero() {
            return Err(Error::invalid_argument("cold_deadline must be greater than zero"));
        }
        if self.request_timeout.is_zero() {
            return Err(Error::invalid_argument("request_timeout must be greater than zero"));
        }
        if self.refresh_workers == 0 || self.refresh_workers > 64 {
            return Err(Error::invalid_argument("refresh_workers must be between 1 and 64"));
        }
        if self.backoff_base.is_zero() || self.backoff_cap < self.backoff_base {
            return Err(Error::invalid_argument("backoff_base must be > 0 and <= backoff_cap"));
        }
        if let Some(f) = &self.fleet {
            f.validate()?;
        }
        Ok(())
    }

    /// The fleet options in force: this option, else `FAILSOFT_REDIS_URL`.
    pub fn resolve_fleet(&self) -> Option<FleetOptions> {
        self.fleet.clone().or_else(FleetOptions::from_env)
    }

    /// The TTL in force: this option, else `FAILSOFT_TTL_SECONDS`, else `source_env`, else 300 s.
    pub fn resolve_ttl(&self, source_env: Option<&str>) -> Duration {
        self.ttl
            .or_else(|| env_seconds("FAILSOFT_TTL_SECONDS"))
            .or_else(|| source_env.and_then(env_seconds))
            .unwrap_or(DEFAULT_TTL)
    }

    /// The snapshot directory in force: this option, else `FAILSOFT_SNAPSHOT_DIR`.
    pub fn resolve_snapshot_dir(&self) -> Option<PathBuf> {
        self.snapshot_dir.clone().or_else(|| {
            std::env::var_os("FAILSOFT_SNAPSHOT_DIR").filter(|v| !v.is_empty()).map(PathBuf::from)
        })
    }
}

/// Seconds from an environment variable; unset → `None`, invalid → `None` with a warning.
pub fn env_seconds(name: &str) -> Option<Duration> {
    let raw = std::env::var(name).ok()?;
    match parse_seconds(&raw) {
        Some(d) => Some(d),
        None => {
            log::warn!("ignoring {name}={raw:?}: expected a non-negative number of seconds");
            None
        }
    }
}

/// A non-negative, finite number of seconds.
pub fn parse_seconds(raw: &str) -> Option<Duration> {
    let v: f64 = raw.trim().parse().ok()?;
    (v.is_finite() && (0.0..1e9).contains(&v)).then(|| Duration::from_secs_f64(v))
}

/// A caller-supplied fallback: a value, or a function called only when the fallback is needed.
pub enum Fallback<'a> {
    Value(serde_json::Value),
    Lazy(Box<dyn FnOnce() -> Result<serde_json::Value> + 'a>),
}

impl std::fmt::Debug for Fallback<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Fallback::Lazy(_) => f.write_str("Lazy(..)"),
        }
    }
}

impl Fallback<'_> {
    pub(crate) fn produce(self) -> Result<serde_json::Value> {
        match self {
            Fallback::Value(v) => Ok(v),
            Fallback::Lazy(f) => f(),
        }
    }
}

/// Per-read options; `ReadOptions::default()` reads with the client's settings and no fallback.
#[derive(Debug, Default)]
pub struct ReadOptions<'a> {
    /// Overrides the client's TTL for this read.
    pub ttl: Option<Duration>,
    /// Overrides the client's cold deadline for this read.
    pub cold_deadline: Option<Duration>,
    /// Served when nothing cached, no snapshot and the fetch failed.
    pub fallback: Option<Fallback<'a>>,
    /// Create the value from this seed when the source has none at all (Opik get_or_create).
    pub create_from: Option<serde_json::Value>,
}

impl<'a> ReadOptions<'a> {
    pub fn with_fallback(fallback: serde_json::Value) -> Self {
        ReadOptions { fallback: Some(Fallback::Value(fallback)), ..Default::default() }
    }
}
