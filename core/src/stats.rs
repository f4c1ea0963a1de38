//! Counters bumped on the read path. A thread holding a `thread_slot` index below `OWNED` bumps
//! its own stripe with a plain load and store (no other thread writes it, so no locked
//! instruction); other threads share the last stripe with an atomic add. A status read sums the
//! stripes.

use crate::thread_slot;
use std::sync::atomic::{AtomicU64, Ordering};

const STRIPES: usize = 16;
/// Stripes owned by one thread each; the last one is shared.
const OWNED: usize = STRIPES - 1;

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

/// A counter striped across cache lines.
#[derive(Default)]
pub struct Counter {
    stripes: [Padded; STRIPES],
}

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        match thread_slot::held().map(|m| m.index()) {
            Some(i) if i < OWNED => {
                let s = &self.stripes[i].0;
                s.store(s.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
            }
            _ => {
                self.stripes[OWNED].0.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.stripes.iter().map(|p| p.0.load(Ordering::Relaxed)).sum()
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// Every counter `status()` reports.
#[derive(Default, Debug)]
pub struct Stats {
    pub fresh_reads: Counter,
    pub stale_reads: Counter,
    pub snapshot_reads: Counter,
    pub fallback_reads: Counter,
    pub error_reads: Counter,
    pub fetches: Counter,
    pub fetch_errors: Counter,
    pub coalesced_waits: Counter,
    pub bytes_fetched: Counter,
}
