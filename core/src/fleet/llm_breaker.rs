//! The LLM circuit breaker shared by the fleet (issue 13, part 8): a target's consecutive
//! failures, open-until and half-open probe owner live in Redis, so when one process finds a
//! primary dead the others skip it within about a second, and one process of the whole fleet
//! probes it per cooldown.
//!
//! Behind the [`SharedCircuit`] trait so the LLM client's per-(base URL, model) breakers
//! (`core/src/llm/breaker.rs`) consult it without knowing Redis. Calls never wait on Redis: `view` answers from a local copy at most about a
//! second old (refreshed off the caller's thread), and outcomes are recorded off it too. Redis
//! down: `view` is `None` and `claim_probe` is `None`, and the caller keeps its local breaker.

use super::options::FleetOptions;
use super::store::Store;
use crate::entry::lock;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How old the local copy of a target's circuit may get.
const MAX_VIEW_AGE: Duration = Duration::from_millis(500);

/// A target's circuit as the fleet sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CircuitView {
    /// Failed calls in a row, fleet-wide.
    pub failures: u32,
    /// How much longer the circuit stays open (`None`: closed).
    pub open_for: Option<Duration>,
}

/// A circuit breaker state shared between processes. `target` names one (base URL, model).
pub trait SharedCircuit: Send + Sync {
    /// The fleet's view of `target`, never waiting on the store; `None` when unknown or the
    /// store is unreachable (use the local breaker).
    fn view(&self, target: &str) -> Option<CircuitView>;
    /// A failed call: at `threshold` failures in a row the circuit opens for `cooldown`, or
    /// until `retry_after` if later; an open-until is only ever extended, never shortened.
    fn failure(&self, target: &str, threshold: u32, cooldown: Duration, retry_after: Option<Duration>);
    /// A successful call closes the circuit fleet-wide.
    fn success(&self, target: &str);
    /// While open: whether this process owns the one probe of this cooldown (`None`: the store is
    /// unreachable, decide locally).
    fn claim_probe(&self, target: &str, cooldown: Duration) -> Option<bool>;
}

/// `failure(circuit; threshold, cooldown_ms, retry_after_ms, keep_ms)` → `{failures, open_ms}`.
static FAILURE: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'open_until')) or 0
if n >= tonumber(ARGV[1]) then
  local wanted = now + math.max(tonumber(ARGV[2]), tonumber(ARGV[3]))
  if wanted > until_ms then until_ms = wanted end
  redis.call('HSET', KEYS[1], 'open_until', until_ms)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {n, math.max(0, until_ms - now)}
"#,
    )
});

/// `view(circuit)` → `{failures, open_ms}`.
static VIEW: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('HMGET', KEYS[1], 'failures', 'open_until')
return {tonumber(e[1]) or 0, math.max(0, (tonumber(e[2]) or 0) - now)}
"#,
    )
});

struct Cached {
    at: Instant,
    view: Option<CircuitView>,
    refreshing: Arc<AtomicBool>,
}

/// [`SharedCircuit`] on the fleet's Redis.
pub struct RedisCircuit {
    store: Arc<Store>,
    prefix: String,
    token: String,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl std::fmt::Debug for RedisCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCircuit").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisCircuit {
    /// A shared circuit store under `opts.prefix`; `identity` names the LLM client's fleet
    /// (never a secret). No I/O.
    pub fn new(opts: &FleetOptions, identity: &str) -> crate::Result<RedisCircuit> {
        opts.validate()?;
        Ok(RedisCircuit {
            store: Arc::new(Store::new(opts)?),
            prefix: format!("{}:v1:llm:{}", opts.prefix, super::identity_hash(identity)),
            token: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            cache: Arc::default(),
        })
    }

    fn key(&self, target: &str) -> String {
        format!("{}:{{{target}}}", self.prefix)
    }

    fn fetch_view(store: &Store, key: &str) -> Option<CircuitView> {
        let (failures, open_ms): (i64, i64) = store.call(|con| VIEW.key(key).invoke(con)).ok()?;
        Some(to_view(failures, open_ms))
    }

