//! One circuit breaker per (base URL, model), shared by every call of a client: one client used
//! for several models keeps a breaker for each, so a failing model never blocks another model
//! of the same endpoint.
//!
//! The state a breaker keeps is three values ([`BreakerState`]: failures in a row, open-until,
//! the probe's owner) behind one small interface, so that a shared store can hold them later
//! (SPEC §10); the rules that read and write them live here.
//!
//! Closed: calls go through. After `threshold` calls in a row failed on the target (failures that
//! fall over; a 400-class "the request is wrong" answer proves the target alive), it opens and
//! calls skip it for `cooldown`. Then it is half-open: exactly one call probes it (with a single
//! attempt) while the others keep skipping; the probe's success closes it, its failure opens it
//! for another cooldown. So during an outage a call pays the dead target's timeout at most once
//! per cooldown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a target's breaker looks like right now (for status displays).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls skip the target until the cooldown ends.
    Open,
    /// The cooldown ended: the next call probes the target (or one is probing it now).
    HalfOpen,
}

/// What one breaker remembers: all a shared store would have to hold.
#[derive(Debug, Default)]
pub(crate) struct BreakerState {
    /// Calls in a row that failed on the target.
    pub(crate) failures: u32,
    /// Set while open (and half-open, once it passed).
    pub(crate) open_until: Option<Instant>,
    /// The admission that holds the half-open probe, if one does.
    pub(crate) probe_owner: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Arc<Mutex<BreakerState>>,
}

/// A client's breakers, one per (target, model): created on first use.
#[derive(Debug, Default)]
pub(crate) struct BreakerBook {
    threshold: u32,
    cooldown: Duration,
    breakers: Mutex<HashMap<(usize, Option<String>), Breaker>>,
}

impl BreakerBook {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        BreakerBook { threshold, cooldown, breakers: Mutex::default() }
    }

    /// The breaker of `model` on target `target` (the model sent: the target's, else the request's).
    pub(crate) fn get(&self, target: usize, model: Option<&str>) -> Breaker {
        let mut map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let key = (target, model.map(str::to_string));
        map.entry(key).or_insert_with(|| Breaker::new(self.threshold, self.cooldown)).clone()
    }

    /// Every breaker in use: (target, model, state), by target then model.
    pub(crate) fn states(&self, now: Instant) -> Vec<(usize, Option<String>, CircuitState)> {
        let map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|((t, m), b)| (*t, m.clone(), b.state(now))).collect();
        v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        v
    }
}

static PROBE_TOKENS: AtomicU64 = AtomicU64::new(1);

/// Whether a call may use the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Closed: use it normally (with retries).
    Pass,
    /// Half-open and this call is the one probe (its owner token): one attempt, then report.
    Probe(u64),
    /// Open, or another call is probing it.
    Skip,
}

/// How an attempt on a target ended, for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The target answered (a completion, or an error that blames the request).
    Alive,
    /// A failure that falls over.
    Failed,
    /// Tells nothing about the target (e.g. the caller's own deadline cut the attempt short).
    Unknown,
}

impl Breaker {
    /// A breaker; `threshold == 0` disables it (always closed).
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker { threshold, cooldown, state: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        // A panic while holding this lock cannot leave the few integers inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn admit(&self, now: Instant) -> Admit {
        if self.threshold == 0 {
            return Admit::Pass;
        }
        let mut s = self.lock();
        match s.open_until {
            None => Admit::Pass,
            Some(until) if now < until => Admit::Skip,
            Some(_) if s.probe_owner.is_some() => Admit::Skip,
            Some(_) => {
                let token = PROBE_TOKENS.fetch_add(1, Ordering::Relaxed);
                s.probe_owner = Some(token);
                Admit::Probe(token)
            }
        }
    }

    /// Records the end of a call's use of the target. `probe` is the owner token when it was
    /// admitted as the probe (so the probe slot is released whatever the outcome).
    pub(crate) fn record(&self, outcome: Outcome, probe: Option<u64>, now: Instant) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.lock();
        let was_probe = probe.is_some() && s.probe_owner == probe;
        if was_probe {
            s.probe_owner = None;
        }
        match outcome {
            Outcome::Alive => {
                s.failures = 0;
                s.open_until = None;
                s.probe_owner = None;
            }
            Outcome::Failed => {
                s.failures = s.failures.saturating_add(1);
                let reopen = was_probe || (s.open_until.is_none() && s.failures >= self.threshold);
                if reopen {
                    s.open_until = Some(now.checked_add(self.cooldown).unwrap_or(now));
                }
            }
            Outcome::Unknown => {}
        }
    }

    pub(crate) fn state(&self, now: Instant) -> CircuitState {
        let s = self.lock();
        match s.open_until {
            None => CircuitState::Closed,
            Some(until) if now < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }
}

