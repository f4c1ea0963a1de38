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
//!
//! With fleet mode on, each breaker also follows a [`SharedCircuit`] (issue 13, part 8): an open
//! fleet circuit makes this process skip the target too, and in half-open only the process that
//! wins the fleet's probe claim probes it. The shared view is a local copy refreshed off the
//! caller's thread, outcomes are written off it too; when the store is unreachable (no view, no
//! claim answer) the local breaker decides alone.

use crate::fleet::{CircuitView, SharedCircuit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a target's breaker looks like right now (for status displays). Serializes as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls skip the target until the cooldown ends.
    Open,
    /// The cooldown ended: the next call probes the target (or one is probing it now).
    HalfOpen,
}

impl CircuitState {
    /// The name every language shows: `closed`, `open`, `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
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
    /// Another process of the fleet won this cooldown's probe: skip until then without asking
    /// the store again (its success or failure shows in the shared view).
    pub(crate) probe_lost_until: Option<Instant>,
}

/// A breaker's place in the fleet's shared circuits.
#[derive(Clone)]
struct FleetLink {
    circuit: Arc<dyn SharedCircuit>,
    /// `{base URL without credentials or query}|{model}`: the circuit's name, no secret in it.
    name: Arc<str>,
}

impl std::fmt::Debug for FleetLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetLink").field("name", &self.name).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Arc<Mutex<BreakerState>>,
    fleet: Option<FleetLink>,
}

/// The shared circuit of a client's breakers and each target's shown base URL (index order).
struct BookFleet {
    circuit: Arc<dyn SharedCircuit>,
    bases: Vec<String>,
}

impl std::fmt::Debug for BookFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookFleet").field("bases", &self.bases).finish_non_exhaustive()
    }
}

/// A client's breakers, one per (target, model): created on first use.
#[derive(Debug, Default)]
pub(crate) struct BreakerBook {
    threshold: u32,
    cooldown: Duration,
    breakers: Mutex<HashMap<(usize, Option<String>), Breaker>>,
    fleet: Option<BookFleet>,
}

impl BreakerBook {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        BreakerBook { threshold, cooldown, breakers: Mutex::default(), fleet: None }
    }

    /// Breakers that follow `circuit`; `bases[i]` is target `i`'s base URL as shown (no secret).
    pub(crate) fn with_fleet(mut self, circuit: Arc<dyn SharedCircuit>, bases: Vec<String>) -> Self {
        self.fleet = Some(BookFleet { circuit, bases });
        self
    }

    /// The breaker of `model` on target `target` (the model sent: the target's, else the request's).
    pub(crate) fn get(&self, target: usize, model: Option<&str>) -> Breaker {
        let mut map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let key = (target, model.map(str::to_string));
        map.entry(key)
            .or_insert_with(|| {
                let mut b = Breaker::new(self.threshold, self.cooldown);
                if let Some(f) = self.fleet.as_ref().filter(|_| self.threshold > 0) {
                    let base = f.bases.get(target).map_or("", String::as_str);
                    b.fleet = Some(FleetLink { circuit: f.circuit.clone(), name: circuit_name(base, model) });
                }
                b
            })
            .clone()
    }

    /// Every breaker in use: (target, model, state), by target then model.
    pub(crate) fn states(&self, now: Instant) -> Vec<(usize, Option<String>, CircuitState)> {
        let map = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|((t, m), b)| (*t, m.clone(), b.state(now))).collect();
        v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        v
    }
}

