//! The availability cache (SPEC §2–4, §9): fresh, stale, snapshot, fallback; single-flight cold
//! reads bounded by a deadline; refresh-ahead and backoff in the background.
//!
//! A warm read is lock-free and writes only memory of its own thread: the key map is looked up in
//! this thread's view of it (renewed when the map changes), the value is this thread's copy of the
//! entry's payload (see `entry`), plus a coarse clock read and a per-thread counter bump; its one
//! locked instruction is the returned `Arc`'s count, which no other thread writes. Threads without
//! a `thread_slot` take the same path through the shared map and payload. Everything that can
//! wait runs on library threads.

use crate::entry::{lock, Entry, Flight, Outcome};
use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{self, Fleet, Got};
use crate::fork;
use crate::key::Key;
use crate::options::{ClientOptions, ReadOptions};
use crate::runtime::{Handler, Runtime, Timer, TimerKind};
use crate::snapshot::SnapshotStore;
use crate::source::{FetchRequest, Fetched, Source};
use crate::stats::Stats;
use crate::status::{Health, KeyHealth, Status};
use crate::thread_slot::{self, Mine, Slots};
use crate::value::{Payload, Value, ValueSource};
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A key's value changed version (hot reload); passed to `on_change` listeners.
#[derive(Clone, Debug)]
pub struct Change {
    pub key: Key,
    pub old_version: Option<i64>,
    pub new_version: Option<i64>,
    pub value: Value,
}

