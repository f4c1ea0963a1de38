//! The client's health: `starting`, `ready`, `stale`, `fatal`, with counters (SPEC §4).

use crate::error::{Error, ErrorKind};
use crate::stats::Stats;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// The client's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No value has been fetched yet.
    Starting,
    /// Values are fetched and refreshes succeed.
    Ready,
    /// Serving stale data because refreshes fail.
    Stale,
    /// The source refuses the credentials (401/403); cached values keep being served.
    Fatal,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Ready => "ready",
            State::Stale => "stale",
            State::Fatal => "fatal",
        }
    }
}

/// A point-in-time copy of the client's status.
#[derive(Clone, Debug)]
pub struct Status {
    pub state: State,
    /// When `state` last changed.
    pub since: SystemTime,
    pub last_error: Option<Error>,
    pub reads: u64,
    pub fresh_reads: u64,
    pub stale_reads: u64,
    pub snapshot_reads: u64,
    pub fallback_reads: u64,
    pub error_reads: u64,
    pub fetches: u64,
    pub fetch_errors: u64,
    pub coalesced_waits: u64,
    pub bytes_fetched: u64,
    /// Keys in the cache.
    pub keys: usize,
    /// The shared store's state and counters, in fleet mode.
    pub fleet: Option<crate::fleet::FleetStatus>,
}

crate::serial::serialize_as_str!(State);

impl Status {
    /// The status JSON (its serde form, see `impl Serialize`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a status always serializes")
    }
}

/// `status()` as every door reports it (SPEC §4): `{"state", "since" (unix seconds),
/// "last_error" (the `Error` JSON or null), "counters": {...}, "keys", "fleet"}`.
impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Counters {
            reads: u64,
            fresh_reads: u64,
            stale_reads: u64,
            snapshot_reads: u64,
            fallback_reads: u64,
            error_reads: u64,
            fetches: u64,
            fetch_errors: u64,
            coalesced_waits: u64,
            bytes_fetched: u64,
        }
        let since = self.since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let counters = Counters {
            reads: self.reads,
            fresh_reads: self.fresh_reads,
            stale_reads: self.stale_reads,
            snapshot_reads: self.snapshot_reads,
            fallback_reads: self.fallback_reads,
            error_reads: self.error_reads,
            fetches: self.fetches,
            fetch_errors: self.fetch_errors,
            coalesced_waits: self.coalesced_waits,
            bytes_fetched: self.bytes_fetched,
        };
        let mut s = serializer.serialize_struct("Status", 6)?;
        s.serialize_field("state", &self.state)?;
        s.serialize_field("since", &since)?;
        s.serialize_field("last_error", &self.last_error)?;
        s.serialize_field("counters", &counters)?;
        s.serialize_field("keys", &self.keys)?;
        s.serialize_field("fleet", &self.fleet)?;
        s.end()
    }
}

/// Tracks how many keys are failing and derives the state from that.
#[derive(Debug)]
pub(crate) struct Health {
    ever_ok: AtomicBool,
    failing_keys: AtomicUsize,
    auth_failing_keys: AtomicUsize,
    inner: Mutex<(State, SystemTime, Option<Error>)>,
}

/// How one key stands, as the health tracker counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum KeyHealth {
    #[default]
    Ok,
    Failing,
    AuthFailing,
}

impl KeyHealth {
    pub(crate) fn for_error(e: &Error) -> KeyHealth {
        match e.kind {
            ErrorKind::Unauthorized => KeyHealth::AuthFailing,
            // A missing key is an answer, not an outage.
            ErrorKind::NotFound | ErrorKind::InvalidArgument => KeyHealth::Ok,
            _ => KeyHealth::Failing,
        }
    }
}

impl Health {
    pub(crate) fn new() -> Self {
        Health {
            ever_ok: AtomicBool::new(false),
            failing_keys: AtomicUsize::new(0),
            auth_failing_keys: AtomicUsize::new(0),
            inner: Mutex::new((State::Starting, SystemTime::now(), None)),
        }
    }

    fn counter(&self, h: KeyHealth) -> Option<&AtomicUsize> {
        match h {
            KeyHealth::Ok => None,
            KeyHealth::Failing => Some(&self.failing_keys),
            KeyHealth::AuthFailing => Some(&self.auth_failing_keys),
        }
    }

    /// A key moved from `old` to `new`; `error` is the failure behind a non-Ok move.
    pub(crate) fn transition(&self, old: KeyHealth, new: KeyHealth, success: bool, error: Option<&Error>) {
        if old != new {
            if let Some(c) = self.counter(old) {
                c.fetch_sub(1, Ordering::Relaxed);
            }
            if let Some(c) = self.counter(new) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        if success {
            self.ever_ok.store(true, Ordering::Relaxed);
        }
        let state = if self.auth_failing_keys.load(Ordering::Relaxed) > 0 {
            State::Fatal
        } else if self.failing_keys.load(Ordering::Relaxed) > 0 && self.ever_ok.load(Ordering::Relaxed) {
            State::Stale
        } else if self.ever_ok.load(Ordering::Relaxed) {
            State::Ready
        } else {
            State::Starting
        };
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 != state {
            g.0 = state;
            g.1 = SystemTime::now();
        }
        if let Some(e) = error {
            g.2 = Some(e.clone());
        }
    }

    pub(crate) fn snapshot(&self, stats: &Stats, keys: usize) -> Status {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = stats.fresh_reads.get();
        let stale = stats.stale_reads.get();
        let snap = stats.snapshot_reads.get();
        let fb = stats.fallback_reads.get();
        let err = stats.error_reads.get();
        Status {
            state: g.0,
            since: g.1,
            last_error: g.2.clone(),
            reads: fresh + stale + snap + fb + err,
            fresh_reads: fresh,
            stale_reads: stale,
            snapshot_reads: snap,
            fallback_reads: fb,
            error_reads: err,
            fetches: stats.fetches.get(),
            fetch_errors: stats.fetch_errors.get(),
            coalesced_waits: stats.coalesced_waits.get(),
            bytes_fetched: stats.bytes_fetched.get(),
            keys,
            fleet: None,
        }
    }
}