/// `{base}|{model}` with braces dropped (they delimit the Redis Cluster hash tag of the key).
fn circuit_name(base: &str, model: Option<&str>) -> Arc<str> {
    let name = format!("{base}|{}", model.unwrap_or(""));
    name.replace(['{', '}'], "").into()
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
        Breaker { threshold, cooldown, state: Arc::default(), fleet: None }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        // A panic while holding this lock cannot leave the few integers inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fleet's view of this breaker's circuit (`None`: no fleet, unknown yet, or store down).
    fn fleet_view(&self) -> Option<CircuitView> {
        self.fleet.as_ref().and_then(|l| l.circuit.view(&l.name))
    }

    /// Folds the fleet's view into the local state: open fleet-wide → open here until then;
    /// half-open fleet-wide → due for a probe here; closed fleet-wide after this process's own
    /// cooldown ended → another process's probe succeeded, so closed here too.
    fn adopt(&self, s: &mut BreakerState, view: CircuitView, now: Instant) {
        match view.open_for {
            Some(d) => {
                let until = now.checked_add(d).unwrap_or(now);
                if s.open_until.is_none_or(|u| u < until) {
                    s.open_until = Some(until);
                }
            }
            None if view.failures >= self.threshold => {
                if s.open_until.is_none() {
                    s.open_until = Some(now);
                }
            }
            None => {
                let cooled = s.open_until.is_some_and(|u| now >= u);
                if cooled && s.probe_owner.is_none() {
                    s.failures = 0;
                    s.open_until = None;
                    s.probe_lost_until = None;
                }
            }
        }
    }

    pub(crate) fn admit(&self, now: Instant) -> Admit {
        if self.threshold == 0 {
            return Admit::Pass;
        }
        let view = self.fleet_view();
        let token = {
            let mut s = self.lock();
            if let Some(v) = view {
                self.adopt(&mut s, v, now);
            }
            match s.open_until {
                None => return Admit::Pass,
                Some(until) if now < until => return Admit::Skip,
                Some(_) if s.probe_owner.is_some() => return Admit::Skip,
                Some(_) if s.probe_lost_until.is_some_and(|u| now < u) => return Admit::Skip,
                Some(_) => {
                    let token = PROBE_TOKENS.fetch_add(1, Ordering::Relaxed);
                    s.probe_owner = Some(token);
                    token
                }
            }
        };
        // This process's probe slot is held; the fleet's is claimed without the local lock held.
        let Some(link) = &self.fleet else { return Admit::Probe(token) };
        match link.circuit.claim_probe(&link.name, self.cooldown) {
            Some(false) => {
                let mut s = self.lock();
                if s.probe_owner == Some(token) {
                    s.probe_owner = None;
                }
                s.probe_lost_until = Some(now.checked_add(self.cooldown).unwrap_or(now));
                Admit::Skip
            }
            // Won, or the store is unreachable: the local breaker decides alone.
            Some(true) | None => Admit::Probe(token),
        }
    }

    /// Records the end of a call's use of the target. `probe` is the owner token when it was
    /// admitted as the probe (so the probe slot is released whatever the outcome).
    pub(crate) fn record(&self, outcome: Outcome, probe: Option<u64>, now: Instant) {
        if self.threshold == 0 {
            return;
        }
        let had_failures = {
            let mut s = self.lock();
            let had_failures = s.failures > 0 || s.open_until.is_some();
            let was_probe = probe.is_some() && s.probe_owner == probe;
            if was_probe {
                s.probe_owner = None;
            }
            match outcome {
                Outcome::Alive => {
                    s.failures = 0;
                    s.open_until = None;
                    s.probe_owner = None;
                    s.probe_lost_until = None;
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
            had_failures
        };
        // Written off the caller's thread by the circuit; a success is written only when there
        // is something to clear, so a healthy target costs the store nothing.
        let Some(link) = &self.fleet else { return };
        match outcome {
            Outcome::Failed => link.circuit.failure(&link.name, self.threshold, self.cooldown, None),
            Outcome::Alive if had_failures || self.fleet_view().is_some_and(|v| v.failures > 0) => {
                link.circuit.success(&link.name)
            }
            Outcome::Alive | Outcome::Unknown => {}
        }
    }

    pub(crate) fn state(&self, now: Instant) -> CircuitState {
        let view = if self.threshold == 0 { None } else { self.fleet_view() };
        let s = self.lock();
        let local = match s.open_until {
            None => CircuitState::Closed,
            Some(until) if now < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        };
        match view {
            Some(v) if v.open_for.is_some() => CircuitState::Open,
            Some(v) if v.failures >= self.threshold && local == CircuitState::Closed => {
                CircuitState::HalfOpen
            }
            _ => local,
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

    /// A shared circuit held in memory: a fixed view and a scripted claim answer, counting claims.
    #[derive(Default)]
    struct FakeCircuit {
        view: Mutex<Option<CircuitView>>,
        claim: Mutex<Option<bool>>,
        claims: AtomicU64,
        failures: AtomicU64,
    }

    impl SharedCircuit for FakeCircuit {
        fn view(&self, _: &str) -> Option<CircuitView> {
            *self.view.lock().unwrap()
        }
        fn failure(&self, _: &str, _: u32, _: Duration, _: Option<Duration>) {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        fn success(&self, _: &str) {}
        fn claim_probe(&self, _: &str, _: Duration) -> Option<bool> {
            self.claims.fetch_add(1, Ordering::Relaxed);
            *self.claim.lock().unwrap()
        }
    }

    fn shared_book(circuit: &Arc<FakeCircuit>) -> BreakerBook {
        BreakerBook::new(2, 100 * MS).with_fleet(circuit.clone(), vec!["http://h/v1".into()])
    }

    #[test]
    fn an_open_fleet_circuit_skips_a_target_this_process_never_saw_fail() {
        let fake = Arc::new(FakeCircuit::default());
        let b = shared_book(&fake).get(0, Some("m"));
        let t = Instant::now();
        assert_eq!(b.admit(t), Admit::Pass);
        *fake.view.lock().unwrap() = Some(CircuitView { failures: 2, open_for: Some(50 * MS) });
        assert_eq!(b.admit(t), Admit::Skip);
        assert_eq!(b.state(t), CircuitState::Open);
        b.record(Outcome::Failed, None, t);
        assert_eq!(fake.failures.load(Ordering::Relaxed), 1, "failures are written to the fleet");
    }

    #[test]
    fn a_lost_probe_claim_skips_for_the_cooldown_without_asking_again() {
        let fake = Arc::new(FakeCircuit::default());
        let b = shared_book(&fake).get(0, Some("m"));
        let t = Instant::now();
        *fake.view.lock().unwrap() = Some(CircuitView { failures: 2, open_for: None });
        *fake.claim.lock().unwrap() = Some(false);
        assert_eq!(b.admit(t), Admit::Skip, "another process probes");
        assert_eq!(b.admit(t + 50 * MS), Admit::Skip);
        assert_eq!(fake.claims.load(Ordering::Relaxed), 1, "one claim per cooldown");
        // The other process's probe succeeded: closed fleet-wide, so closed here.
        *fake.view.lock().unwrap() = Some(CircuitView::default());
        assert_eq!(b.admit(t + 100 * MS), Admit::Pass);
    }

    #[test]
    fn with_the_store_unreachable_the_local_breaker_probes() {
        let fake = Arc::new(FakeCircuit::default());
        let b = shared_book(&fake).get(0, Some("m"));
        let t = Instant::now();
        b.record(Outcome::Failed, None, t);
        b.record(Outcome::Failed, None, t);
        assert_eq!(b.admit(t), Admit::Skip);
        assert!(matches!(b.admit(t + 100 * MS), Admit::Probe(_)), "claim answered None: decide locally");
        assert_eq!(b.admit(t + 100 * MS), Admit::Skip, "one local probe at a time");
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
