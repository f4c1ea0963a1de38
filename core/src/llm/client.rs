//! [`LlmClient`]: the attempt loop shared by `chat` and `chat_stream`.

use super::breaker::{Admission, Admit, BreakerBook, CircuitState, Outcome};
use super::classify::{classify_answer, ErrorClass};
use super::options::CallOptions;
use super::policy::{backoff, Disposition};
use super::stream::{open_until_first_chunk, ChatStream, Events, OpenRequest, Restart};
use super::target::TargetRt;
use super::{Attempt, ChatError, ChatResult, LlmOptions, ServedBy};
use crate::error::{Error, ErrorKind, Result};
use crate::fleet::RedisCircuit;
use crate::http::{Http, StreamTimeouts};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An OpenAI-compatible chat client that falls over between targets. Cheap to clone; clones
/// share the circuit breakers and the connection pool. `Send + Sync`.
#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: Http,
    pub(crate) targets: Vec<TargetRt>,
    options: LlmOptions,
    breakers: BreakerBook,
}

/// A failed attempt and its class.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) class: ErrorClass,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let class = super::classify::classify_error(&error);
        Failure { error, class }
    }
}

/// Where the attempt loop starts: a new call at target 0, or a stream restart that goes on
/// where the broken attempt left off.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cursor {
    pub(crate) target: usize,
    /// Attempts already made on `target` (they count against its retries).
    pub(crate) tries: u32,
}

/// What a call carries from one run of the attempt loop to the next (a stream restart).
pub(crate) struct CallState {
    pub(crate) deadline: Option<Instant>,
    pub(crate) attempts: Vec<Attempt>,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient").field("targets", &self.inner.targets).finish_non_exhaustive()
    }
}

/// The winning attempt of the loop.
pub(crate) struct Won<T> {
    pub(crate) value: T,
    pub(crate) served_by: ServedBy,
    /// Where a restart of this attempt goes on from (this target, one more try used).
    pub(crate) cursor: Cursor,
}

/// The request with `model` replaced and `stream` forced, serialized without copying it.
struct Body<'a> {
    map: &'a Map<String, Value>,
    model: Option<&'a str>,
    stream: bool,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let (mut wrote_model, mut wrote_stream) = (false, false);
        for (k, v) in self.map {
            match (k.as_str(), self.model) {
                ("model", Some(model)) => {
                    m.serialize_entry(k, model)?;
                    wrote_model = true;
                }
                ("stream", _) if self.stream => {
                    m.serialize_entry(k, &true)?;
                    wrote_stream = true;
                }
                _ => m.serialize_entry(k, v)?,
            }
        }
        if let (false, Some(model)) = (wrote_model, self.model) {
            m.serialize_entry("model", model)?;
        }
        if self.stream && !wrote_stream {
            m.serialize_entry("stream", &true)?;
        }
        m.end()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

impl LlmClient {
    /// A client over `options.targets`. Never touches the network. `InvalidArgument` when there
    /// is no target, a base URL is not http(s), an API key is empty or holds control characters,
    /// or a timeout or deadline is zero.
    pub fn new(options: LlmOptions) -> Result<LlmClient> {
        if options.targets.is_empty() {
            return Err(Error::invalid_argument("LLM options need at least one target"));
        }
        let zero = |what: &str| Error::invalid_argument(format!("LLM option {what} is zero"));
        if options.timeout.is_zero() {
            return Err(zero("timeout"));
        }
        if options.connect_timeout.is_zero() {
            return Err(zero("connect_timeout"));
        }
        if options.deadline.is_some_and(|d| d.is_zero()) {
            return Err(zero("deadline"));
        }
        if options.first_chunk_timeout.is_some_and(|d| d.is_zero()) {
            return Err(zero("first_chunk_timeout"));
        }
        if options.stream_idle_timeout.is_zero() {
            return Err(zero("stream_idle_timeout"));
        }
        if options.max_response_bytes == 0 {
            return Err(zero("max_response_bytes"));
        }
        let targets = options
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| TargetRt::new(i, t, options.timeout))
            .collect::<Result<Vec<_>>>()?;
        // Attempts are bounded by their own deadline; the Http cap only has to stay out of the way.
        let longest = targets.iter().map(|t| t.timeout).max().unwrap_or(options.timeout);
        let http = Http::new(longest, options.connect_timeout, options.max_response_bytes);
        let mut breakers = BreakerBook::new(options.breaker_threshold, options.breaker_cooldown);
        if let Some(fleet) = options.resolve_fleet().filter(|_| options.breaker_threshold > 0) {
            // One circuit store per client; each breaker's circuit is named by its (base URL
            // as shown, model), so every process using that endpoint and model shares it.
            let circuit = Arc::new(RedisCircuit::new(&fleet, "llm")?);
            let bases = targets.iter().map(|t| t.shown_base.clone()).collect();
            breakers = breakers.with_fleet(circuit, bases);
        }
        Ok(LlmClient { inner: Arc::new(Inner { http, targets, options, breakers }) })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &LlmOptions {
        &self.inner.options
    }

