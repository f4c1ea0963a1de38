//! [`LlmOptions`]: targets, timeouts, retries, breaker.

use super::policy::FalloverPolicy;
use super::target::Target;
use crate::fleet::FleetOptions;
use std::time::Duration;

/// Options of an [`LlmClient`](super::LlmClient). `Default` gives the documented defaults and no
/// targets (at least one is required).
#[derive(Clone, Debug, PartialEq)]
pub struct LlmOptions {
    /// The targets in order, primary first.
    pub targets: Vec<Target>,
    /// One deadline for the whole call: every attempt, retry wait and fallover, and for a stream
    /// every chunk until `[DONE]`. Default `None`: the call is bounded by the per-attempt
    /// timeouts only.
    pub deadline: Option<Duration>,
    /// The per-attempt timeout of targets that have none. Default 60 s.
    pub timeout: Duration,
    /// Bound on DNS + connect (+ TLS) of an attempt, within its timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Retries on the same target before falling over (only for the failures `policy` retries).
    /// With a deadline, a retry is made only if its wait and a full attempt fit before it (on
    /// the last target: its wait). Default 1.
    pub max_retries: u32,
    /// The wait before the first retry, doubled for each further one, minus up to 25 % jitter.
    /// Default 200 ms.
    pub retry_backoff: Duration,
    /// Cap on one backoff wait. Default 2 s.
    pub retry_backoff_max: Duration,
    /// The longest `Retry-After` / `retry-after-ms` honoured before a retry. A server asking for
    /// a longer wait is not retried: the call falls over at once. Default 2 s.
    pub retry_after_cap: Duration,
    /// Which failures end the call, retry, or fall over. Default: stop on 400/413/422, retry
    /// connection errors, timeouts, 408/409/429/5xx, fall over on everything else.
    pub policy: FalloverPolicy,
    /// Calls in a row that failed on a target before its breaker opens; 0 disables breakers.
    /// Default 3.
    pub breaker_threshold: u32,
    /// How long an open breaker skips its (base URL, model) before one call probes it. Default
    /// 5 s: during an outage the primary sees about one call per cooldown, and calls are back
    /// on it within one cooldown of its recovery.
    pub breaker_cooldown: Duration,
    /// For streams: the longest wait for the first chunk (from the start of the attempt,
    /// connecting included) before falling over; the target's timeout if that is shorter.
    /// Default 15 s (raise it for reasoning models that think before their first token); `None`:
    /// the target's timeout.
    pub first_chunk_timeout: Option<Duration>,
    /// For streams: the longest silence between two events after the first chunk; longer is a
    /// break. Default 30 s.
    pub stream_idle_timeout: Duration,
    /// What a break after the first chunk does (a cut, a stall past `stream_idle_timeout`, too
    /// many malformed events). Default [`StreamRecovery::Error`]; a call can override it.
    pub stream_recovery: StreamRecovery,
    /// Cap on a (non-streaming) completion body and on one line of a stream. Default 16 MiB.
    pub max_response_bytes: u64,
    /// Share each (base URL, model) breaker's state with the fleet through Redis (SPEC §10):
    /// when one process finds a target dead the others skip it too, and one process of the
    /// fleet probes it per cooldown. `None`: `FAILSOFT_REDIS_URL` if set, else local breakers
    /// only.
    pub fleet: Option<FleetOptions>,
}

impl Default for LlmOptions {
    fn default() -> Self {
        LlmOptions {
            targets: Vec::new(),
            deadline: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            max_retries: 1,
            retry_backoff: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(2),
            retry_after_cap: Duration::from_secs(2),
            policy: FalloverPolicy::default(),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(5),
            first_chunk_timeout: Some(Duration::from_secs(15)),
            stream_idle_timeout: Duration::from_secs(30),
            stream_recovery: StreamRecovery::Error,
            max_response_bytes: crate::http::DEFAULT_MAX_BYTES,
            fleet: None,
        }
    }
}

/// What a stream does when it breaks after its first chunk (SPEC §8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StreamRecovery {
    /// End with an error that says the answer is incomplete.
    #[default]
    Error,
    /// Send the request again (the same target while its retries last, then the next) and go on
    /// with the new attempt's chunks after a restart marker; text already shown is to be
    /// discarded. Two attempts' text is never joined.
    Restart,
}

impl StreamRecovery {
    /// `error` or `restart`, as every language spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamRecovery::Error => "error",
            StreamRecovery::Restart => "restart",
        }
    }
}

impl std::str::FromStr for StreamRecovery {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(StreamRecovery::Error),
            "restart" => Ok(StreamRecovery::Restart),
            _ => Err(format!("{s:?} is not a stream recovery (one of error, restart)")),
        }
    }
}

/// Options of one call that override the client's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// `None`: the client's [`LlmOptions::stream_recovery`].
    pub stream_recovery: Option<StreamRecovery>,
}

impl LlmOptions {
    /// Default options with these targets (primary first).
    pub fn new(targets: Vec<Target>) -> Self {
        LlmOptions { targets, ..LlmOptions::default() }
    }

    /// The fleet options in force: this option, else `FAILSOFT_REDIS_URL` (as for the client).
    pub fn resolve_fleet(&self) -> Option<FleetOptions> {
        self.fleet.clone().or_else(FleetOptions::from_env)
    }
}
