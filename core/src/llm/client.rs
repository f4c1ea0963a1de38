//! [`LlmClient`]: the attempt loop shared by `chat` and `chat_stream`.

use super::breaker::{Admission, Admit, Breaker, CircuitState, Outcome};
use super::policy::{backoff, Disposition};
use super::stream::{open_until_first_chunk, ChatStream, OpenRequest};
use super::target::TargetRt;
use super::{Attempt, ChatError, ChatResult, LlmOptions, ServedBy};
use crate::error::{Error, ErrorKind, Result};
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

struct Inner {
    http: Http,
    targets: Vec<TargetRt>,
    options: LlmOptions,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient").field("targets", &self.inner.targets).finish_non_exhaustive()
    }
}

/// The winning attempt of the loop.
struct Won<T> {
    value: T,
    served_by: ServedBy,
    attempts: Vec<Attempt>,
    /// The call's overall deadline, which still bounds a stream.
    deadline: Option<Instant>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Targets in order, skipping those whose breaker is open.
    Normal,
    /// Every breaker was open: each target once, in order.
    LastResort,
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
        if options.max_response_bytes == 0 {
            return Err(zero("max_response_bytes"));
        }
        let targets = options
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                TargetRt::new(
                    i,
                    t,
                    options.timeout,
                    Breaker::new(options.breaker_threshold, options.breaker_cooldown),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        // Attempts are bounded by their own deadline; the Http cap only has to stay out of the way.
        let longest = targets.iter().map(|t| t.timeout).max().unwrap_or(options.timeout);
        let http = Http::new(longest, options.connect_timeout, options.max_response_bytes);
        Ok(LlmClient { inner: Arc::new(Inner { http, targets, options }) })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &LlmOptions {
        &self.inner.options
    }

    /// Each target's circuit breaker, in target order.
    pub fn circuit_states(&self) -> Vec<CircuitState> {
        let now = Instant::now();
        self.inner.targets.iter().map(|t| t.breaker.state(now)).collect()
    }

    /// `POST {base_url}/chat/completions` on the targets in order until one answers (SPEC §8).
    /// `request` (a JSON object) is sent untouched except `model`, replaced by the target's
    /// model when it has one. A request with `"stream": true` belongs to [`chat_stream`](Self::chat_stream).
    pub fn chat(&self, request: &Value) -> std::result::Result<ChatResult, ChatError> {
        let inner = &*self.inner;
        let won = self.run(request, false, |t, body, budget, _deadline| {
            let mut headers = vec![("Content-Type", "application/json"), ("Accept", "application/json")];
            if let Some(a) = &t.authorization {
                headers.push(("Authorization", a.as_str()));
            }
            let attempt_deadline = Instant::now().checked_add(budget).unwrap_or_else(Instant::now);
            let resp = inner.http.request("POST", &t.url, &headers, Some(body), attempt_deadline)?;
            if !(200..300).contains(&resp.status) {
                let mut e = resp.status_error(&t.shown_url);
                e.kind = inner.options.policy.kind_for_status(resp.status);
                return Err(e);
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
                .with_status(resp.status));
            }
            Ok(v)
        })?;
        Ok(ChatResult {
            completion: won.value,
            is_fallback: won.served_by.index > 0,
            served_by: won.served_by,
            attempts: won.attempts,
        })
    }

    /// Like [`chat`](Self::chat) with `"stream": true` forced in the body. Falls over only
    /// before the first chunk (connection errors, HTTP errors, no first `data:` event within
    /// `first_chunk_timeout`); the returned stream already holds that chunk.
    pub fn chat_stream(&self, request: &Value) -> std::result::Result<ChatStream, ChatError> {
        let inner = &*self.inner;
        let o = &inner.options;
        let won = self.run(request, true, |t, body, budget, deadline| {
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
                per_read: Some(t.timeout),
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
        })?;
        let (sse, first) = won.value;
        let t = &inner.targets[won.served_by.index];
        Ok(ChatStream {
            sse: Some(sse),
            first: Some(first),
            shown_url: t.shown_url.clone(),
            deadline: won.deadline,
            scrub: t.scrubber(),
            served_by: won.served_by,
            attempts: won.attempts,
            chunks: 0,
            incomplete: false,
            done: false,
        })
    }