    /// Whether both handles are the same client (so share their breakers).
    #[cfg(test)]
    pub(crate) fn same_breakers(&self, other: &LlmClient) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Each target's circuit breaker, in target order: for a target used with several models,
    /// the least healthy of them (open, then half-open, then closed).
    pub fn circuit_states(&self) -> Vec<CircuitState> {
        let mut out = vec![CircuitState::Closed; self.inner.targets.len()];
        for (t, _, s) in self.inner.breakers.states(Instant::now()) {
            let rank = |s: CircuitState| match s {
                CircuitState::Closed => 0,
                CircuitState::HalfOpen => 1,
                CircuitState::Open => 2,
            };
            if rank(s) > rank(out[t]) {
                out[t] = s;
            }
        }
        out
    }

    /// Every breaker in use: (target index, model, state). One per (target, model sent).
    pub fn circuit_states_by_model(&self) -> Vec<(usize, Option<String>, CircuitState)> {
        self.inner.breakers.states(Instant::now())
    }

    /// `POST {base_url}/chat/completions` on the targets in order until one answers (SPEC §8).
    /// `request` (a JSON object) is sent untouched except `model`, replaced by the target's
    /// model when it has one. A request with `"stream": true` belongs to [`chat_stream`](Self::chat_stream).
    pub fn chat(&self, request: &Value) -> std::result::Result<ChatResult, ChatError> {
        let map = request_map(request, false)?;
        let mut call = self.new_call();
        let won = self.run(map, false, &mut call, Cursor::default(), |t, body, budget, _| {
            self.complete(t, body, budget)
        })?;
        Ok(ChatResult {
            completion: won.value,
            is_fallback: won.served_by.is_fallback(),
            served_by: won.served_by,
            attempts: call.attempts,
        })
    }

    /// Like [`chat`](Self::chat) with `"stream": true` forced in the body. Falls over before the
    /// first chunk (connection errors, HTTP errors, no first `data:` event within
    /// `first_chunk_timeout`); the returned stream already holds that chunk. After it, a break
    /// ends the stream with an incomplete error, or restarts it (`stream_recovery`).
    pub fn chat_stream(&self, request: &Value) -> std::result::Result<ChatStream, ChatError> {
        self.chat_stream_with(request, CallOptions::default())
    }

