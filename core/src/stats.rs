//! Counters bumped on the read path. Each thread bumps its own cache line, so concurrent readers
//! never contend on a shared counter; a status read sums the stripes.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const STRIPES: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

/// A counter striped across cache lines.
#[derive(Default)]
pub struct Counter {
    stripes: [Padded; STRIPES],
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn stripe() -> usize {
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
        s.set(v);
        v
    })
}

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        self.stripes[stripe()].0.fetch_add(n, Ordering::Relaxed);
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