    /// The attempt loop: targets in order, breaker admission, retries with backoff or
    /// `Retry-After`, fallover, the overall deadline. `attempt(target, body, budget, deadline)`
    /// makes one attempt within `budget`.
    fn run<T>(
        &self,
        request: &Value,
        stream: bool,
        mut attempt: impl FnMut(&TargetRt, &[u8], Duration, Option<Instant>) -> Result<T>,
    ) -> std::result::Result<Won<T>, ChatError> {
        let inner = &*self.inner;
        let o = &inner.options;
        let start = Instant::now();
        let deadline = o.deadline.and_then(|d| start.checked_add(d));
        let mut attempts: Vec<Attempt> = Vec::new();
        let fail = |error: Error, attempts: Vec<Attempt>| Err(ChatError { error, attempts });
        let Some(map) = request.as_object() else {
            return fail(Error::invalid_argument("the chat request must be a JSON object"), attempts);
        };
        if !stream && map.get("stream") == Some(&Value::Bool(true)) {
            return fail(
                Error::invalid_argument("a request with \"stream\": true needs chat_stream"),
                attempts,
            );
        }
        let deadline_error = |last: Option<&Error>, attempts: Vec<Attempt>| {
            let d = o.deadline.unwrap_or_default();
            let tail = last.map(|e| format!("; last error: {}", e.message)).unwrap_or_default();
            log::warn!(
                "failsoft llm: the call's deadline of {} passed after {} attempts",
                secs(d),
                attempts.len()
            );
            fail(Error::timeout(format!("the call's deadline of {} passed{tail}", secs(d))), attempts)
        };
        let mut last: Option<Error> = None;
        let mut tried = false;
        for pass in [Pass::Normal, Pass::LastResort] {
            if pass == Pass::LastResort {
                if tried {
                    break;
                }
                log::warn!("failsoft llm: every target's circuit breaker is open; trying each once");
            }
            for t in &inner.targets {
                let model =
                    t.model.clone().or_else(|| map.get("model").and_then(Value::as_str).map(str::to_string));
                let admission = match pass {
                    Pass::LastResort => Admission::new(&t.breaker, false),
                    Pass::Normal => match t.breaker.admit(Instant::now()) {
                        Admit::Pass => Admission::new(&t.breaker, false),
                        Admit::Probe => {
                            log::debug!(
                                "failsoft llm: probing target {} ({}) after its cooldown",
                                t.index,
                                t.shown_base
                            );
                            Admission::new(&t.breaker, true)
                        }
                        Admit::Skip => {
                            log::debug!(
                                "failsoft llm: skipping target {} ({}): circuit open",
                                t.index,
                                t.shown_base
                            );
                            attempts.push(Attempt {
                                target: t.index,
                                model,
                                error_kind: Some(ErrorKind::Unavailable),
                                status: None,
                                elapsed_ms: 0.0,
                                skipped: true,
                                message: Some(format!(
                                    "skipped: the circuit breaker of {} is open",
                                    t.shown_base
                                )),
                            });
                            continue;
                        }
                    },
                };
                tried = true;
                let single = admission.probe || pass == Pass::LastResort;
                let tries = if single { 1 } else { o.max_retries.saturating_add(1) };
                let nominal = if stream { o.first_chunk_timeout.unwrap_or(t.timeout) } else { t.timeout };
                let body = Body { map, model: t.model.as_deref(), stream };
                let body = match serde_json::to_vec(&body) {
                    Ok(b) => b,
                    Err(e) => {
                        return fail(
                            Error::invalid_argument(format!("unserializable request ({e})")),
                            attempts,
                        )
                    }
                };
                let mut n: u32 = 0;
                let error = loop {
                    let now = Instant::now();
                    let left = deadline.map(|d| d.saturating_duration_since(now));
                    if left.is_some_and(|l| l.is_zero()) {
                        admission.report(Outcome::Unknown);
                        return deadline_error(last.as_ref(), attempts);
                    }
                    let budget = left.map_or(nominal, |l| l.min(nominal));
                    let cut_short = budget < nominal;
                    let result = attempt(t, &body, budget, deadline);
                    let elapsed_ms = ms(now.elapsed());
                    match result {
                        Ok(value) => {
                            attempts.push(Attempt {
                                target: t.index,
                                model: model.clone(),
                                error_kind: None,
                                status: None,
                                elapsed_ms,
                                skipped: false,
                                message: None,
                            });
                            admission.report(Outcome::Alive);
                            if t.index > 0 {
                                log::debug!(
                                    "failsoft llm: served by fallback target {} ({})",
                                    t.index,
                                    t.shown_base
                                );
                            }
                            let served_by =
                                ServedBy { index: t.index, model, base_url: t.shown_base.clone() };
                            return Ok(Won { value, served_by, attempts, deadline });
                        }
                        Err(e) => {
                            let e = t.scrub_error(e);
                            attempts.push(Attempt {
                                target: t.index,
                                model: model.clone(),
                                error_kind: Some(e.kind),
                                status: e.status,
                                elapsed_ms,
                                skipped: false,
                                message: Some(e.message.clone()),
                            });
                            let disposition = o.policy.classify(&e);
                            if disposition == Disposition::Stop {
                                // The target answered; the request is what is wrong.
                                admission.report(Outcome::Alive);
                                log::debug!(
                                    "failsoft llm: target {} ({}) refused the request (HTTP {}); not falling over",
                                    t.index,
                                    t.shown_base,
                                    e.status.unwrap_or_default()
                                );
                                return fail(e, attempts);
                            }
                            if cut_short && e.kind == ErrorKind::Timeout {
                                admission.report(Outcome::Unknown);
                                return deadline_error(Some(&e), attempts);
                            }
                            // No answer at all (refused, reset, timed out) means the endpoint
                            // is down or stuck, not busy: with a target left, falling over at
                            // once beats paying its timeout again (the OpenPipe seed's "falls
                            // back after the timeout"). Only the last target retries it.
                            let has_next = t.index + 1 < inner.targets.len();
                            let dead = e.status.is_none()
                                && matches!(e.kind, ErrorKind::Unavailable | ErrorKind::Timeout);
                            if disposition == Disposition::Retry && n + 1 < tries && !(dead && has_next) {
                                let wait = match e.retry_after {
                                    Some(ra) if ra > o.retry_after_cap => None,
                                    Some(ra) => Some(ra),
                                    None => Some(backoff(o.retry_backoff, o.retry_backoff_max, n)),
                                };
                                // With a later target to fall over to, retry only if the wait and a
                                // full attempt fit before the deadline: the time left is better spent
                                // on the next target than on a retry cut short.
                                let need = |w: Duration| {
                                    if t.index + 1 < inner.targets.len() {
                                        w + nominal
                                    } else {
                                        w
                                    }
                                };
                                let fits = |w: Duration| match deadline {
                                    Some(d) => Instant::now() + need(w) < d,
                                    None => true,
                                };
                                if let Some(w) = wait.filter(|w| fits(*w)) {
                                    log::debug!(
                                        "failsoft llm: target {} ({}) failed ({}{}); retrying in {}",
                                        t.index,
                                        t.shown_base,
                                        e.kind,
                                        status_note(e.status),
                                        secs(w)
                                    );
                                    std::thread::sleep(w);
                                    n += 1;
                                    continue;
                                }
                            }
                            break e;
                        }
                    }
                };
                admission.report(Outcome::Failed);
                log::warn!(
                    "failsoft llm: target {} ({}) failed ({}{}); falling over",
                    t.index,
                    t.shown_base,
                    error.kind,
                    status_note(error.status)
                );
                last = Some(error);
            }
        }
        let error = last.unwrap_or_else(|| Error::unavailable("no LLM target could be tried"));
        log::warn!("failsoft llm: every target failed ({} attempts)", attempts.len());
        fail(error, attempts)
    }
}

fn status_note(status: Option<u16>) -> String {
    status.map(|s| format!(", HTTP {s}")).unwrap_or_default()
}
