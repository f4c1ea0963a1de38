//! A read with nothing fresh cached (SPEC §2): join the key's one fetch, wait at most the cold
//! deadline, then degrade to the stale value, the snapshot, the fallback or the typed error.

use super::Inner;
use crate::entry::{Entry, Flight};
use crate::error::{Error, Result};
use crate::options::ReadOptions;
use crate::value::{Payload, Value, ValueSource};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

impl Inner {
    /// With nothing fresh cached: wait for the key's one fetch (or, when `wait` is false or a
    /// cold read already gave up on this key, answer at once), then degrade.
    pub(super) fn cold(
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
    pub(super) fn degrade(
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

    pub(super) fn snapshot_of(&self, entry: &Entry) -> Option<Arc<Payload>> {
        let store = self.snapshots.as_ref()?;
        entry.snapshot.get_or_init(|| store.load(&entry.key).map(Arc::new)).clone()
    }

    /// The key's fetch in flight, or a new one on its own thread (it outlives impatient readers:
    /// a late answer still lands in the cache).
    pub(super) fn join_or_start(
        &self,
        entry: &Arc<Entry>,
        create_from: Option<serde_json::Value>,
    ) -> Arc<Flight> {
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
    pub(super) fn start_fetch_if_allowed(
        &self,
        entry: &Arc<Entry>,
        now: Instant,
        create_from: Option<serde_json::Value>,
    ) {
        if self.ms(now) >= entry.next_attempt_ms.load(Ordering::Relaxed) && entry.control().flight.is_none() {
            self.join_or_start(entry, create_from);
        }
    }
}
