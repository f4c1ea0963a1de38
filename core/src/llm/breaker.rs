//! One circuit breaker per target, shared by every call of a client.
//!
//! Closed: calls go through. After `threshold` calls in a row failed on the target (failures that
//! fall over; a 400-class "the request is wrong" answer proves the target alive), it opens and
//! calls skip it for `cooldown`. Then it is half-open: exactly one call probes it (with a single
//! attempt) while the others keep skipping; the probe's success closes it, its failure opens it
//! for another cooldown. So during an outage a call pays the dead target's timeout at most once
//! per cooldown.

use std::sync::{Mutex, MutexGuard};
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

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

/// Whether a call may use the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Closed: use it normally (with retries).
    Pass,
    /// Half-open and this call is the one probe: one attempt, then report.
    Probe,
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
        Breaker { threshold, cooldown, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
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
            Some(_) if s.probing => Admit::Skip,
            Some(_) => {
                s.probing = true;
                Admit::Probe
            }
        }
    }

    /// Records the end of a call's use of the target. `probe` says whether it was admitted as the
    /// probe (so the probe slot is released whatever the outcome).
    pub(crate) fn record(&self, outcome: Outcome, probe: bool, now: Instant) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.lock();
        if probe {
            s.probing = false;
        }
        match outcome {
            Outcome::Alive => {
                s.consecutive_failures = 0;
                s.open_until = None;
                s.probing = false;
            }
            Outcome::Failed => {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                let reopen = probe || (s.open_until.is_none() && s.consecutive_failures >= self.threshold);
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
pub(crate) struct Admission<'a> {
    breaker: &'a Breaker,
    pub(crate) probe: bool,
    reported: bool,
}

impl<'a> Admission<'a> {
    pub(crate) fn new(breaker: &'a Breaker, probe: bool) -> Self {
        Admission { breaker, probe, reported: false }
    }

    pub(crate) fn report(mut self, outcome: Outcome) {
        self.reported = true;
        self.breaker.record(outcome, self.probe, Instant::now());
    }
}

impl Drop for Admission<'_> {
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
            b.record(Outcome::Failed, false, t);
        }
        assert_eq!(b.state(t), CircuitState::Closed);
        b.record(Outcome::Failed, false, t);
        assert_eq!(b.state(t), CircuitState::Open);
        assert_eq!(b.admit(t + 50 * MS), Admit::Skip);
    }

    #[test]
    fn success_resets_the_count() {
        let b = Breaker::new(3, 100 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, false, t);
        b.record(Outcome::Failed, false, t);
        b.record(Outcome::Alive, false, t);
        b.record(Outcome::Failed, false, t);
        b.record(Outcome::Failed, false, t);
        assert_eq!(b.state(t), CircuitState::Closed);
    }

    #[test]
    fn exactly_one_probe_after_cooldown() {
        let b = Breaker::new(1, 100 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, false, t);
        let later = t + 100 * MS;
        assert_eq!(b.state(later), CircuitState::HalfOpen);
        assert_eq!(b.admit(later), Admit::Probe);
        assert_eq!(b.admit(later), Admit::Skip);
        assert_eq!(b.admit(later), Admit::Skip);
        // Failed probe: open for another cooldown.
        b.record(Outcome::Failed, true, later);
        assert_eq!(b.admit(later + 99 * MS), Admit::Skip);
        assert_eq!(b.admit(later + 100 * MS), Admit::Probe);
        b.record(Outcome::Alive, true, later + 100 * MS);
        assert_eq!(b.admit(later + 100 * MS), Admit::Pass);
        assert_eq!(b.state(later + 100 * MS), CircuitState::Closed);
    }

    #[test]
    fn an_unreported_probe_frees_the_slot() {
        let b = Breaker::new(1, 10 * MS);
        let t = Instant::now();
        b.record(Outcome::Failed, false, t);
        let later = t + 10 * MS;
        assert_eq!(b.admit(later), Admit::Probe);
        drop(Admission::new(&b, true));
        assert_eq!(b.admit(later), Admit::Probe);
    }

    #[test]
    fn threshold_zero_disables() {
        let b = Breaker::new(0, 10 * MS);
        let t = Instant::now();
        for _ in 0..10 {
            b.record(Outcome::Failed, false, t);
        }
        assert_eq!(b.admit(t), Admit::Pass);
    }
}
