//! One cached key: its current value (read lock-free), its refresh bookkeeping, and the fetch in
//! flight that cold readers wait on together.
//!
//! A hot key read on many cores: every read returns an `Arc<Payload>`, and if every thread cloned
//! the one `current` Arc, each read would write the same reference count and two cores would run
//! slower than one. So each reading thread keeps its own copy of the current payload in its
//! [`thread_slot`](crate::thread_slot) (a `Payload` clone sharing the data, made once per thread
//! and fetch) and clones that. `stamp` names the current fetch; a copy with another stamp is
//! replaced on that thread's next read, so a refresh reaches every thread at its next read.
//! A stale read's error is copied per thread the same way (`error_stamp`).
//! Memory: at most one copy per slot index (≤ 64, about twice the cores) per entry, each a 128-byte
//! header around the shared data (and a copy of the error, while there is one), plus 24 bytes per
//! slot index per entry. A copy of a replaced or evicted payload lives until its thread reads the
//! key again or the entry is dropped; threads without a slot clone `current` itself.

use crate::error::Error;
use crate::key::Key;
use crate::status::KeyHealth;
use crate::thread_slot::{Mine, Slots};
use crate::value::Payload;
use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// What a finished fetch gave its waiters.
pub(crate) type Outcome = Result<Arc<Payload>, Arc<Error>>;

/// A fetch in progress; every reader of the key waits on the same one (single-flight).
#[derive(Default)]
pub(crate) struct Flight {
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
}

