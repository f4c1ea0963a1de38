//! Storing what a fetch brought: a new value (never an older version), a renewal (304), or a
//! failure with its backoff; health, snapshots and change listeners follow.

use super::{Change, Inner};
use crate::entry::{lock, Entry, Outcome};
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::TimerKind;
use crate::source::Fetched;
use crate::status::KeyHealth;
use crate::value::{Payload, Value, ValueSource};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Inner {
    /// Stores a fetch result: a new value (unless older than the cached one), a renewal (304), or
    /// a failure with its backoff. Returns what waiters get.
    pub(super) fn apply(&self, entry: &Arc<Entry>, result: Result<Fetched>) -> Outcome {
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

    pub(super) fn store_success(
        &self,
        entry: &Arc<Entry>,
        prev: Option<&Payload>,
        payload: &Arc<Payload>,
        seq: u64,
    ) {
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

    pub(super) fn store_failure(&self, entry: &Arc<Entry>, e: Error, seq: u64) -> Arc<Error> {
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

    pub(super) fn evict(&self, entry: &Arc<Entry>) {
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
}
