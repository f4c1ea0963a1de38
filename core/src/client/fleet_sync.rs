//! Fleet mode's side of the cache: adopting the shared store's entry, deferring to the
//! process that holds the lease, and the pub/sub hints (SPEC §10).

use super::Inner;
use crate::entry::{Entry, Outcome};
use crate::error::Error;
use crate::fleet::{self, Fleet};
use crate::key::Key;
use crate::runtime::TimerKind;
use crate::value::Payload;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Inner {
    /// A value from the fleet's store: stored like a fetch (never replacing a higher version),
    /// dated by its age in Redis time.
    pub(super) fn adopt(
        &self,
        entry: &Arc<Entry>,
        prev: Option<Arc<Payload>>,
        shared: fleet::Shared,
    ) -> Outcome {
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
    pub(super) fn defer(
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
    pub(super) fn sync_from_fleet(&self, entry: &Arc<Entry>) {
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
