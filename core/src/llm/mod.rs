//! LLM calls with fallback (SPEC §8): an OpenAI-compatible chat completion tried on an ordered
//! list of targets (primary first), with per-attempt timeouts, one overall deadline, a short
//! retry within a target, fallover as the main tool, and one circuit breaker per target.
//!
//! ```no_run
//! use failsoft::llm::{LlmClient, LlmOptions, Target};
//! use std::time::Duration;
//!
//! let client = LlmClient::new(LlmOptions {
//!     targets: vec![
//!         Target::new("https://api.openpipe.ai/api/v1").api_key("opk-…").timeout(Duration::from_secs(10)),
//!         Target::new("https://api.openai.com/v1").api_key("sk-…").model("gpt-4-turbo"),
//!     ],
//!     deadline: Some(Duration::from_secs(40)),
//!     ..LlmOptions::default()
//! })?;
//! let request = serde_json::json!({
//!     "model": "openpipe:my-ft-model",
//!     "messages": [{"role": "user", "content": "count to 10"}],
//! });
//! match client.chat(&request) {
//!     Ok(r) => println!("{} (fallback: {})", r.completion["choices"][0]["message"]["content"], r.is_fallback),
//!     Err(e) => eprintln!("{e} after {} attempts", e.attempts.len()),
//! }
//! # Ok::<(), failsoft::Error>(())
//! ```
//!
//! Decisions the SPEC left open:
//! - Every failure has an [`ErrorClass`] (classify.rs); the classes in
//!   [`FalloverPolicy::fallover_classes`] fall over, the others end the call. A 2xx answer that
//!   is not JSON, or is `{"error": …}` without `choices`, is class `server` and falls over too.
//! - Breakers are per (target, model sent) within a client and its clones; the doors' client
//!   pools share one core client per target list, so every object of a language that names the
//!   same targets shares them too.
//! - The last remaining target is never skipped for an open breaker: when every earlier target
//!   failed or was skipped, it gets a single attempt.
//! - A stream that closes after a chunk with a `finish_reason` is complete. Up to
//!   [`MAX_MALFORMED_EVENTS`] malformed events are skipped per attempt; one more is a break.
//! - The breaker counts calls, not attempts: a call whose attempts on a target (retries
//!   included) all failed is one failure. The probe after a cooldown makes a single attempt,
//!   without retries. An attempt cut short by the caller's deadline counts neither way.
//! - When every target's breaker is open (nothing was tried), the call does not fail untried: it
//!   tries each target once, in order, as a last resort.
//! - An attempt that got no answer at all (connection refused or reset, DNS, timeout) is not
//!   retried while a later target is left: the endpoint is down or stuck, so the call falls over
//!   at once and pays a hung primary's timeout once, as in the OpenPipe seed ("falls back after
//!   the timeout"). Retries within a target are for answers that say "busy" (408, 409, 429,
//!   5xx), and for every retryable failure on the last target.
//! - A `Retry-After` longer than `retry_after_cap` (or than the time left) is not waited for: the
//!   call falls over at once. With a deadline, a retry is made only when its wait and a full
//!   attempt still fit (the rest of the time goes to the next target instead).
//! - The deadline bounds the whole call, streams included: a stream still running when it passes
//!   ends with an incomplete `Timeout`.
//! - A stream counts as a success for the breaker once its first chunk arrived; a later break
//!   does not count against it (the target answered).
//! - `served_by.base_url` is the target's base URL without credentials or query string.

mod breaker;
mod classify;
mod client;
mod front;
mod options;
mod policy;
mod spec;
mod sse;
mod stream;
mod target;

pub use breaker::CircuitState;
pub use classify::ErrorClass;
pub use client::LlmClient;
pub use front::{client_from_json, client_from_value, Api, Front, FrontCall, DEFAULT_BASE_URL, MAX_POOLED};
pub use options::{CallOptions, LlmOptions, StreamRecovery};
pub use policy::FalloverPolicy;
pub use spec::{CallSpec, LlmSpec, TargetSpec};
pub use stream::{ChatStream, StreamProgress};
pub use target::Target;

use crate::error::{Error, ErrorKind};
use serde::{Serialize, Serializer};
use std::fmt;

fn kind_name<S: Serializer>(k: &Option<ErrorKind>, s: S) -> Result<S::Ok, S::Error> {
    k.map(|k| k.as_str()).serialize(s)
}

fn class_name<S: Serializer>(c: &Option<ErrorClass>, s: S) -> Result<S::Ok, S::Error> {
    c.map(|c| c.as_str()).serialize(s)
}

/// Malformed (not JSON) events skipped in one stream attempt; one more is a break.
pub const MAX_MALFORMED_EVENTS: u32 = 3;

/// The target that answered. Serializes as `{"index", "model", "base_url"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServedBy {
    /// Its index in `LlmOptions::targets` (0 = primary).
    pub index: usize,
    /// The model sent to it: the target's `model`, else the request's. Never read from the
    /// response.
    pub model: Option<String>,
    /// Its base URL, without credentials or query string.
    pub base_url: String,
}

impl ServedBy {
    /// Whether a target other than the primary answered: the one rule every door shows as
    /// `is_fallback` / `isFallback`.
    pub fn is_fallback(&self) -> bool {
        self.index > 0
    }
}

/// One attempt (or skipped target) of a call, in order. Serializes as every language shows it:
/// `{"target": 0, "model": "m" | null, "error_kind": "Unavailable" | null, "class": "timeout" |
/// null, "status": 503 | null, "elapsed_ms": 1.25, "skipped": false, "message": "…" | null}`
/// (the kind by [`ErrorKind::as_str`], the class by [`ErrorClass::as_str`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// The target's index in `LlmOptions::targets`.
    pub target: usize,
    /// The model sent (the target's, else the request's).
    pub model: Option<String>,
    /// `None` for the attempt that succeeded.
    #[serde(serialize_with = "kind_name")]
    pub error_kind: Option<ErrorKind>,
    /// Why it failed, as the fallover policy saw it; `None` for a success or a skipped target.
    #[serde(serialize_with = "class_name")]
    pub class: Option<ErrorClass>,
    /// The HTTP status, when an answer arrived.
    pub status: Option<u16>,
    pub elapsed_ms: f64,
    /// True when the target's circuit breaker was open, so no request was made (`error_kind`
    /// is then `Unavailable` and `elapsed_ms` 0).
    pub skipped: bool,
    /// What went wrong, without secrets; `None` for the successful attempt.
    pub message: Option<String>,
}

/// A completion and who served it. Serializes as `{"completion", "served_by", "is_fallback",
/// "attempts"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatResult {
    /// The server's JSON, untouched.
    pub completion: serde_json::Value,
    pub served_by: ServedBy,
    /// True when a target other than the primary answered (`served_by.index > 0`).
    pub is_fallback: bool,
    /// Every attempt, the successful one last.
    pub attempts: Vec<Attempt>,
}

/// Why a call failed, with every attempt it made.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatError {
    /// The last attempt's error; `Timeout` when the overall deadline ended the call; the error
    /// itself when it ended the call at once (400, 413, 422); `InvalidArgument` for a bad request.
    pub error: Error,
    /// The last attempt's class, when an attempt failed.
    pub class: Option<ErrorClass>,
    pub attempts: Vec<Attempt>,
}

impl ChatError {
    pub fn kind(&self) -> ErrorKind {
        self.error.kind
    }
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ChatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<ChatError> for Error {
    fn from(e: ChatError) -> Self {
        e.error
    }
}