    /// [`chat_stream`](Self::chat_stream) with this call's options.
    pub fn chat_stream_with(
        &self,
        request: &Value,
        call_options: CallOptions,
    ) -> std::result::Result<ChatStream, ChatError> {
        let map = request_map(request, true)?;
        let mut call = self.new_call();
        let won = self.open_stream(map, &mut call, Cursor::default())?;
        let recovery = call_options.stream_recovery.unwrap_or(self.inner.options.stream_recovery);
        let restart = Restart { client: self.clone(), request: request.clone(), recovery };
        Ok(ChatStream::new(won, call, restart))
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The idle timeout of a stream from target `index`: `stream_idle_timeout`, or the target's
    /// own timeout when that is shorter.
    pub(crate) fn idle_timeout(&self, index: usize) -> Duration {
        self.inner.options.stream_idle_timeout.min(self.inner.targets[index].timeout)
    }

    fn new_call(&self) -> CallState {
        let deadline = self.inner.options.deadline.and_then(|d| Instant::now().checked_add(d));
        CallState { deadline, attempts: Vec::new() }
    }

    /// One non-streaming attempt.
    fn complete(&self, t: &TargetRt, body: &[u8], budget: Duration) -> std::result::Result<Value, Failure> {
        let inner = &*self.inner;
        let mut headers = vec![("Content-Type", "application/json"), ("Accept", "application/json")];
        if let Some(a) = &t.authorization {
            headers.push(("Authorization", a.as_str()));
        }
        let attempt_deadline = Instant::now().checked_add(budget).unwrap_or_else(Instant::now);
        let resp = inner.http.request("POST", &t.url, &headers, Some(body), attempt_deadline)?;
        if !(200..300).contains(&resp.status) {
            let class = classify_answer(resp.status, &resp.body);
            let mut error = resp.status_error(&t.shown_url);
            error.kind = inner.options.policy.kind_for_status(resp.status, class);
            return Err(Failure { error, class });
        }
        let v: Value = serde_json::from_slice(&resp.body).map_err(|e| {
            Error::invalid_response(format!("{}: the completion is not valid JSON ({e})", t.shown_url))
                .with_status(resp.status)
        })?;
        if !v.is_object() || (v.get("error").is_some() && v.get("choices").is_none()) {
            return Err(Error::invalid_response(format!(
                "{}: HTTP {} but the body is not a completion",
                t.shown_url, resp.status
            ))
            .with_status(resp.status)
            .into());
        }
        Ok(v)
    }

    /// Runs the attempt loop for a stream from `from`: each attempt opens the stream and waits
    /// for its first chunk.
    pub(crate) fn open_stream(
        &self,
        map: &Map<String, Value>,
        call: &mut CallState,
        from: Cursor,
    ) -> std::result::Result<Won<(Events, Value)>, ChatError> {
        let inner = &*self.inner;
        let o = &inner.options;
        self.run(map, true, call, from, |t, body, budget, deadline| {
            let mut headers = vec![("Content-Type", "application/json".to_string())];
            headers.push(("Accept", "text/event-stream".to_string()));
            if let Some(a) = &t.authorization {
                headers.push(("Authorization", a.clone()));
            }
            let timeouts = StreamTimeouts {
                global: deadline
                    .map(|d| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))),
                connect: Some(o.connect_timeout.min(budget)),
                response: Some(budget),
                per_read: Some(o.stream_idle_timeout.max(budget)),
            };
            let req = OpenRequest {
                http: inner.http.clone(),
                url: t.url.clone(),
                shown_url: t.shown_url.clone(),
                headers,
                body: body.to_vec(),
                timeouts,
                max_line: o.max_response_bytes,
            };
            open_until_first_chunk(req, budget)
        })
    }

    /// The attempt loop: targets in order from `from`, breaker admission per (target, model),
    /// retries with backoff or `Retry-After`, fallover by error class, the overall deadline.
    /// `attempt(target, body, budget, deadline)` makes one attempt within `budget`. Attempts are
    /// appended to `call.attempts`.
    fn run<T>(
        &self,
        map: &Map<String, Value>,
        stream: bool,
        call: &mut CallState,
        from: Cursor,
        mut attempt: impl FnMut(&TargetRt, &[u8], Duration, Option<Instant>) -> std::result::Result<T, Failure>,
    ) -> std::result::Result<Won<T>, ChatError> {
        let mut last: Option<Failure> = None;
        let request_model = map.get("model").and_then(Value::as_str);
        for t in self.inner.targets.iter().skip(from.target) {
            let model = t.model.as_deref().or(request_model).map(str::to_string);
            let Some(admission) = self.admit(t, model.as_deref(), &mut call.attempts) else { continue };
            let body = Body { map, model: t.model.as_deref(), stream };
            let body = serde_json::to_vec(&body).map_err(|e| {
                ended(
                    Error::invalid_argument(format!("unserializable request ({e})")),
                    None,
                    &mut call.attempts,
                )
            })?;
            let tried = if t.index == from.target { from.tries } else { 0 };
            let step = TargetStep { t, model, body: &body, stream, tried, last: last.as_ref() };
            match self.on_target(step, admission, call, &mut attempt)? {
                Some(Ok(won)) => return Ok(won),
                Some(Err(failure)) => last = Some(failure),
                None => {} // a restart whose target has no retry left
            }
        }
        let (error, class) = match last {
            Some(f) => (f.error, Some(f.class)),
            None => (Error::unavailable("no LLM target was left to try"), None),
        };
        log::warn!("failsoft llm: every target failed ({} attempts)", call.attempts.len());
        Err(ended(error, class, &mut call.attempts))
    }

    /// The breaker's word on a target: an admission, or `None` when its circuit is open (the skip
    /// is recorded as an attempt). The last target left is never skipped.
    fn admit(&self, t: &TargetRt, model: Option<&str>, attempts: &mut Vec<Attempt>) -> Option<Admission> {
        let breaker = self.inner.breakers.get(t.index, model);
        match breaker.admit(Instant::now()) {
            Admit::Pass => Some(Admission::new(breaker, None)),
            Admit::Probe(token) => {
                log::debug!("failsoft llm: probing target {} ({}) after its cooldown", t.index, t.shown_base);
                Some(Admission::new(breaker, Some(token)))
            }
            // The last remaining target is never skipped: a single attempt, as a last resort.
            Admit::Skip if t.index + 1 == self.inner.targets.len() => {
                log::debug!(
                    "failsoft llm: target {} ({}) has an open circuit but is the last one left; trying it",
                    t.index,
                    t.shown_base
                );
                Some(Admission::last_resort(breaker))
            }
            Admit::Skip => {
                log::debug!("failsoft llm: skipping target {} ({}): circuit open", t.index, t.shown_base);
                attempts.push(Attempt {
                    target: t.index,
                    model: model.map(str::to_string),
                    error_kind: Some(ErrorKind::Unavailable),
                    class: None,
                    status: None,
                    elapsed_ms: 0.0,
                    skipped: true,
                    message: Some(format!("skipped: the circuit breaker of {} is open", t.shown_base)),
                });
                None
            }
        }
    }

    /// The attempts on one admitted target, its retries included: `Some(Ok)` when it answered,
    /// `Some(Err)` when it failed and the call falls over, `None` when a restart found no try
    /// left on it; `Err` when the call ends here (a stop status, the deadline).
    fn on_target<T>(
        &self,
        step: TargetStep<'_>,
        admission: Admission,
        call: &mut CallState,
        attempt: &mut impl FnMut(&TargetRt, &[u8], Duration, Option<Instant>) -> std::result::Result<T, Failure>,
    ) -> std::result::Result<Option<std::result::Result<Won<T>, Failure>>, ChatError> {
        let o = &self.inner.options;
        let TargetStep { t, model, body, stream, tried, last } = step;
        let deadline = call.deadline;
        let attempts = &mut call.attempts;
        let single = admission.probe.is_some() || admission.last_resort;
        let tries = if single { 1 } else { o.max_retries.saturating_add(1) };
        let nominal =
            if stream { o.first_chunk_timeout.map_or(t.timeout, |f| f.min(t.timeout)) } else { t.timeout };
        let mut n = tried;
        if n >= tries && !single {
            return Ok(None);
        }
        let failure = loop {
            let now = Instant::now();
            let left = deadline.map(|d| d.saturating_duration_since(now));
            if left.is_some_and(|l| l.is_zero()) {
                admission.report(Outcome::Unknown);
                return Err(self.deadline_error(last, attempts));
            }
            let budget = left.map_or(nominal, |l| l.min(nominal));
            let result = attempt(t, body, budget, deadline);
            let elapsed_ms = ms(now.elapsed());
            let f = match result {
                Ok(value) => {
                    attempts.push(Attempt {
                        target: t.index,
                        model: model.clone(),
                        error_kind: None,
                        class: None,
                        status: None,
                        elapsed_ms,
                        skipped: false,
                        message: None,
                    });
                    admission.report(Outcome::Alive);
                    if t.index > 0 {
                        log::debug!("failsoft llm: served by fallback target {} ({})", t.index, t.shown_base);
                    }
                    let served_by = ServedBy { index: t.index, model, base_url: t.shown_base.clone() };
                    let cursor = Cursor { target: t.index, tries: n + 1 };
                    return Ok(Some(Ok(Won { value, served_by, cursor })));
                }
                Err(f) => Failure { error: t.scrub_error(f.error), class: f.class },
            };
            let e = &f.error;
            attempts.push(Attempt {
                target: t.index,
                model: model.clone(),
                error_kind: Some(e.kind),
                class: Some(f.class),
                status: e.status,
                elapsed_ms,
                skipped: false,
                message: Some(e.message.clone()),
            });
            let disposition = o.policy.classify(f.class, e.status);
            if disposition == Disposition::Stop {
                // The target answered; the request (or its content) is what is wrong.
                admission.report(Outcome::Alive);
                log::debug!(
                    "failsoft llm: target {} ({}) refused the request ({}{}); not falling over",
                    t.index,
                    t.shown_base,
                    f.class,
                    status_note(e.status)
                );
                return Err(ended(f.error, Some(f.class), attempts));
            }
            if budget < nominal && e.kind == ErrorKind::Timeout {
                admission.report(Outcome::Unknown);
                return Err(self.deadline_error(Some(&f), attempts));
            }
            // No answer at all (refused, reset, timed out) means the endpoint is down or stuck,
            // not busy: with a target left, falling over at once beats paying its timeout again
            // (the OpenPipe seed's "falls back after the timeout"). Only the last target retries it.
            let has_next = t.index + 1 < self.inner.targets.len();
            let dead = e.status.is_none() && matches!(f.class, ErrorClass::Connection | ErrorClass::Timeout);
            if disposition == Disposition::Retry && n + 1 < tries && !(dead && has_next) {
                if let Some(w) = self.retry_wait(e, n, nominal, has_next, deadline) {
                    log::debug!(
                        "failsoft llm: target {} ({}) failed ({}{}); retrying in {}",
                        t.index,
                        t.shown_base,
                        f.class,
                        status_note(e.status),
                        secs(w)
                    );
                    std::thread::sleep(w);
                    n += 1;
                    continue;
                }
            }
            break f;
        };
        // A context-length or quota answer proves the endpoint alive: only this request (or
        // account) cannot be served, so the breaker is not fed.
        let outcome = match failure.class {
            ErrorClass::ContextLength | ErrorClass::ContentPolicy | ErrorClass::BadRequest => Outcome::Alive,
            _ => Outcome::Failed,
        };
        admission.report(outcome);
        log::warn!(
            "failsoft llm: target {} ({}) failed ({}{}); falling over",
            t.index,
            t.shown_base,
            failure.class,
            status_note(failure.error.status)
        );
        Ok(Some(Err(failure)))
    }

    /// The error of a call whose deadline passed, naming the last failure.
    fn deadline_error(&self, last: Option<&Failure>, attempts: &mut Vec<Attempt>) -> ChatError {
        let d = self.inner.options.deadline.unwrap_or_default();
        let tail = last.map(|f| format!("; last error: {}", f.error.message)).unwrap_or_default();
        log::warn!(
            "failsoft llm: the call's deadline of {} passed after {} attempts",
            secs(d),
            attempts.len()
        );
        ended(
            Error::timeout(format!("the call's deadline of {} passed{tail}", secs(d))),
            Some(ErrorClass::Timeout),
            attempts,
        )
    }

    /// The wait before retrying the same target, or `None` to fall over instead: a
    /// `Retry-After` over the cap is not waited for, and with a deadline a retry is made only
    /// if its wait and a full attempt fit (the time left is better spent on the next target
    /// than on a retry cut short).
    fn retry_wait(
        &self,
        e: &Error,
        n: u32,
        nominal: Duration,
        has_next: bool,
        deadline: Option<Instant>,
    ) -> Option<Duration> {
        let o = &self.inner.options;
        let wait = match e.retry_after {
            Some(ra) if ra > o.retry_after_cap => return None,
            Some(ra) => ra,
            None => backoff(o.retry_backoff, o.retry_backoff_max, n),
        };
        let need = if has_next { wait + nominal } else { wait };
        match deadline {
            Some(d) if Instant::now() + need >= d => None,
            _ => Some(wait),
        }
    }
}

