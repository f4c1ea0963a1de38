//! The availability cache (SPEC §2–4, §9): fresh, stale, snapshot, fallback; single-flight cold
//! reads bounded by a deadline; refresh-ahead and backoff in the background.
//!
//! A warm read is lock-free and writes only memory of its own thread: the key map is looked up in
//! this thread's view of it (renewed when the map changes), the value is this thread's copy of the
//! entry's payload (see `entry`), plus a coarse clock read and a per-thread counter bump; its one
//! locked instruction is the returned `Arc`'s count, which no other thread writes. Threads without
//! a `thread_slot` take the same path through the shared map and payload. Everything that can
//! wait runs on library threads.
//!
//! Here: the client, its state and the warm read. The rest, one idea a module: `cold` (a read
//! with nothing fresh), `refresh` (fetching in the background), `store` (keeping a fetch's
//! outcome), `backoff`, `prefetch`, `lifecycle` (threads, fork, close), `fleet_sync`.

use crate::entry::{lock, Entry};
use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::fork;
use crate::key::Key;
use crate::listeners::Listeners;
use crate::options::{ClientOptions, ReadOptions};
use crate::runtime::Runtime;
use crate::snapshot::SnapshotStore;
use crate::source::Source;
use crate::stats::Stats;
use crate::status::{Health, Status};
use crate::thread_slot::{self, Mine, Slots};
use crate::value::{same_error, Payload, Value, ValueSource};
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod backoff;
mod cold;
mod fleet_sync;
mod lifecycle;
mod prefetch;
mod refresh;
mod store;

/// A key's value changed version (hot reload); passed to `on_change` listeners.
#[derive(Clone, Debug)]
pub struct Change {
    pub key: Key,
    pub old_version: Option<i64>,
    pub new_version: Option<i64>,
    pub value: Value,
}

type KeyMap = HashMap<Key, Arc<Entry>, foldhash::fast::RandomState>;

/// Keys whose prefetch failed, with why; the keys that succeeded are cached.
#[derive(Debug, Clone)]
pub struct PrefetchError {
    pub failures: Vec<(Key, Error)>,
    pub succeeded: Vec<Key>,
}

impl fmt::Display for PrefetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.failures.len() + self.succeeded.len();
        write!(f, "prefetch failed for {} of {} keys: ", self.failures.len(), total)?;
        for (i, (k, e)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{k}: {} ({})", e.kind, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for PrefetchError {}

/// `{"key", "old_version", "new_version", "value"}`, `value` in the `Value` JSON shape.
impl serde::Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Change", 4)?;
        m.serialize_field("key", &self.key.canonical())?;
        m.serialize_field("old_version", &self.old_version)?;
        m.serialize_field("new_version", &self.new_version)?;
        m.serialize_field("value", &self.value)?;
        m.end()
    }
}

/// The prefetch report: `{"ok", "succeeded": [key], "failed": [{"key", "kind", "message",
/// "status"}]}`, keys in canonical form (a successful prefetch is one with no failures).
impl serde::Serialize for PrefetchError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(serde::Serialize)]
        struct Failed<'a> {
            key: String,
            kind: crate::error::ErrorKind,
            message: &'a str,
            status: Option<u16>,
        }
        let failed: Vec<Failed> = (self.failures.iter())
            .map(|(k, e)| Failed { key: k.canonical(), kind: e.kind, message: &e.message, status: e.status })
            .collect();
        let mut m = s.serialize_struct("PrefetchReport", 3)?;
        m.serialize_field("ok", &self.failures.is_empty())?;
        m.serialize_field("succeeded", &self.succeeded.iter().map(Key::canonical).collect::<Vec<_>>())?;
        m.serialize_field("failed", &failed)?;
        m.end()
    }
}

/// A cache over one source. Creating one never touches the network; dropping it (or `close()`)
/// stops its threads.
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("source", &self.inner.source.identity()).finish()
    }
}

