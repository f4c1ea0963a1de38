//! The store breaker: after a few consecutive Redis failures every caller skips Redis at once
//! (no 250 ms timeout per read), one call every probe interval tries it again. Quiet: it logs
//! once per state change, never per call.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Breaker {
    epoch: Instant,
    threshold: u32,
    probe: Duration,
    failures: AtomicU32,
    open: AtomicBool,
    /// While open: no call before this (ms since `epoch`); a probe moves it forward.
    next_probe_ms: AtomicU64,
    /// Times the breaker opened (status counter).
    pub opened: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, probe: Duration) -> Self {
        Breaker {
            epoch: Instant::now(),
            threshold,
            probe,
            failures: AtomicU32::new(0),
            open: AtomicBool::new(false),
            next_probe_ms: AtomicU64::new(0),
            opened: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Whether a call may go to Redis now: always while closed; while open, one caller per
    /// probe interval (the probe).
    pub(crate) fn allow(&self) -> bool {
        if !self.is_open() {
            return true;
        }
        let now = self.now_ms();
        let next = self.next_probe_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_probe_ms
                .compare_exchange(
                    next,
                    now + self.probe.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    pub(crate) fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
        if self.open.swap(false, Ordering::AcqRel) {
            log::info!("fleet: the shared store answers again; breaker closed");
        }
    }

    pub(crate) fn failure(&self, why: &str) {
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= self.threshold && !self.is_open() {
            self.next_probe_ms.store(self.now_ms() + self.probe.as_millis() as u64, Ordering::Relaxed);
            if !self.open.swap(true, Ordering::AcqRel) {
                self.opened.fetch_add(1, Ordering::Relaxed);
                log::warn!("fleet: the shared store failed {n} times in a row ({why}); breaker open");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_lets_one_probe_through() {
        let b = Breaker::new(2, Duration::from_millis(30));
        b.failure("x");
        assert!(b.allow());
        b.failure("x");
        assert!(b.is_open() && !b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one probe after the interval");
        assert!(!b.allow(), "only one");
        b.success();
        assert!(!b.is_open() && b.allow());
        assert_eq!(b.opened.load(Ordering::Relaxed), 1);
    }
}
