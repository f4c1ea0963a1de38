//! Fleet mode (SPEC §10, FLEET.md): Redis as a shared second level behind each process's memory.
//! Consulted only on the refresh path and on cold reads: one process per key holds the refresh
//! lease and fetches for the fleet, the others adopt what it published. Warm reads never get here.

mod breaker;
mod llm_breaker;
mod options;
mod scripts;
mod store;
mod subscriber;

pub use llm_breaker::{CircuitView, RedisCircuit, SharedCircuit};
pub use options::{redact_url, FleetMode, FleetOptions, OnStoreDown};
pub(crate) use store::Shared;
pub(crate) use subscriber::{start_subscriber, Listener};

use crate::error::{Error, Result};
use crate::key::Key;
use crate::source::Fetched;
use crate::value::Payload;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::{Claim, KeyNames, Published, Store, Write};

/// How often a cold reader asks again while another process holds the lease.
const COLD_POLL: Duration = Duration::from_millis(20);

/// Fleet counters `status()` reports.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub adopted: AtomicU64,
    pub leased: AtomicU64,
    pub waited: AtomicU64,
    pub published: AtomicU64,
    pub restored: AtomicU64,
    pub store_errors: AtomicU64,
    pub invalidations: AtomicU64,
}

/// The fleet's part of `status()`.
#[derive(Debug, Clone)]
pub struct FleetStatus {
    /// `up`, or `down` while the store breaker is open.
    pub store: &'static str,
    pub mode: FleetMode,
    pub on_store_down: OnStoreDown,
    /// The Redis URL with any password redacted.
    pub redis_url: String,
    pub adopted: u64,
    pub leased: u64,
    pub waited: u64,
    pub published: u64,
    pub restored: u64,
    pub store_errors: u64,
    pub invalidations: u64,
    pub breaker_opened: u64,
}

impl FleetStatus {
    /// The fleet part of the status JSON (its serde form, see `impl Serialize`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a fleet status always serializes")
    }
}

/// `{"store", "mode", "on_store_down", "redis_url" (password redacted), "counters": {...}}`.
impl serde::Serialize for FleetStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let counters = serde_json::json!({
            "adopted": self.adopted, "leased": self.leased, "waited": self.waited,
            "published": self.published, "restored": self.restored,
            "store_errors": self.store_errors, "invalidations": self.invalidations,
            "breaker_opened": self.breaker_opened,
        });
        let mut s = serializer.serialize_struct("FleetStatus", 5)?;
        s.serialize_field("store", self.store)?;
        s.serialize_field("mode", self.mode.as_str())?;
        s.serialize_field("on_store_down", self.on_store_down.as_str())?;
        s.serialize_field("redis_url", &self.redis_url)?;
        s.serialize_field("counters", &counters)?;
        s.end()
    }
}

/// What the fleet made of a due refresh.
pub(crate) enum Got {
    /// The backend was asked (under the lease, or directly while the store is down).
    Fetched(Result<Fetched>),
    /// Use the shared entry; no backend call.
    Adopted(Shared),
    /// Nothing to do now (another process is fetching, or no backend call is allowed): try
    /// again after the duration; the error is what a cold reader gets meanwhile.
    Deferred(Duration, Option<Error>),
}

/// One client's view of the fleet: its store, identity, channel and counters.
pub(crate) struct Fleet {
    pub opts: FleetOptions,
    store: Store,
    identity_hash: String,
    channel: String,
    /// Lease tokens are per process (re-entrant: a holder that adopted a stale entry on a cold
    /// read may fetch under the same lease), tagged with the pid so a forked child differs.
    token_seed: u64,
    pub counters: Counters,
}

