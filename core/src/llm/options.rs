//! [`LlmOptions`]: targets, timeouts, retries, breaker.

use super::policy::FalloverPolicy;
use super::target::Target;
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
    /// How long an open breaker skips its target before one call probes it. Default 30 s.
    pub breaker_cooldown: Duration,
    /// For streams: the longest wait for the first chunk (from the start of the attempt,
    /// connecting included) before falling over. Default `None`: the target's timeout.
    pub first_chunk_timeout: Option<Duration>,
    /// Cap on a (non-streaming) completion body and on one line of a stream. Default 16 MiB.
    pub max_response_bytes: u64,
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
            breaker_cooldown: Duration::from_secs(30),
            first_chunk_timeout: None,
            max_response_bytes: crate::http::DEFAULT_MAX_BYTES,
        }
    }
}

impl LlmOptions {
    /// Default options with these targets (primary first).
    pub fn new(targets: Vec<Target>) -> Self {
        LlmOptions { targets, ..LlmOptions::default() }
    }
}