impl Flight {
    pub(crate) fn finish(&self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    /// Waits until the fetch ends or `deadline`; `None` on timeout.
    pub(crate) fn wait_until(&self, deadline: Instant) -> Option<Outcome> {
        let mut g = lock(&self.outcome);
        loop {
            if let Some(o) = g.as_ref() {
                return Some(o.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            g = self.done.wait_timeout(g, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// Bookkeeping changed only by fetches, under the entry's mutex (never held across I/O).
#[derive(Default)]
pub(crate) struct Control {
    pub flight: Option<Arc<Flight>>,
    /// Consecutive failed fetches.
    pub failures: u32,
    pub health: KeyHealth,
    pub last_snapshot_write: Option<Instant>,
}

/// One thread's copies: its clones bump counts no other thread writes.
#[derive(Default)]
struct Copies {
    payload: Option<Arc<Payload>>,
    error: Option<Arc<Error>>,
    /// The `error_stamp` that `error` copies.
    error_stamp: u64,
}

pub(crate) struct Entry {
    pub key: Key,
    /// The value readers get; replaced whole, never mutated, only through `set_current`.
    pub current: ArcSwapOption<Payload>,
    /// The stamp of `current` (0: none), stored after it.
    stamp: AtomicU64,
    /// Each reading thread's own copies of `current` and `last_error_fast`.
    copies: Slots<Copies>,
    /// The TTL the last read used, in ms (refresh-ahead schedules with it).
    pub ttl_ms: AtomicU64,
    /// Whether a read happened since the last fetch (refresh-ahead only renews keys in use).
    pub read_since_fetch: AtomicBool,
    /// Last read, ms since the client's epoch, updated at most every `READ_MARK_GRANULARITY_MS`.
    pub last_read_ms: AtomicU64,
    /// A background refresh is queued or running.
    pub refresh_queued: AtomicBool,
    /// No background attempt before this (ms since the client's epoch): the backoff.
    pub next_attempt_ms: AtomicU64,
    /// A cold read gave up on this key: later cold reads answer at once instead of waiting again.
    pub cold_failed: AtomicBool,
    /// Bumped on every stored fetch result; timers from an older fetch are ignored.
    pub fetch_seq: AtomicU64,
    pub evicted: AtomicBool,
    /// Why the last fetch failed; cleared by a success. Read without a lock by stale reads.
    /// Written only through `set_error`.
    pub last_error_fast: ArcSwapOption<Error>,
    /// Bumped after every `set_error`: a thread's copy of an older error is renewed.
    error_stamp: AtomicU64,
    /// The snapshot on disk, read at most once.
    pub snapshot: OnceLock<Option<Arc<Payload>>>,
    pub control: Mutex<Control>,
}

/// Reads closer together than this do not rewrite `last_read_ms` (keeps the cache line shared).
const READ_MARK_GRANULARITY_MS: u64 = 50;

impl Entry {
    pub(crate) fn new(key: Key, ttl: Duration) -> Self {
        Entry {
            key,
            current: ArcSwapOption::empty(),
            stamp: AtomicU64::new(0),
            copies: Slots::default(),
            ttl_ms: AtomicU64::new(ttl.as_millis() as u64),
            read_since_fetch: AtomicBool::new(false),
            last_read_ms: AtomicU64::new(0),
            refresh_queued: AtomicBool::new(false),
            next_attempt_ms: AtomicU64::new(0),
            cold_failed: AtomicBool::new(false),
            fetch_seq: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            last_error_fast: ArcSwapOption::empty(),
            error_stamp: AtomicU64::new(0),
            snapshot: OnceLock::new(),
            control: Mutex::new(Control::default()),
        }
    }

    /// Replaces the value readers get; every thread's copy is renewed at its next read.
    pub(crate) fn set_current(&self, payload: Option<Arc<Payload>>) {
        let stamp = payload.as_ref().map_or(0, |p| p.stamp);
        self.current.store(payload);
        // Release: a reader that sees the stamp sees the payload stored before it.
        self.stamp.store(stamp, Ordering::Release);
    }

    /// Whether the current value is `p`'s fetch (a copy of it counts: copies keep the stamp).
    #[inline]
    pub(crate) fn holds(&self, p: &Payload) -> bool {
        self.stamp.load(Ordering::Acquire) == p.stamp
    }

    /// The current value, from this thread's own copy when it has a slot.
    #[inline]
    pub(crate) fn payload(&self, me: Option<Mine>) -> Option<Arc<Payload>> {
        let stamp = self.stamp.load(Ordering::Acquire);
        match me {
            Some(me) if stamp != 0 => self.copies.with(me, |copies| match &copies.payload {
                Some(c) if c.stamp == stamp => Some(c.clone()),
                _ => self.renew_copy(&mut copies.payload),
            }),
            _ => self.current.load_full(),
        }
    }

    /// This thread's copy is of an older fetch (or none yet): copy the current payload.
    #[cold]
    fn renew_copy(&self, copy: &mut Option<Arc<Payload>>) -> Option<Arc<Payload>> {
        let Some(current) = self.current.load_full() else {
            *copy = None;
            return None;
        };
        let mine = Arc::new(Payload::clone(&current));
        *copy = Some(mine.clone());
        Some(mine)
    }

    /// Records why the last fetch failed (`None`: it succeeded).
    pub(crate) fn set_error(&self, error: Option<Arc<Error>>) {
        self.last_error_fast.store(error);
        // Release: a reader that sees the new stamp loads this error or a newer one.
        self.error_stamp.fetch_add(1, Ordering::Release);
    }

    /// Why the last fetch failed, for a stale read: this thread's own copy when it has a slot.
    #[inline]
    pub(crate) fn error(&self, me: Option<Mine>) -> Option<Arc<Error>> {
        let Some(me) = me else { return self.last_error() };
        let stamp = self.error_stamp.load(Ordering::Acquire);
        self.copies.with(me, |copies| {
            if copies.error_stamp != stamp {
                copies.error = self.last_error().map(|e| Arc::new(Error::clone(&e)));
                copies.error_stamp = stamp;
            }
            copies.error.clone()
        })
    }

    /// Records a read without writing shared memory when nothing changed.
    #[inline]
    pub(crate) fn note_read(&self, now_ms: u64, ttl: Duration) {
        if !self.read_since_fetch.load(Ordering::Relaxed) {
            self.read_since_fetch.store(true, Ordering::Relaxed);
        }
        if now_ms.saturating_sub(self.last_read_ms.load(Ordering::Relaxed)) >= READ_MARK_GRANULARITY_MS {
            self.last_read_ms.store(now_ms, Ordering::Relaxed);
        }
        let ttl_ms = ttl.as_millis() as u64;
        if self.ttl_ms.load(Ordering::Relaxed) != ttl_ms {
            self.ttl_ms.store(ttl_ms, Ordering::Relaxed);
        }
    }

    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.control)
    }

    pub(crate) fn last_error(&self) -> Option<Arc<Error>> {
        self.last_error_fast.load_full()
    }
}

/// Locks a mutex, recovering from poisoning: a panicking callback must not wedge the cache.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
