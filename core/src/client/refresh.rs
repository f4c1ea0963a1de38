//! Fetching in the background: one flight per key, refresh-ahead and retry timers, the one
//! quick retry of a cold fetch.

use super::Inner;
use crate::entry::{Entry, Flight};
use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{Fleet, Got};
use crate::key::Key;
use crate::runtime::{Handler, Timer, TimerKind};
use crate::source::{FetchRequest, Fetched};
use crate::value::Payload;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Only fetch failures that answered with an HTTP error get the one quick cold retry; a refused
/// connection or a DNS failure falls back at once (SPEC §2: fail fast).
fn quick_retry_worth_it(e: &Error, delay: Duration) -> bool {
    e.kind == ErrorKind::Unavailable && e.status.is_some() && e.retry_after.is_none_or(|ra| ra <= delay * 2)
}

impl Inner {
    /// A stale read asks for one background refresh, unless one is queued or the key backs off.
    #[inline]
    pub(super) fn trigger_refresh(&self, entry: &Arc<Entry>, now_ms: u64) {
        if entry.refresh_queued.load(Ordering::Relaxed)
            || now_ms < entry.next_attempt_ms.load(Ordering::Relaxed)
        {
            return;
        }
        self.enqueue(entry);
    }

    pub(super) fn enqueue(&self, entry: &Arc<Entry>) {
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
    pub(super) fn run_flight(
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

    /// The backend, on a cold key with one quick retry after an HTTP error answer.
    pub(super) fn fetch_direct(
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

    pub(super) fn fetch_once(
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

    /// Refresh ahead: at a jittered 75–90 % of the TTL; in fleet mode just before the shared
    /// entry stops being fresh (the fleet fetches about once per TTL), and never in the past (an
    /// entry adopted already old is asked about again shortly, not in a loop).
    pub(super) fn schedule_ask(&self, entry: &Arc<Entry>, payload: &Payload, seq: u64) {
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
    pub(super) fn refresh_now(&self, key: &Key) {
        if let Some(entry) = self.lookup(key) {
            entry.next_attempt_ms.store(0, Ordering::Relaxed);
            entry.read_since_fetch.store(true, Ordering::Relaxed);
            self.enqueue(&entry);
        }
    }

    pub(super) fn schedule(&self, due: Instant, kind: TimerKind, entry: &Arc<Entry>, seq: u64) {
        if let Some(rt) = self.runtime.load_full() {
            rt.schedule(due, kind, entry.clone(), seq);
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