pub(crate) struct Inner {
    source: Arc<dyn Source>,
    opts: ClientOptions,
    ttl: Duration,
    epoch: Instant,
    /// `epoch` on the `clock` module's timebase.
    epoch_ns: u64,
    map: ArcSwap<KeyMap>,
    /// Bumped after every store of `map`: a thread's view older than this is renewed.
    map_gen: AtomicU64,
    /// Each reading thread's view of `map`, so a warm read touches no shared reference count.
    views: Slots<Option<MapView>>,
    map_write: Mutex<()>,
    runtime: ArcSwapOption<Runtime>,
    /// `fork::generation() + 1` of the running runtime; 0 before the first start.
    runtime_gen: AtomicU64,
    runtime_start: Mutex<()>,
    closed: AtomicBool,
    stats: Stats,
    health: Health,
    snapshots: Option<SnapshotStore>,
    /// The shared store (fleet mode), consulted only on the refresh and cold paths.
    fleet: Option<Fleet>,
    listeners: Listeners<Change>,
    config_checks: crate::config::Checks,
    me: std::sync::Weak<Inner>,
}

impl Client {
    /// A client over `source`. Validates the options; no I/O, no threads until the first read.
    pub fn new(source: impl Source, options: ClientOptions) -> Result<Client> {
        Client::with_source(Arc::new(source), options)
    }

    pub fn with_source(source: Arc<dyn Source>, options: ClientOptions) -> Result<Client> {
        options.validate()?;
        fork::register();
        let ttl = options.resolve_ttl(source.ttl_env());
        let snapshots = options.resolve_snapshot_dir().map(|d| SnapshotStore::new(d, source.identity()));
        let fleet = options.resolve_fleet().map(|f| Fleet::new(f, &source.identity())).transpose()?;
        let inner = Arc::new_cyclic(|me| Inner {
            source,
            opts: options,
            ttl,
            epoch: Instant::now(),
            epoch_ns: crate::clock::precise_ns(),
            map: ArcSwap::from_pointee(KeyMap::default()),
            map_gen: AtomicU64::new(0),
            views: Slots::default(),
            map_write: Mutex::new(()),
            runtime: ArcSwapOption::empty(),
            runtime_gen: AtomicU64::new(0),
            runtime_start: Mutex::new(()),
            closed: AtomicBool::new(false),
            stats: Stats::default(),
            health: Health::new(),
            snapshots,
            fleet,
            listeners: Listeners::default(),
            config_checks: Default::default(),
            me: me.clone(),
        });
        Ok(Client { inner })
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.inner.source
    }

    /// The TTL in force for reads without their own.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// Reads `key` with the client's settings and no fallback.
    pub fn get(&self, key: &Key) -> Result<Value> {
        self.get_with(key, ReadOptions::default())
    }

    /// Reads `key` (SPEC §2). Never waits once the key has a value; with nothing cached, waits for
    /// one shared fetch at most the cold deadline, then serves the snapshot, the fallback, or the
    /// typed error.
    pub fn get_with(&self, key: &Key, opts: ReadOptions<'_>) -> Result<Value> {
        self.inner.read(key, opts, true)
    }

    /// Like `get_with`, but never waits: with nothing cached, starts the fetch and answers at
    /// once with the snapshot, the fallback, or a `Timeout` error saying the fetch has started.
    pub fn get_nowait(&self, key: &Key, opts: ReadOptions<'_>) -> Result<Value> {
        self.inner.read(key, opts, false)
    }

    /// The cached value of `key`, if any, without ever fetching or waiting: fresh, or stale (and
    /// then one background refresh is asked for, as on any stale read). `None` when nothing is
    /// cached; nothing is counted or started then. Bindings use it as their warm path.
    pub fn peek(&self, key: &Key, ttl: Option<Duration>) -> Option<Value> {
        self.inner.peek(key, ttl)
    }

    /// `key`'s place in the cache, if it has one (a read gives it one), for `peek_same`.
    pub fn place(&self, key: &Key) -> Option<Place> {
        self.inner.lookup(key).map(Place)
    }

    /// Whether a read at `place` (of this client) now is the same read as `kept`
    /// ([`Value::same_read`]: the same fetch, source and error), answered without looking the key
    /// up or building a `Value` (no reference count touched). When it is, the read counts as one,
    /// as a `peek` would; when not, nothing is counted or started, and the caller reads with
    /// `peek`. Bindings keep the object they built for a read and hand it out while this holds.
    pub fn peek_same(&self, place: &Place, ttl: Option<Duration>, kept: &Value) -> bool {
        self.inner.peek_same(&place.0, ttl, kept)
    }

    /// Fetches `keys` in parallel, each bounded by `deadline` (default: the cold deadline).
    /// Succeeds only when every key was fetched from the source (fail fast at start-up).
    pub fn prefetch(
        &self,
        keys: &[Key],
        deadline: Option<Duration>,
    ) -> std::result::Result<Vec<Value>, PrefetchError> {
        self.inner.prefetch(keys, deadline.unwrap_or(self.inner.opts.cold_deadline))
    }

