//! Fleet options (SPEC §10): where the shared store is and how a process behaves towards it.

use crate::error::{Error, Result};
use std::fmt;
use std::time::Duration;

/// Default retention of a shared entry: an outage must never erase the last known good.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default bound on each Redis call (connect, command): well under any cold deadline.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(250);

/// Whether this process refreshes for the fleet or only reads what others wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetMode {
    /// Take refresh leases and write what it fetched (the default).
    Share,
    /// Read shared entries only; never call the backend (a single writer such as
    /// `failsoft fleet warm` keeps them fresh).
    ReadOnly,
}

/// What a process does while the shared store is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStoreDown {
    /// Refresh from the backend on its own, as without a fleet (the default).
    Direct,
    /// No backend call without a lease: keep serving what memory holds (for tight rate limits).
    StaleOnly,
}

/// Fleet mode options. `redis_url` is a secret-bearing string: `Debug` shows it redacted.
#[derive(Clone, PartialEq)]
pub struct FleetOptions {
    /// `redis://[user][:password@]host[:port][/db]` or `rediss://…` (TLS).
    pub redis_url: String,
    /// Prefix of every Redis key and channel. `failsoft`.
    pub prefix: String,
    pub mode: FleetMode,
    pub on_store_down: OnStoreDown,
    /// How long a shared entry outlives its last write. 7 days.
    pub retention: Duration,
    /// Bound on each Redis call. 250 ms.
    pub store_timeout: Duration,
    /// Consecutive store failures that open the store breaker. 3.
    pub breaker_failures: u32,
    /// How often an open store breaker lets one call probe Redis. 1 s.
    pub breaker_probe: Duration,
}

impl fmt::Debug for FleetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetOptions")
            .field("redis_url", &redact_url(&self.redis_url))
            .field("prefix", &self.prefix)
            .field("mode", &self.mode)
            .field("on_store_down", &self.on_store_down)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl FleetOptions {
    /// Options for `redis_url` with every other option at its default.
    pub fn new(redis_url: impl Into<String>) -> Self {
        FleetOptions {
            redis_url: redis_url.into(),
            prefix: "failsoft".into(),
            mode: FleetMode::Share,
            on_store_down: OnStoreDown::Direct,
            retention: DEFAULT_RETENTION,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            breaker_failures: 3,
            breaker_probe: Duration::from_secs(1),
        }
    }

    /// `FAILSOFT_REDIS_URL` turns fleet mode on process-wide; an invalid one is ignored with a
    /// warning (as every other environment setting is), so a typo never stops an agent.
    pub fn from_env() -> Option<FleetOptions> {
        let url = std::env::var("FAILSOFT_REDIS_URL").ok().filter(|v| !v.trim().is_empty())?;
        let o = FleetOptions::new(url.trim());
        match o.validate() {
            Ok(()) => Some(o),
            Err(e) => {
                log::warn!("ignoring FAILSOFT_REDIS_URL: {}", e.message);
                None
            }
        }
    }

    /// Rejects options that cannot work, naming the option; never echoes a password.
    pub fn validate(&self) -> Result<()> {
        let url = self.redis_url.trim();
        let scheme_ok =
            ["redis://", "rediss://", "unix://", "redis+unix://"].iter().any(|s| url.starts_with(s));
        if !scheme_ok || redis::Client::open(url).is_err() {
            return Err(Error::invalid_argument(format!(
                "fleet.redis_url must be a redis://, rediss:// or unix:// URL, got {:?}",
                redact_url(url)
            )));
        }
        if self.prefix.is_empty() || self.prefix.contains(['{', '}', ' ']) {
            return Err(Error::invalid_argument(format!(
                "fleet.prefix must be non-empty without braces or spaces, got {:?}",
                self.prefix
            )));
        }
        if self.retention < Duration::from_secs(1) {
            return Err(Error::invalid_argument("fleet.retention_seconds must be at least 1"));
        }
        if self.store_timeout.is_zero() {
            return Err(Error::invalid_argument("fleet store timeout must be greater than zero"));
        }
        if self.breaker_failures == 0 || self.breaker_probe.is_zero() {
            return Err(Error::invalid_argument("fleet breaker settings must be greater than zero"));
        }
        Ok(())
    }

    /// The password in the URL, if any, so error texts from the Redis client can be scrubbed.
    pub(crate) fn password(&self) -> Option<String> {
        let rest = self.redis_url.split_once("://")?.1;
        let authority = rest.split(['/', '?']).next()?;
        let userinfo = authority.rsplit_once('@')?.0;
        let pw = userinfo.split_once(':')?.1;
        (!pw.is_empty()).then(|| pw.to_string())
    }
}

impl FleetMode {
    pub fn parse(s: &str) -> Result<FleetMode> {
        match s {
            "share" => Ok(FleetMode::Share),
            "read_only" => Ok(FleetMode::ReadOnly),
            _ => Err(Error::invalid_argument(format!(
                "fleet.mode must be \"share\" or \"read_only\", got {s:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FleetMode::Share => "share",
            FleetMode::ReadOnly => "read_only",
        }
    }
}

impl OnStoreDown {
    pub fn parse(s: &str) -> Result<OnStoreDown> {
        match s {
            "direct" => Ok(OnStoreDown::Direct),
            "stale_only" => Ok(OnStoreDown::StaleOnly),
            _ => Err(Error::invalid_argument(format!(
                "fleet.on_store_down must be \"direct\" or \"stale_only\", got {s:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnStoreDown::Direct => "direct",
            OnStoreDown::StaleOnly => "stale_only",
        }
    }
}

/// The URL with any password replaced by `***`: safe for logs, errors, status and reprs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') { "***".into() } else { url.to_string() };
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map(|(u, _)| u);
            match user {
                Some(u) => format!("{scheme}://{u}:***@{host}{tail}"),
                None => format!("{scheme}://{userinfo}@{host}{tail}"),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:hunter2@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("rediss://app:hunter2@h/1"), "rediss://app:***@h/1");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        let o = FleetOptions::new("redis://app:hunter2@127.0.0.1:1/0");
        assert!(!format!("{o:?}").contains("hunter2"));
        assert_eq!(o.password().as_deref(), Some("hunter2"));
        let e = FleetOptions::new("http://:hunter2@h/0").validate().unwrap_err();
        assert!(e.message.contains("fleet.redis_url") && !e.message.contains("hunter2"), "{e}");
    }
}