    fn remember(cache: &Mutex<HashMap<String, Cached>>, target: &str, view: Option<CircuitView>) {
        let mut c = lock(cache);
        let refreshing = c.get(target).map(|e| e.refreshing.clone()).unwrap_or_default();
        c.insert(target.to_string(), Cached { at: Instant::now(), view, refreshing });
    }

    /// Runs `f` on a short-lived thread so the caller never waits on Redis.
    fn off_thread(f: impl FnOnce() + Send + 'static) {
        let _ = std::thread::Builder::new().name("failsoft-fleet-llm".into()).spawn(f);
    }
}

fn to_view(failures: i64, open_ms: i64) -> CircuitView {
    CircuitView {
        failures: failures.clamp(0, u32::MAX as i64) as u32,
        open_for: (open_ms > 0).then(|| Duration::from_millis(open_ms as u64)),
    }
}

/// `view` as it stands `age` after it was read.
fn aged(mut view: CircuitView, age: Duration) -> CircuitView {
    view.open_for = view.open_for.and_then(|d| d.checked_sub(age)).filter(|d| !d.is_zero());
    view
}

impl SharedCircuit for RedisCircuit {
    fn view(&self, target: &str) -> Option<CircuitView> {
        let (view, stale, refreshing) = {
            let c = lock(&self.cache);
            match c.get(target) {
                // The open time left counts down from when it was read, so an old copy never
                // keeps the circuit open past the fleet's open-until.
                Some(e) => (
                    e.view.map(|v| aged(v, e.at.elapsed())),
                    e.at.elapsed() >= MAX_VIEW_AGE,
                    e.refreshing.clone(),
                ),
                None => (None, true, Arc::default()),
            }
        };
        if stale && !refreshing.swap(true, Ordering::AcqRel) {
            let (store, cache, key, target) =
                (self.store.clone(), self.cache.clone(), self.key(target), target.to_string());
            let flag = refreshing.clone();
            // Born already due, so the next view asks again if this read fails. `checked_sub`:
            // an `Instant` may not reach back 0.5 s just after boot.
            let now = Instant::now();
            lock(&self.cache).entry(target.clone()).or_insert_with(|| Cached {
                at: now.checked_sub(MAX_VIEW_AGE).unwrap_or(now),
                view: None,
                refreshing,
            });
            RedisCircuit::off_thread(move || {
                let v = RedisCircuit::fetch_view(&store, &key);
                RedisCircuit::remember(&cache, &target, v);
                flag.store(false, Ordering::Release);
            });
        }
        view
    }

    fn failure(&self, target: &str, threshold: u32, cooldown: Duration, retry_after: Option<Duration>) {
        let (store, cache, key, target) =
            (self.store.clone(), self.cache.clone(), self.key(target), target.to_string());
        RedisCircuit::off_thread(move || {
            let keep = (cooldown.max(retry_after.unwrap_or_default()) * 10).max(Duration::from_secs(60));
            let r: Result<(i64, i64), String> = store.call(|con| {
                FAILURE
                    .key(&key)
                    .arg(threshold.max(1))
                    .arg(cooldown.as_millis() as u64)
                    .arg(retry_after.unwrap_or_default().as_millis() as u64)
                    .arg(keep.as_millis() as u64)
                    .invoke(con)
            });
            RedisCircuit::remember(&cache, &target, r.ok().map(|(n, ms)| to_view(n, ms)));
        });
    }

    fn success(&self, target: &str) {
        let (store, cache, key, target) =
            (self.store.clone(), self.cache.clone(), self.key(target), target.to_string());
        RedisCircuit::off_thread(move || {
            let r =
                store.call(|con| redis::cmd("DEL").arg(&key).arg(format!("{key}:probe")).query::<i64>(con));
            RedisCircuit::remember(&cache, &target, r.ok().map(|_| CircuitView::default()));
        });
    }

    fn claim_probe(&self, target: &str, cooldown: Duration) -> Option<bool> {
        let key = format!("{}:probe", self.key(target));
        let px = cooldown.as_millis().max(1) as u64;
        let r: Option<String> = self
            .store
            .call(|con| redis::cmd("SET").arg(&key).arg(&self.token).arg("NX").arg("PX").arg(px).query(con))
            .ok()?;
        Some(r.is_some())
    }
}