/// One target's turn in the attempt loop.
struct TargetStep<'a> {
    t: &'a TargetRt,
    /// The model sent (the target's, else the request's).
    model: Option<String>,
    body: &'a [u8],
    stream: bool,
    /// Attempts already made on it (a restart goes on from there).
    tried: u32,
    /// The previous target's failure, for the deadline's message.
    last: Option<&'a Failure>,
}

/// The call ends with `error`, carrying every attempt made.
fn ended(error: Error, class: Option<ErrorClass>, attempts: &mut Vec<Attempt>) -> ChatError {
    ChatError { error, class, attempts: std::mem::take(attempts) }
}

/// The request as a JSON object, checked for the call it is made with.
fn request_map(request: &Value, stream: bool) -> std::result::Result<&Map<String, Value>, ChatError> {
    let invalid =
        |m: &str| ChatError { error: Error::invalid_argument(m), class: None, attempts: Vec::new() };
    let Some(map) = request.as_object() else {
        return Err(invalid("the chat request must be a JSON object"));
    };
    if map.get("model").is_some_and(|m| !m.is_string()) {
        return Err(invalid("the chat request's model must be a string"));
    }
    if map.get("messages").is_some_and(|m| !m.is_array()) {
        return Err(invalid("the chat request's messages must be a list of message objects"));
    }
    if !stream && map.get("stream") == Some(&Value::Bool(true)) {
        return Err(invalid("a request with \"stream\": true needs chat_stream"));
    }
    Ok(map)
}

fn status_note(status: Option<u16>) -> String {
    status.map(|s| format!(", HTTP {s}")).unwrap_or_default()
}