    pub fn status(&self) -> Status {
        let mut s = self.inner.health.snapshot(&self.inner.stats, self.inner.map.load().len());
        s.fleet = self.inner.fleet.as_ref().map(Fleet::status);
        s
    }

    /// Forces a refresh of `key`: in fleet mode fleet-wide (the shared entry stops counting as
    /// fresh and every process is told; one of them fetches), else in this process. The cached
    /// value keeps being served meanwhile.
    pub fn invalidate(&self, key: &Key) -> Result<()> {
        self.inner.ensure_runtime();
        if let Some(f) = &self.inner.fleet {
            f.invalidate(key)?;
        }
        self.inner.refresh_now(key);
        Ok(())
    }

    /// Calls `listener` on a library thread after a key's value changes version. A listener that
    /// panics is logged and ignored. Returns an id for [`Client::remove_listener`].
    pub fn on_change(&self, listener: impl Fn(&Change) + Send + Sync + 'static) -> u64 {
        self.inner.listeners.add(listener)
    }

    /// Unregisters a listener: once this returns it is not running on another thread and is
    /// never called again (from inside its own call it returns at once: see `listeners.rs`).
    /// Whether `id` was registered.
    pub fn remove_listener(&self, id: u64) -> bool {
        self.inner.listeners.remove(id)
    }

    /// Stops the background threads. Idempotent; returns within about a second even when a
    /// request hangs. Cached values keep being served; nothing is fetched afterwards.
    pub fn close(&self) {
        self.inner.close();
    }

    /// The configs this client's reads checked (see `config.rs`).
    pub(crate) fn config_checks(&self) -> &crate::config::Checks {
        &self.inner.config_checks
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Relaxed)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.inner.close();
    }
}

/// A key's place in the cache ([`Client::place`]), kept with a read so that a later
/// [`Client::peek_same`] skips the key lookup. An evicted key's old place never holds a read
/// again: `peek_same` answers false, and the caller reads the key anew.
#[derive(Clone)]
pub struct Place(Arc<Entry>);

/// Whether a payload is younger than `ttl` at `now_ns` (a `clock` reading).
#[inline]
fn is_fresh(p: &Payload, now_ns: u64, ttl: Duration) -> bool {
    (now_ns.saturating_sub(p.fetched_ns) as u128) < ttl.as_nanos()
}

/// One thread's view of the key map: the map as of generation `gen` (or newer).
struct MapView {
    gen: u64,
    map: Arc<KeyMap>,
}

impl Inner {
    fn arc(&self) -> Arc<Inner> {
        self.me.upgrade().expect("client state is alive while used")
    }

    #[inline]
    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Milliseconds since the epoch of a `clock` reading.
    #[inline]
    fn ms_of(&self, ns: u64) -> u64 {
        ns.saturating_sub(self.epoch_ns) / 1_000_000
    }

    #[inline]
    fn lookup(&self, key: &Key) -> Option<Arc<Entry>> {
        self.map.load().get(key).cloned()
    }

    /// The warm path: the key's cached value through this thread's view of the map and its own
    /// copy of the payload; `None` when the thread has no slot, the view lacks the key or
    /// nothing servable is cached (the caller then takes the shared path).
    #[inline]
    fn warm(&self, me: Option<Mine>, key: &Key, now: u64, ttl: Duration) -> Option<Value> {
        let me = me?;
        if ttl.is_zero() {
            return None;
        }
        self.views.with(me, |view| {
            let gen = self.map_gen.load(Ordering::Acquire);
            let view = match view {
                Some(v) if v.gen == gen => v,
                _ => view.insert(MapView { gen, map: self.map.load_full() }),
            };
            let entry = view.map.get(key)?;
            entry.note_read(self.ms_of(now), ttl);
            self.serve_cached(entry, now, ttl, Some(me))
        })
    }