type Listener = Arc<dyn Fn(&Change) + Send + Sync>;
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
    listeners: ArcSwap<Vec<(u64, Listener)>>,
    next_listener: AtomicU64,
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
            listeners: ArcSwap::from_pointee(Vec::new()),
            next_listener: AtomicU64::new(0),
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
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        let listener: Listener = Arc::new(listener);
        self.inner.listeners.rcu(|old| {
            let mut v = Vec::clone(old);
            v.push((id, listener.clone()));
            v
        });
        id
    }

    pub fn remove_listener(&self, id: u64) {
        self.inner.listeners.rcu(|old| old.iter().filter(|(i, _)| *i != id).cloned().collect::<Vec<_>>());
    }

    /// Stops the background threads. Idempotent; returns within about a second even when a
    /// request hangs. Cached values keep being served; nothing is fetched afterwards.
    pub fn close(&self) {
        self.inner.close();
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

/// One thread's view of the key map: the map as of generation `gen` (or newer).
struct MapView {
    gen: u64,
    map: Arc<KeyMap>,
}

/// Only fetch failures that answered with an HTTP error get the one quick cold retry; a refused
/// connection or a DNS failure falls back at once (SPEC §2: fail fast).
fn quick_retry_worth_it(e: &Error, delay: Duration) -> bool {
    e.kind == ErrorKind::Unavailable && e.status.is_some() && e.retry_after.is_none_or(|ra| ra <= delay * 2)
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
        let p = entry.payload(me)?;
        if (now_ns.saturating_sub(p.fetched_ns) as u128) < ttl.as_nanos() {
            self.stats.fresh_reads.inc();
            return Some(Value { payload: p, source: ValueSource::Fresh, error: None });
        }
        self.trigger_refresh(entry, self.ms_of(now_ns));
        self.stats.stale_reads.inc();
        Some(Value { payload: p, source: ValueSource::Stale, error: entry.error(me) })
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

    fn evict(&self, entry: &Arc<Entry>) {
        let _w = lock(&self.map_write);
        entry.evicted.store(true, Ordering::SeqCst);
        entry.set_current(None);
        let map = self.map.load();
        if map.get(&entry.key).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            let mut next = HashMap::clone(&map);
            next.remove(&entry.key);
            self.publish_map(next);
        }
    }

    /// With nothing fresh cached: wait for the key's one fetch (or, when `wait` is false or a
    /// cold read already gave up on this key, answer at once), then degrade.
    fn cold(
        &self,
        entry: &Arc<Entry>,
        mut opts: ReadOptions<'_>,
        stale: Option<Arc<Payload>>,
        wait: bool,
    ) -> Result<Value> {
        let now = Instant::now();
        if self.closed.load(Ordering::Relaxed) {
            return self.degrade(entry, opts, stale, Arc::new(Error::unavailable("the client is closed")));
        }
        let gave_up = stale.is_none() && entry.cold_failed.load(Ordering::Relaxed);
        if gave_up || !wait {
            if stale.is_none() {
                self.start_fetch_if_allowed(entry, now, opts.create_from.take());
            }
            let err = entry.last_error().unwrap_or_else(|| {
                Arc::new(Error::timeout("no value cached yet; a fetch has started").with_key(&entry.key))
            });
            return self.degrade(entry, opts, stale, err);
        }
        let deadline = now + opts.cold_deadline.unwrap_or(self.opts.cold_deadline);
        let flight = self.join_or_start(entry, opts.create_from.take());
        match flight.wait_until(deadline) {
            Some(Ok(p)) => {
                // A value adopted from the fleet's store may already be older than the TTL.
                let ttl = opts.ttl.unwrap_or(self.ttl);
                if self.fleet.is_some() && !ttl.is_zero() && p.age() >= ttl {
                    self.stats.stale_reads.inc();
                    return Ok(Value { payload: p, source: ValueSource::Stale, error: entry.last_error() });
                }
                self.stats.fresh_reads.inc();
                Ok(Value { payload: p, source: ValueSource::Fresh, error: None })
            }
            Some(Err(e)) => self.degrade(entry, opts, stale, e),
            None => {
                entry.cold_failed.store(true, Ordering::Relaxed);
                let waited = deadline.saturating_duration_since(now);
                let e = Error::timeout(format!(
                    "no answer within the cold deadline of {:.3}s",
                    waited.as_secs_f64()
                ))
                .with_key(&entry.key);
                self.degrade(entry, opts, stale, Arc::new(e))
            }
        }
    }

    /// The fetch failed or timed out: stale value, then snapshot, then fallback, then the error.
    fn degrade(
        &self,
        entry: &Entry,
        opts: ReadOptions<'_>,
        stale: Option<Arc<Payload>>,
        err: Arc<Error>,
    ) -> Result<Value> {
        if let Some(p) = stale {
            self.stats.stale_reads.inc();
            return Ok(Value { payload: p, source: ValueSource::Stale, error: Some(err) });
        }
        if let Some(p) = self.snapshot_of(entry) {
            self.stats.snapshot_reads.inc();
            return Ok(Value { payload: p, source: ValueSource::Snapshot, error: Some(err) });
        }
        if let Some(fb) = opts.fallback {
            let data = fb.produce()?;
            self.stats.fallback_reads.inc();
            return Ok(Value::fallback(data, Some(err)));
        }
        self.stats.error_reads.inc();
        let mut e = Error::clone(&err);
        if e.key.is_empty() {
            e.key = entry.key.to_string();
        }
        Err(e)
    }

    fn snapshot_of(&self, entry: &Entry) -> Option<Arc<Payload>> {
        let store = self.snapshots.as_ref()?;
        entry.snapshot.get_or_init(|| store.load(&entry.key).map(Arc::new)).clone()
    }

    /// The key's fetch in flight, or a new one on its own thread (it outlives impatient readers:
    /// a late answer still lands in the cache).
    fn join_or_start(&self, entry: &Arc<Entry>, create_from: Option<serde_json::Value>) -> Arc<Flight> {
        let mut c = entry.control();
        if let Some(f) = &c.flight {
            self.stats.coalesced_waits.inc();
            return f.clone();
        }
        let flight = Arc::new(Flight::default());
        c.flight = Some(flight.clone());
        drop(c);
        let (me, e, f) = (self.arc(), entry.clone(), flight.clone());
        let cold = entry.current.load().is_none();
        let spawned = std::thread::Builder::new()
            .name("failsoft-fetch".into())
            .spawn(move || me.run_flight(&e, &f, cold, create_from.as_ref()));
        if let Err(err) = spawned {
            let e = Arc::new(Error::unavailable(format!("could not start a fetch thread: {err}")));
            entry.control().flight = None;
            flight.finish(Err(e));
        }
        flight
    }

    /// A cold read that will not wait still gets the fetch going (respecting the backoff).
    fn start_fetch_if_allowed(
        &self,
        entry: &Arc<Entry>,
        now: Instant,
        create_from: Option<serde_json::Value>,
    ) {
        if self.ms(now) >= entry.next_attempt_ms.load(Ordering::Relaxed) && entry.control().flight.is_none() {
            self.join_or_start(entry, create_from);
        }
    }

    /// A stale read asks for one background refresh, unless one is queued or the key backs off.
    #[inline]
    fn trigger_refresh(&self, entry: &Arc<Entry>, now_ms: u64) {
        if entry.refresh_queued.load(Ordering::Relaxed)
            || now_ms < entry.next_attempt_ms.load(Ordering::Relaxed)
        {
            return;
        }
        self.enqueue(entry);
    }

    fn enqueue(&self, entry: &Arc<Entry>) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        if entry.refresh_queued.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            match self.runtime.load_full() {
                Some(rt) => rt.enqueue(entry.clone()),
                None => entry.refresh_queued.store(false, Ordering::Relaxed),
            }
        }
    }

    /// Runs one flight: the fetch, on a cold key one quick retry after an HTTP error answer, then
    /// stores the outcome and wakes every waiter.
    fn run_flight(
        &self,
        entry: &Arc<Entry>,
        flight: &Flight,
        cold: bool,
        create_from: Option<&serde_json::Value>,
    ) {
        let bound = self.opts.request_timeout.max(self.opts.cold_deadline);
        let deadline = Instant::now() + bound;
        let outcome = match &self.fleet {
            None => self.apply(entry, self.fetch_direct(entry, deadline, cold, create_from)),
            Some(fleet) => {
                let current = entry.current.load_full();
                let mut fetch = || self.fetch_direct(entry, deadline, cold, create_from);
                let failures = entry.control().failures;
                let backoff = |e: &Error, n: u32| self.backoff(e, n.max(failures + 1));
                let cold_until = Instant::now() + self.opts.cold_deadline;
                let got = fleet.refresh(
                    &entry.key,
                    entry.ttl(),
                    current.as_deref(),
                    cold_until,
                    bound + Duration::from_secs(1),
                    &mut fetch,
                    &backoff,
                );
                match got {
                    Got::Fetched(result) => self.apply(entry, result),
                    Got::Adopted(shared) => self.adopt(entry, current, shared),
                    Got::Deferred(retry, err) => self.defer(entry, current, retry, err),
                }
            }
        };
        entry.control().flight = None;
        flight.finish(outcome);
    }

    /// A value from the fleet's store: stored like a fetch (never replacing a higher version),
    /// dated by its age in Redis time.
    fn adopt(&self, entry: &Arc<Entry>, prev: Option<Arc<Payload>>, shared: fleet::Shared) -> Outcome {
        let seq = entry.fetch_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let data = match (shared.data, &prev) {
            (Some(text), _) => match serde_json::from_str(&text) {
                Ok(v) => Arc::new(v),
                Err(e) => {
                    let err =
                        Error::invalid_response(format!("unparsable shared entry: {e}")).with_key(&entry.key);
                    return Err(self.store_failure(entry, err, seq));
                }
            },
            (None, Some(p)) => p.data.clone(),
            (None, None) => {
                let err = Error::invalid_response("shared entry without data").with_key(&entry.key);
                return Err(self.store_failure(entry, err, seq));
            }
        };
        if let Some(p) = &prev {
            let older = matches!((p.version, shared.version), (Some(old), Some(new)) if new < old);
            if older || (p.version == shared.version && p.age() <= shared.age) {
                // Nothing newer than what memory holds; ask again when it is due.
                self.schedule_ask(entry, p, seq);
                return Ok(p.clone());
            }
        }
        let payload = Arc::new(Payload::aged_by(data, shared.version, shared.etag, shared.age));
        self.store_success(entry, prev.as_deref(), &payload, seq);
        Ok(payload)
    }

    /// Nothing fetched now (another process holds the lease, or no backend call is allowed):
    /// keep what memory holds and ask again after `retry`.
    fn defer(
        &self,
        entry: &Arc<Entry>,
        prev: Option<Arc<Payload>>,
        retry: Duration,
        err: Option<Error>,
    ) -> Outcome {
        let seq = entry.fetch_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let now = Instant::now();
        entry.next_attempt_ms.store(self.ms(now + retry), Ordering::Relaxed);
        self.schedule(now + retry, TimerKind::Retry, entry, seq);
        match prev {
            Some(p) => Ok(p),
            None => {
                let e = Arc::new(
                    err.unwrap_or_else(|| Error::timeout("waiting for the fleet's refresh"))
                        .with_key(&entry.key),
                );
                entry.set_error(Some(e.clone()));
                Err(e)
            }
        }
    }

    /// The backend, on a cold key with one quick retry after an HTTP error answer.
    fn fetch_direct(
        &self,
        entry: &Arc<Entry>,
        deadline: Instant,
        cold: bool,
        create_from: Option<&serde_json::Value>,
    ) -> Result<Fetched> {
        let mut result = self.fetch_once(entry, deadline, create_from);
        if cold {
            if let Err(e) = &result {
                let delay = self.opts.quick_retry_delay;
                if quick_retry_worth_it(e, delay) && Instant::now() + delay < deadline {
                    std::thread::sleep(delay);
                    result = self.fetch_once(entry, deadline, create_from);
                }
            }
        }
        result
    }

    fn fetch_once(
        &self,
        entry: &Entry,
        deadline: Instant,
        create_from: Option<&serde_json::Value>,
    ) -> Result<Fetched> {
        self.stats.fetches.inc();
        let current = entry.current.load_full();
        let req = FetchRequest {
            key: &entry.key,
            etag: current.as_ref().and_then(|p| p.etag.as_deref()),
            deadline,
            create_from,
        };
        match catch_unwind(AssertUnwindSafe(|| self.source.fetch(&req))) {
            Ok(r) => r.map_err(|e| if e.key.is_empty() { e.with_key(&entry.key) } else { e }),
            Err(_) => Err(Error::unavailable("the source panicked").with_key(&entry.key)),
        }
    }

    /// Stores a fetch result: a new value (unless older than the cached one), a renewal (304), or
    /// a failure with its backoff. Returns what waiters get.
    fn apply(&self, entry: &Arc<Entry>, result: Result<Fetched>) -> Outcome {
        let seq = entry.fetch_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let prev = entry.current.load_full();
        let fetched =
            match result {
                Ok(Fetched::Modified(v)) => {
                    self.stats.bytes_fetched.add(v.bytes);
                    match &prev {
                        Some(p) if matches!((p.version, v.version), (Some(old), Some(new)) if new < old) => {
                            log::debug!(
                                "{}: ignoring version {:?} older than cached {:?}",
                                entry.key,
                                v.version,
                                p.version
                            );
                            Ok(Arc::new(Payload::shared(p.data.clone(), p.version, p.etag.clone())))
                        }
                        _ => Ok(Arc::new(Payload::new(v.data, v.version, v.etag))),
                    }
                }
                Ok(Fetched::NotModified) => match &prev {
                    Some(p) => Ok(Arc::new(Payload::shared(p.data.clone(), p.version, p.etag.clone()))),
                    None => Err(Error::invalid_response("304 Not Modified without a cached value")
                        .with_key(&entry.key)),
                },
                Err(e) => Err(e),
            };
        match fetched {
            Ok(payload) => {
                self.store_success(entry, prev.as_deref(), &payload, seq);
                Ok(payload)
            }
            Err(e) => Err(self.store_failure(entry, e, seq)),
        }
    }

    fn store_success(&self, entry: &Arc<Entry>, prev: Option<&Payload>, payload: &Arc<Payload>, seq: u64) {
        if entry.evicted.load(Ordering::SeqCst) {
            return;
        }
        entry.set_current(Some(payload.clone()));
        entry.read_since_fetch.store(false, Ordering::Relaxed);
        entry.cold_failed.store(false, Ordering::Relaxed);
        entry.next_attempt_ms.store(0, Ordering::Relaxed);
        let (old_health, write_snapshot) = {
            let mut c = entry.control();
            c.failures = 0;
            let due = self.snapshots.is_some()
                && c.last_snapshot_write.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
            if due {
                c.last_snapshot_write = Some(Instant::now());
            }
            (std::mem::take(&mut c.health), due)
        };
        entry.set_error(None);
        self.health.transition(old_health, KeyHealth::Ok, true, None);
        self.schedule_ask(entry, payload, seq);
        if write_snapshot {
            if let Some(store) = &self.snapshots {
                if let Err(e) = store.store(&entry.key, payload) {
                    log::warn!("could not write the snapshot of {}: {e}", entry.key);
                }
            }
        }
        if let Some(prev) = prev {
            let changed = if prev.version.is_some() || payload.version.is_some() {
                prev.version != payload.version
            } else {
                !Arc::ptr_eq(&prev.data, &payload.data) && prev.data != payload.data
            };
            if changed {
                self.notify(Change {
                    key: entry.key.clone(),
                    old_version: prev.version,
                    new_version: payload.version,
                    value: Value { payload: payload.clone(), source: ValueSource::Fresh, error: None },
                });
            }
        }
    }

    fn store_failure(&self, entry: &Arc<Entry>, e: Error, seq: u64) -> Arc<Error> {
        self.stats.fetch_errors.inc();
        let err = Arc::new(e);
        if err.kind == ErrorKind::NotFound && !self.opts.keep_on_not_found {
            log::info!("{}: not found at the source; evicted", entry.key);
            let old = std::mem::take(&mut entry.control().health);
            self.health.transition(old, KeyHealth::Ok, false, Some(&err));
            self.evict(entry);
            return err;
        }
        let backoff = {
            let mut c = entry.control();
            c.failures = c.failures.saturating_add(1);
            let new_health = KeyHealth::for_error(&err);
            let old = std::mem::replace(&mut c.health, new_health);
            self.health.transition(old, new_health, false, Some(&err));
            self.backoff(&err, c.failures)
        };
        entry.set_error(Some(err.clone()));
        let now = Instant::now();
        entry.next_attempt_ms.store(self.ms(now + backoff), Ordering::Relaxed);
        log::warn!(
            "{}: fetch failed ({}: {}); next attempt in {:.1}s",
            entry.key,
            err.kind,
            err.message,
            backoff.as_secs_f64()
        );
        self.schedule(now + backoff, TimerKind::Retry, entry, seq);
        err
    }

    /// Refresh ahead: at a jittered 75–90 % of the TTL; in fleet mode just before the shared
    /// entry stops being fresh (the fleet fetches about once per TTL), and never in the past (an
    /// entry adopted already old is asked about again shortly, not in a loop).
    fn schedule_ask(&self, entry: &Arc<Entry>, payload: &Payload, seq: u64) {
        let ttl = entry.ttl();
        if ttl.is_zero() {
            return;
        }
        let due = match &self.fleet {
            None => payload.fetched_at + ttl.mul_f64(0.75 + 0.15 * fastrand::f64()),
            Some(_) => (payload.fetched_at + Fleet::ask_after(ttl))
                .max(Instant::now() + (ttl / 20).clamp(Duration::from_millis(10), Duration::from_secs(1))),
        };
        self.schedule(due, TimerKind::Ahead, entry, seq);
    }

    /// Refreshes `key` now if it is in memory, past any backoff (invalidation).
    fn refresh_now(&self, key: &Key) {
        if let Some(entry) = self.lookup(key) {
            entry.next_attempt_ms.store(0, Ordering::Relaxed);
            entry.read_since_fetch.store(true, Ordering::Relaxed);
            self.enqueue(&entry);
        }
    }

    /// 1 s doubling to 30 s with up to 50 % jitter; 5 minutes while unauthorized; never shorter
    /// than a `Retry-After` the server asked for (up to the cap).
    fn backoff(&self, err: &Error, failures: u32) -> Duration {
        if err.kind == ErrorKind::Unauthorized {
            return self.opts.auth_retry_interval;
        }
        let exp = self.opts.backoff_base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        let capped = exp.min(self.opts.backoff_cap);
        let jittered = capped.mul_f64(1.0 - 0.5 * fastrand::f64());
        match err.retry_after {
            Some(ra) => jittered.max(ra.min(self.opts.backoff_cap)),
            None => jittered,
        }
    }

    fn schedule(&self, due: Instant, kind: TimerKind, entry: &Arc<Entry>, seq: u64) {
        if let Some(rt) = self.runtime.load_full() {
            rt.schedule(due, kind, entry.clone(), seq);
        }
    }

    fn notify(&self, change: Change) {
        for (_, l) in self.listeners.load().iter() {
            if catch_unwind(AssertUnwindSafe(|| l(&change))).is_err() {
                log::error!("an on_change listener panicked for {}; ignored", change.key);
            }
        }
    }

    fn prefetch(&self, keys: &[Key], deadline: Duration) -> std::result::Result<Vec<Value>, PrefetchError> {
        self.ensure_runtime();
        let until = Instant::now() + deadline;
        let mut pending = Vec::with_capacity(keys.len());
        for key in keys {
            let started = self.source.validate_key(key).map(|()| {
                let entry = self.lookup(key).unwrap_or_else(|| self.insert(key, self.ttl));
                entry.note_read(self.ms(Instant::now()), entry.ttl());
                let flight = self.join_or_start(&entry, None);
                (entry, flight)
            });
            pending.push((key, started));
        }
        let mut values = Vec::with_capacity(keys.len());
        let mut failures = Vec::new();
        let mut succeeded = Vec::new();
        for (key, started) in pending {
            let outcome = match started {
                Ok((entry, flight)) => match flight.wait_until(until) {
                    Some(Ok(p)) => Ok(p),
                    Some(Err(e)) => Err(Error::clone(&e)),
                    None => {
                        entry.cold_failed.store(entry.current.load().is_none(), Ordering::Relaxed);
                        Err(Error::timeout(format!("no answer within {:.3}s", deadline.as_secs_f64())))
                    }
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(p) => {
                    succeeded.push(key.clone());
                    values.push(Value { payload: p, source: ValueSource::Fresh, error: None });
                }
                Err(e) => failures.push((key.clone(), if e.key.is_empty() { e.with_key(key) } else { e })),
            }
        }
        if failures.is_empty() {
            Ok(values)
        } else {
            Err(PrefetchError { failures, succeeded })
        }
    }

    /// Starts the threads on first use, and again in a forked child (threads do not survive
    /// `fork()`; the parent's are never touched).
    #[inline]
    fn ensure_runtime(&self) {
        if self.runtime_gen.load(Ordering::Acquire) != fork::generation() + 1 {
            self.start_runtime();
        }
    }

    #[cold]
    fn start_runtime(&self) {
        let _g = lock(&self.runtime_start);
        let gen = fork::generation() + 1;
        if self.closed.load(Ordering::SeqCst) || self.runtime_gen.load(Ordering::Acquire) == gen {
            return;
        }
        let forked = self.runtime_gen.load(Ordering::Acquire) != 0;
        match Runtime::start(self.me.clone(), self.opts.refresh_workers) {
            Ok(rt) => {
                // In a forked child the parent's runtime is just forgotten: its threads are gone.
                self.runtime.store(Some(rt.clone()));
                self.runtime_gen.store(gen, Ordering::Release);
                if self.fleet.is_some() {
                    fleet::start_subscriber(self.me.clone());
                }
                if forked {
                    self.adopt_after_fork(&rt);
                }
            }
            Err(e) => log::error!("could not start failsoft's refresh threads: {e}"),
        }
    }

    /// In a forked child: fetches and queued refreshes of the parent died with its threads.
    fn adopt_after_fork(&self, rt: &Runtime) {
        for entry in self.map.load().values() {
            entry.refresh_queued.store(false, Ordering::Relaxed);
            if let Ok(mut c) = entry.control.try_lock() {
                if let Some(f) = c.flight.take() {
                    f.finish(Err(Arc::new(Error::unavailable("fetch interrupted by fork()"))));
                }
            }
            if let Some(p) = entry.current.load_full() {
                let ttl = entry.ttl();
                if !ttl.is_zero() {
                    let seq = entry.fetch_seq.load(Ordering::SeqCst);
                    rt.schedule(p.fetched_at + ttl.mul_f64(0.75), TimerKind::Ahead, entry.clone(), seq);
                }
            }
        }
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _g = lock(&self.runtime_start);
        if let Some(rt) = self.runtime.swap(None) {
            // Only stop threads this process started.
            if self.runtime_gen.load(Ordering::Acquire) == fork::generation() + 1 {
                rt.stop(Duration::from_millis(500));
            }
        }
    }
}