/// A probe slot that is given back if the call ends without reporting (a panic, an early return).
pub(crate) struct Admission {
    breaker: Breaker,
    pub(crate) probe: Option<u64>,
    /// Admitted although open: the last target left gets a single attempt.
    pub(crate) last_resort: bool,
    reported: bool,
}

impl Admission {
    pub(crate) fn new(breaker: Breaker, probe: Option<u64>) -> Self {
        Admission { breaker, probe, last_resort: false, reported: false }
    }

    pub(crate) fn last_resort(breaker: Breaker) -> Self {
        Admission { breaker, probe: None, last_resort: true, reported: false }
    }

    pub(crate) fn report(mut self, outcome: Outcome) {
        self.reported = true;
        self.breaker.record(outcome, self.probe, Instant::now());
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.reported {
            self.breaker.record(Outcome::Unknown, self.probe, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = Breaker::new(3, 100 * MS);
        let t = Instant::now();
        for _ in 0..2 {
            assert_eq!(b.admit(t), Admit::Pass);
            b.record(Outcome::Failed, None, t);
        }
        assert_eq!(b.state(t), CircuitState::Closed);
        b.record(Outcome::Failed, None, t);
        assert_eq!(b.state(t), CircuitState::Open);
        assert_eq!(b.admit(t + 50 * MS), Admit::Skip);
    }

    #[test]
    fn success_resets_the_count() {
        let b = Breaker::new(3, 100 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, None, t);
        b.record(Outcome::Failed, None, t);
        b.record(Outcome::Alive, None, t);
        b.record(Outcome::Failed, None, t);
        b.record(Outcome::Failed, None, t);
        assert_eq!(b.state(t), CircuitState::Closed);
    }

    #[test]
    fn exactly_one_probe_after_cooldown() {
        let b = Breaker::new(1, 100 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, None, t);
        let later = t + 100 * MS;
        assert_eq!(b.state(later), CircuitState::HalfOpen);
        let Admit::Probe(token) = b.admit(later) else { panic!("no probe") };
        assert_eq!(b.admit(later), Admit::Skip);
        assert_eq!(b.admit(later), Admit::Skip);
        // Failed probe: open for another cooldown.
        b.record(Outcome::Failed, Some(token), later);
        assert_eq!(b.admit(later + 99 * MS), Admit::Skip);
        let Admit::Probe(token) = b.admit(later + 100 * MS) else { panic!("no probe") };
        b.record(Outcome::Alive, Some(token), later + 100 * MS);
        assert_eq!(b.admit(later + 100 * MS), Admit::Pass);
        assert_eq!(b.state(later + 100 * MS), CircuitState::Closed);
    }

    #[test]
    fn an_unreported_probe_frees_the_slot() {
        let b = Breaker::new(1, 10 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, None, t);
        let later = t + 10 * MS;
        let Admit::Probe(token) = b.admit(later) else { panic!("no probe") };
        drop(Admission::new(b.clone(), Some(token)));
        assert!(matches!(b.admit(later), Admit::Probe(_)));
    }

    #[test]
    fn each_model_of_a_target_has_its_own_breaker() {
        let book = BreakerBook::new(1, 100 * MS);
        let t = Instant::now();
        book.get(0, Some("bad")).record(Outcome::Failed, None, t);
        assert_eq!(book.get(0, Some("bad")).admit(t), Admit::Skip);
        assert_eq!(book.get(0, Some("good")).admit(t), Admit::Pass);
        assert_eq!(book.get(1, Some("bad")).admit(t), Admit::Pass);
        assert_eq!(book.states(t).len(), 3);
    }

    #[test]
    fn threshold_zero_disables() {
        let b = Breaker::new(0, 10 * MS);
        let t = Instant::now();
        for _ in 0..10 {
            b.record(Outcome::Failed, None, t);
        }
        assert_eq!(b.admit(t), Admit::Pass);
    }
}