    fn read(&self, key: &Key, opts: ReadOptions<'_>, wait: bool) -> Result<Value> {
        self.ensure_runtime();
        let now = crate::clock::coarse_ns();
        let ttl = opts.ttl.unwrap_or(self.ttl);
        let me = thread_slot::mine();
        if let Some(v) = self.warm(me, key, now, ttl) {
            return Ok(v);
        }
        // The shared path borrows the entry from the map guard: no reference count is touched
        // but the returned value's own.
        let map = self.map.load();
        let Some(entry) = map.get(key) else {
            drop(map);
            self.source.validate_key(key).map_err(|e| e.with_key(key))?;
            let entry = self.insert(key, ttl);
            entry.note_read(self.ms_of(now), ttl);
            return self.cold(&entry, opts, None, wait);
        };
        entry.note_read(self.ms_of(now), ttl);
        if let Some(v) = self.serve_cached(entry, now, ttl, me) {
            return Ok(v);
        }
        // Nothing cached, or TTL 0 (fetch on every read; the cached value is the first fallback).
        let entry = entry.clone();
        drop(map);
        let stale = entry.current.load_full();
        self.cold(&entry, opts, stale, wait)
    }

    fn peek(&self, key: &Key, ttl: Option<Duration>) -> Option<Value> {
        self.ensure_runtime();
        let now = crate::clock::coarse_ns();
        let ttl = ttl.unwrap_or(self.ttl);
        let me = thread_slot::mine();
        if let Some(v) = self.warm(me, key, now, ttl) {
            return Some(v);
        }
        let map = self.map.load();
        let entry = map.get(key)?;
        if ttl.is_zero() || entry.current.load().is_none() {
            return None;
        }
        entry.note_read(self.ms_of(now), ttl);
        self.serve_cached(entry, now, ttl, me)
    }

    /// The cached value, fresh or stale (asking for one background refresh); `None` when nothing
    /// is cached or the TTL is 0.
    #[inline]
    fn serve_cached(
        &self,
        entry: &Arc<Entry>,
        now_ns: u64,
        ttl: Duration,
        me: Option<Mine>,
    ) -> Option<Value> {
        if ttl.is_zero() {
            return None;
        }
        let payload = entry.payload(me)?;
        let fresh = is_fresh(&payload, now_ns, ttl);
        self.count(entry, fresh, now_ns);
        let (source, error) =
            if fresh { (ValueSource::Fresh, None) } else { (ValueSource::Stale, entry.error(me)) };
        Some(Value { payload, source, error })
    }

    /// Counts a cached read; a stale one asks for a background refresh.
    #[inline]
    fn count(&self, entry: &Arc<Entry>, fresh: bool, now_ns: u64) {
        if fresh {
            self.stats.fresh_reads.inc();
        } else {
            self.trigger_refresh(entry, self.ms_of(now_ns));
            self.stats.stale_reads.inc();
        }
    }

    /// See `Client::peek_same`. The kept read is current while the entry holds its fetch (stamps
    /// are never reused); then only its freshness and a stale read's error are judged anew.
    fn peek_same(&self, entry: &Arc<Entry>, ttl: Option<Duration>, kept: &Value) -> bool {
        let ttl = ttl.unwrap_or(self.ttl);
        if ttl.is_zero() || kept.is_fallback() || !entry.holds(&kept.payload) {
            return false;
        }
        self.ensure_runtime();
        let now = crate::clock::coarse_ns();
        let fresh = is_fresh(&kept.payload, now, ttl);
        let same = if fresh {
            kept.source == ValueSource::Fresh && kept.error.is_none()
        } else {
            kept.source == ValueSource::Stale && same_error(&entry.error(thread_slot::mine()), &kept.error)
        };
        if same {
            entry.note_read(self.ms_of(now), ttl);
            self.count(entry, fresh, now);
        }
        same
    }

    fn insert(&self, key: &Key, ttl: Duration) -> Arc<Entry> {
        let _w = lock(&self.map_write);
        if let Some(e) = self.map.load().get(key) {
            return e.clone();
        }
        let entry = Arc::new(Entry::new(key.clone(), ttl));
        let mut next = HashMap::clone(&self.map.load());
        next.insert(key.clone(), entry.clone());
        self.publish_map(next);
        entry
    }

    /// Replaces the key map (under `map_write`); each thread renews its view at its next read.
    fn publish_map(&self, next: KeyMap) {
        self.map.store(Arc::new(next));
        // Release: a reader that sees the new generation loads this map or a newer one.
        self.map_gen.fetch_add(1, Ordering::Release);
    }

    fn notify(&self, change: Change) {
        self.listeners
            .notify(&change, || log::error!("an on_change listener panicked for {}; ignored", change.key));
    }
}
