//! The client's health: `starting`, `ready`, `stale`, `fatal`, with counters (SPEC §4).

use crate::error::{Error, ErrorKind};
use crate::stats::Stats;
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

impl Status {
    pub fn to_json(&self) -> serde_json::Value {
        let since = self.since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        serde_json::json!({
            "state": self.state.as_str(),
            "since": since,
            "last_error": self.last_error.as_ref().map(|e| serde_json::json!({
                "kind": e.kind.as_str(), "key": e.key, "message": e.message, "status": e.status,
            })),
            "counters": {
                "reads": self.reads,
                "fresh_reads": self.fresh_reads,
                "stale_reads": self.stale_reads,
                "snapshot_reads": self.snapshot_reads,
                "fallback_reads": self.fallback_reads,
                "error_reads": self.error_reads,
                "fetches": self.fetches,
                "fetch_errors": self.fetch_errors,
                "coalesced_waits": self.coalesced_waits,
                "bytes_fetched": self.bytes_fetched,
            },
            "keys": self.keys,
            "fleet": self.fleet.as_ref().map(|f| f.to_json()),
        })
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