/// FNV-1a: a stable, dependency-free hash of the source identity (which holds no secret).
fn identity_hash(identity: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Fleet {
    pub(crate) fn new(opts: FleetOptions, source_identity: &str) -> Result<Fleet> {
        opts.validate()?;
        let store = Store::new(&opts)?;
        let identity_hash = identity_hash(source_identity);
        let channel = format!("{}:v1:inv:{identity_hash}", opts.prefix);
        Ok(Fleet {
            opts,
            store,
            identity_hash,
            channel,
            token_seed: fastrand::u64(..),
            counters: Counters::default(),
        })
    }

    fn names(&self, key: &str) -> KeyNames {
        KeyNames::new(&self.opts.prefix, &self.identity_hash, key)
    }

    fn token(&self) -> String {
        format!("{}-{:016x}", std::process::id(), self.token_seed)
    }

    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    pub(crate) fn store_connect(&self, timeout: Duration) -> redis::RedisResult<redis::Connection> {
        self.store.connect(timeout)
    }

    pub(crate) fn scrub(&self, text: String) -> String {
        self.store.scrub(text)
    }

    /// The age under which a shared entry is adopted instead of refreshed: just short of the TTL
    /// (by 5 %, at most 1 s — the time a fetch takes), so the fleet fetches about once per TTL
    /// and a steadily read key still never turns stale.
    pub(crate) fn fresh_for(ttl: Duration) -> Duration {
        ttl.saturating_sub((ttl / 20).min(Duration::from_secs(1)))
    }

    /// When this process next asks Redis about a key fetched `ttl` ago: after the shared entry
    /// stops being fresh, jittered over most of the remaining margin so asks spread out.
    pub(crate) fn ask_after(ttl: Duration) -> Duration {
        let fresh = Fleet::fresh_for(ttl);
        fresh + (ttl - fresh).mul_f64(0.8 * fastrand::f64())
    }

    /// How long a warm process waits before asking again while someone else holds the lease.
    fn busy_retry(ttl: Duration, left: Duration) -> Duration {
        left.min((ttl / 10).max(Duration::from_millis(50)))
    }

    fn store_down(&self, why: String, cold: bool) -> Option<Got> {
        self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
        log::debug!("fleet: store call failed: {why}");
        let probe = self.opts.breaker_probe;
        if self.opts.mode == FleetMode::ReadOnly {
            return Some(Got::Deferred(
                probe,
                Some(Error::unavailable(format!("shared store unreachable: {why}"))),
            ));
        }
        match self.opts.on_store_down {
            OnStoreDown::Direct => None,
            OnStoreDown::StaleOnly => {
                let e = cold.then(|| {
                    Error::unavailable(format!(
                        "shared store unreachable ({why}) and on_store_down is stale_only"
                    ))
                });
                Some(Got::Deferred(probe, e))
            }
        }
    }

    /// A due refresh (refresh-ahead, stale or cold) of `key`, through the fleet. `fetch` calls
    /// the backend; `backoff(e, n)` is the wait after the n-th failure in a row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn refresh(
        &self,
        key: &Key,
        ttl: Duration,
        current: Option<&Payload>,
        cold_until: Instant,
        lease_for: Duration,
        fetch: &mut dyn FnMut() -> Result<Fetched>,
        backoff: &dyn Fn(&Error, u32) -> Duration,
    ) -> Got {
        let canonical = key.canonical();
        let names = self.names(&canonical);
        let ours = current.map(|p| (p.version, p.etag.as_deref()));
        let read_only = self.opts.mode == FleetMode::ReadOnly;
        let token = self.token();
        let mut waited = false;
        loop {
            let claim =
                match self.store.claim(&names, Fleet::fresh_for(ttl), lease_for, &token, read_only, ours) {
                    Ok(c) => c,
                    Err(why) => {
                        return match self.store_down(why, current.is_none()) {
                            Some(got) => got,
                            None => Got::Fetched(fetch()),
                        }
                    }
                };
            match claim {
                Claim::Fresh(s) => {
                    self.counters.adopted.fetch_add(1, Ordering::Relaxed);
                    return Got::Adopted(s);
                }
                Claim::Stale(Some(s)) if s.data.is_some() || current.is_some() => {
                    self.counters.adopted.fetch_add(1, Ordering::Relaxed);
                    return Got::Adopted(s);
                }
                Claim::Stale(_) => {
                    let e = Error::unavailable(
                        "no shared value yet (fleet mode read_only never calls the backend)",
                    );
                    return Got::Deferred(Fleet::busy_retry(ttl, ttl), Some(e));
                }
                Claim::Leased { shared, fails } => {
                    self.counters.leased.fetch_add(1, Ordering::Relaxed);
                    match (&shared, current) {
                        // Cold, with the fleet's last known good at hand: serve it now; the
                        // lease is ours (re-entrant), so the refresh that follows fetches.
                        (Some(s), None) if s.data.is_some() => {
                            self.counters.adopted.fetch_add(1, Ordering::Relaxed);
                            return Got::Adopted(shared.unwrap());
                        }
                        (None, Some(p)) => self.restore(&names, &token, &canonical, p),
                        _ => {}
                    }
                    let result = fetch();
                    self.after_fetch(&names, &token, &canonical, &result, current, fails, backoff);
                    return Got::Fetched(result);
                }
                Claim::Busy { shared, left } => {
                    if let Some(s) = shared.filter(|s| s.data.is_some()) {
                        self.counters.adopted.fetch_add(1, Ordering::Relaxed);
                        return Got::Adopted(s);
                    }
                    if current.is_none() && Instant::now() + COLD_POLL < cold_until {
                        if !waited {
                            waited = true;
                            self.counters.waited.fetch_add(1, Ordering::Relaxed);
                        }
                        std::thread::sleep(COLD_POLL);
                        continue;
                    }
                    let e = current
                        .is_none()
                        .then(|| Error::timeout("another process of the fleet is fetching this key"));
                    return Got::Deferred(Fleet::busy_retry(ttl, left), e);
                }
            }
        }
    }

    /// The store was emptied (restart, FLUSHALL, failover) while memory holds a value: write it
    /// back with its real age, so a process started now serves it without it looking fresher.
    fn restore(&self, names: &KeyNames, token: &str, key: &str, p: &Payload) {
        let Ok(data) = serde_json::to_string(&*p.data) else { return };
        let w = Write::Restore { version: p.version, etag: p.etag.as_deref(), data: &data, age: p.age() };
        match self.store.publish(names, token, w, &self.channel, key) {
            Ok(Published::Written) => {
                self.counters.restored.fetch_add(1, Ordering::Relaxed);
                log::info!("fleet: wrote {key} back into the emptied shared store");
            }
            Ok(_) => {}
            Err(why) => {
                self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                log::debug!("fleet: write-back of {key} failed: {why}");
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn after_fetch(
        &self,
        names: &KeyNames,
        token: &str,
        key: &str,
        result: &Result<Fetched>,
        current: Option<&Payload>,
        fails: u32,
        backoff: &dyn Fn(&Error, u32) -> Duration,
    ) {
        let outcome = match result {
            Ok(Fetched::Modified(v)) => {
                let Ok(data) = serde_json::to_string(&v.data) else { return };
                let w = Write::New { version: v.version, etag: v.etag.as_deref(), data: &data };
                self.store.publish(names, token, w, &self.channel, key)
            }
            Ok(Fetched::NotModified) => {
                let version = current.and_then(|p| p.version);
                match self.store.publish(names, token, Write::Same { version }, &self.channel, key) {
                    Ok(Published::Missing) => {
                        match current.and_then(|p| serde_json::to_string(&*p.data).ok()) {
                            Some(data) => {
                                let etag = current.and_then(|p| p.etag.as_deref());
                                self.store.publish(
                                    names,
                                    token,
                                    Write::New { version, etag, data: &data },
                                    &self.channel,
                                    key,
                                )
                            }
                            None => Ok(Published::Missing),
                        }
                    }
                    other => other,
                }
            }
            Err(e) => {
                // Hold the lease for the backoff step: the whole fleet waits it out together.
                let hold = backoff(e, fails.saturating_add(1));
                self.store.fail(names, token, hold).map(|()| Published::Missing)
            }
        };
        match outcome {
            Ok(Published::Written) => {
                self.counters.published.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Published::Older) => log::debug!("fleet: {key}: a newer version is already shared"),
            Ok(_) => {}
            Err(why) => {
                self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                log::debug!("fleet: publishing {key} failed: {why}");
            }
        }
    }

    /// The shared entry of `key` as it is now (no lease), for a pub/sub hint or a catch-up.
    pub(crate) fn read(&self, key: &Key, current: Option<&Payload>) -> Option<Shared> {
        let canonical = key.canonical();
        let names = self.names(&canonical);
        let ours = current.map(|p| (p.version, p.etag.as_deref()));
        match self.store.claim(&names, Duration::ZERO, Duration::from_millis(1), "", true, ours) {
            Ok(Claim::Stale(s)) => s,
            Ok(Claim::Fresh(s)) => Some(s),
            Ok(_) => None,
            Err(why) => {
                self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                log::debug!("fleet: reading {canonical} failed: {why}");
                None
            }
        }
    }

    /// Marks `key` due fleet-wide: the shared entry stops counting as fresh and every process
    /// is told to refresh it (one of them fetches, under the lease).
    pub(crate) fn invalidate(&self, key: &Key) -> Result<()> {
        let canonical = key.canonical();
        self.store.invalidate(&self.names(&canonical), &self.channel, &canonical).map_err(|why| {
            self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
            Error::unavailable(format!("could not invalidate {canonical} in the shared store: {why}"))
        })
    }

    pub(crate) fn status(&self) -> FleetStatus {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FleetStatus {
            store: if self.store.breaker.is_open() { "down" } else { "up" },
            mode: self.opts.mode,
            on_store_down: self.opts.on_store_down,
            redis_url: redact_url(&self.opts.redis_url),
            adopted: g(&c.adopted),
            leased: g(&c.leased),
            waited: g(&c.waited),
            published: g(&c.published),
            restored: g(&c.restored),
            store_errors: g(&c.store_errors),
            invalidations: g(&c.invalidations),
            breaker_opened: g(&self.store.breaker.opened),
        }
    }
}