impl Handler for Inner {
    fn refresh(&self, entry: &Arc<Entry>) {
        let flight = {
            let mut c = entry.control();
            if c.flight.is_some()
                || entry.evicted.load(Ordering::SeqCst)
                || self.closed.load(Ordering::Relaxed)
            {
                None
            } else {
                let f = Arc::new(Flight::default());
                c.flight = Some(f.clone());
                Some(f)
            }
        };
        if let Some(f) = flight {
            let cold = entry.current.load().is_none();
            self.run_flight(entry, &f, cold, None);
        }
        entry.refresh_queued.store(false, Ordering::Release);
    }

    fn timer_fired(&self, timer: Timer) {
        let entry = &timer.entry;
        if entry.evicted.load(Ordering::SeqCst) || entry.fetch_seq.load(Ordering::SeqCst) != timer.seq {
            return;
        }
        let ttl = entry.ttl();
        let idle_limit = ttl.saturating_mul(self.opts.idle_ttls).max(Duration::from_secs(1));
        let since_read = self.ms(Instant::now()).saturating_sub(entry.last_read_ms.load(Ordering::Relaxed));
        let in_use = since_read <= idle_limit.as_millis() as u64;
        let go = match timer.kind {
            TimerKind::Ahead => in_use && entry.read_since_fetch.load(Ordering::Relaxed),
            TimerKind::Retry => in_use,
        };
        if go {
            self.enqueue(entry);
        }
    }
}

impl fleet::Listener for Inner {
    fn fleet(&self) -> Option<&Fleet> {
        self.fleet.as_ref()
    }

    fn published(&self, key: &str) {
        if let Some(entry) = self.lookup(&Key::parse(key)) {
            self.sync_from_fleet(&entry);
        }
    }

    fn invalidated(&self, key: &str) {
        if let Some(f) = &self.fleet {
            f.counters.invalidations.fetch_add(1, Ordering::Relaxed);
        }
        self.refresh_now(&Key::parse(key));
    }

    fn resubscribed(&self) {
        for entry in self.map.load().values() {
            if entry.current.load().is_some() {
                self.sync_from_fleet(entry);
            }
        }
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

impl Inner {
    /// A pub/sub hint or a catch-up: adopt the shared entry if it is newer than memory's.
    /// Skipped while the key's own flight runs (it asks Redis itself).
    fn sync_from_fleet(&self, entry: &Arc<Entry>) {
        let Some(f) = &self.fleet else { return };
        if entry.control().flight.is_some() {
            return;
        }
        let current = entry.current.load_full();
        if let Some(shared) = f.read(&entry.key, current.as_deref()) {
            let _ = self.adopt(entry, current, shared);
        }
    }
}
