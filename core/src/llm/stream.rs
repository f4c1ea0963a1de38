//! Streaming chat completions: opening a stream up to its first chunk (where it can still fall
//! over freely), and [`ChatStream`], which reads the rest, tells a complete answer from a cut
//! one, and restarts a broken stream when asked to.

use super::classify::{classify_answer, ErrorClass};
use super::client::{CallState, Cursor, Failure, LlmClient, Won};
use super::options::StreamRecovery;
use super::policy::Disposition;
use super::sse::{has_finish_reason, parse_chunk, ChunkError, SseEvent, SseReader};
use super::{Attempt, ChatError, ServedBy, MAX_MALFORMED_EVENTS};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{parse_retry_after, Http, HttpResponse, StreamTimeouts};
use serde::Serialize;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

type BodySse = SseReader<BufReader<ureq::BodyReader<'static>>>;

/// The events of an open stream after its first chunk, read by the stream's own thread so that
/// the idle timeout and the deadline are exact whatever the server trickles.
pub(crate) struct Events {
    rx: mpsc::Receiver<io::Result<SseEvent>>,
    /// Tells the reader thread to stop at its next line (set when the stream is dropped).
    abandoned: Arc<AtomicBool>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }
}

/// What a stream opener needs, owned so that it can run on its own thread.
pub(crate) struct OpenRequest {
    pub(crate) http: Http,
    pub(crate) url: String,
    pub(crate) shown_url: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) timeouts: StreamTimeouts,
    pub(crate) max_line: u64,
}

/// Opens a stream and reads up to its first chunk, waiting at most `budget` for it. The request
/// runs on a helper thread so that the bound is exact whatever the server trickles (headers,
/// comments) before the first chunk; after it, the same thread goes on reading and hands each
/// event over a small channel ([`Events`]). It ends at the end of the stream, or at its next
/// read once the stream was dropped.
pub(crate) fn open_until_first_chunk(
    req: OpenRequest,
    budget: Duration,
) -> std::result::Result<(Events, serde_json::Value), Failure> {
    let shown = req.shown_url.clone();
    let (first_tx, first_rx) = mpsc::sync_channel(1);
    let (tx, rx) = mpsc::sync_channel(16);
    let abandoned = Arc::new(AtomicBool::new(false));
    let abandoned_in = Arc::clone(&abandoned);
    std::thread::Builder::new()
        .name("failsoft-llm-stream".into())
        .spawn(move || {
            let stop = || abandoned_in.load(Ordering::SeqCst);
            let mut sse = match open(req, &abandoned_in) {
                Ok((sse, first)) => {
                    if first_tx.send(Ok(first)).is_err() {
                        return;
                    }
                    sse
                }
                Err(f) => {
                    let _ = first_tx.send(Err(f));
                    return;
                }
            };
            loop {
                let event = sse.next_event_unless(&stop);
                let last = !matches!(event, Ok(SseEvent::Data(_)));
                if tx.send(event).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| {
            Failure::from(Error::unavailable(format!("could not start a stream reader thread ({e})")))
        })?;
    match first_rx.recv_timeout(budget) {
        Ok(Ok(first)) => Ok((Events { rx, abandoned }, first)),
        Ok(Err(f)) => Err(f),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The helper stops at its next read and drops the connection.
            abandoned.store(true, Ordering::SeqCst);
            Err(Error::timeout(format!("{shown}: no first stream chunk within {:.3}s", budget.as_secs_f64()))
                .into())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::unavailable(format!("{shown}: the stream reader ended without an answer")).into())
        }
    }
}

fn open(
    req: OpenRequest,
    abandoned: &AtomicBool,
) -> std::result::Result<(BodySse, serde_json::Value), Failure> {
    let shown = &req.shown_url;
    let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = req.http.send_streaming_with("POST", &req.url, &headers, Some(&req.body), req.timeouts)?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let h = resp.headers();
        let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after =
            parse_retry_after(header("retry-after-ms").as_deref(), header("retry-after").as_deref());
        let content_type = header("content-type");
        let mut body = Vec::new();
        // The error body is only for the message: read a little, ignore a failure.
        let _ = resp.into_body().into_reader().take(64 * 1024).read_to_end(&mut body);
        let class = classify_answer(status, &body);
        let r = HttpResponse { status, etag: None, retry_after, version_header: None, content_type, body };
        return Err(Failure { error: r.status_error(shown), class });
    }
    let mut sse = SseReader::new(BufReader::new(resp.into_body().into_reader()), req.max_line);
    let mut malformed = 0;
    loop {
        match sse.next_event_unless(&|| abandoned.load(Ordering::SeqCst)) {
            Ok(SseEvent::Data(d)) => match parse_chunk(&d, shown) {
                Ok(v) => return Ok((sse, v)),
                Err(ChunkError::Malformed(m)) if malformed < MAX_MALFORMED_EVENTS => {
                    malformed += 1;
                    log::debug!("failsoft llm: skipped a malformed stream event: {m}");
                }
                Err(ChunkError::Malformed(m)) => {
                    return Err(Error::invalid_response(format!("{m}; too many malformed events")).into())
                }
                Err(ChunkError::Reported(e)) => return Err(Failure { error: e, class: ErrorClass::Server }),
            },
            Ok(SseEvent::Done) | Ok(SseEvent::Eof) => {
                return Err(Error::invalid_response(format!(
                    "{shown}: the stream ended before its first chunk"
                ))
                .into())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                return Err(
                    Error::timeout(format!("{shown}: gave up waiting for the first stream chunk")).into()
                )
            }
            Err(e) => return Err(read_error(&e, shown, "before its first chunk", None).into()),
        }
    }
}

/// An I/O error while reading a stream, as a failsoft error.
fn read_error(e: &io::Error, shown: &str, when: &str, deadline: Option<Instant>) -> Error {
    let timed_out = matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
        || matches!(e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()), Some(ureq::Error::Timeout(_)));
    if timed_out {
        if deadline.is_some_and(|d| Instant::now() + Duration::from_millis(5) >= d) {
            Error::timeout(format!("{shown}: the call's deadline passed {when}"))
        } else {
            Error::timeout(format!("{shown}: the stream stalled {when}"))
        }
    } else if e.kind() == io::ErrorKind::InvalidData {
        Error::invalid_response(format!("{shown}: unreadable stream {when} ({e})"))
    } else {
        Error::unavailable(format!("{shown}: the connection broke {when} ({e})"))
    }
}

/// Where a [`ChatStream`] stands after its last step ([`ChatStream::progress`]): who serves it,
/// every attempt, and how far it got. Serializes as `{"served_by", "is_fallback", "attempts",
/// "chunks", "restarts", "is_restart", "incomplete", "done"}`, the fields as the getters of
/// [`ChatStream`] of the same names say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamProgress {
    /// The target streaming now (after a restart, the one that took over).
    pub served_by: ServedBy,
    /// `served_by.index > 0`.
    pub is_fallback: bool,
    /// Every attempt so far, broken ones included, the streaming one last.
    pub attempts: Vec<Attempt>,
    /// Chunks yielded so far (every attempt's).
    pub chunks: u64,
    /// Restarts after a break.
    pub restarts: u32,
    /// The chunk just yielded is the first of a restarted attempt.
    pub is_restart: bool,
    /// The stream ended with an error before it was complete.
    pub incomplete: bool,
    /// The stream ended complete.
    pub done: bool,
}

/// What a stream needs to send its request again after a break.
pub(crate) struct Restart {
    pub(crate) client: LlmClient,
    pub(crate) request: serde_json::Value,
    pub(crate) recovery: StreamRecovery,
}

/// A streaming chat completion that already delivered its first chunk from `served_by()`.
///
/// Iterate it for each chunk's JSON (`"object": "chat.completion.chunk"`), read from the
/// connection as it arrives. It ends complete after `data: [DONE]`, or when the connection
/// closes after a chunk with a `finish_reason` (and the usage chunk that may follow). Malformed
/// events are skipped (counted by [`malformed`](Self::malformed)); a few more than
/// [`MAX_MALFORMED_EVENTS`](super::MAX_MALFORMED_EVENTS) are a break.
///
/// A break (the connection closed before a `finish_reason`, no event for the idle timeout, too
/// many malformed events, an error event, the deadline) ends the stream with an `Err` whose
/// message says it is incomplete, and [`incomplete`](Self::incomplete) turns true — unless the
/// recovery is [`StreamRecovery::Restart`]: then the request is sent again (the same target
/// while its retries last, then the next ones) and the stream goes on with the new attempt's
/// chunks; [`is_restart`](Self::is_restart) is true for the first of them, so the caller can
/// discard the text shown so far. Dropping the stream closes the connection.
pub struct ChatStream {
    events: Option<Events>,
    first: Option<serde_json::Value>,
    served_by: ServedBy,
    call: CallState,
    cursor: Cursor,
    restart: Restart,
    shown_url: String,
    idle: Duration,
    attempt_started: Instant,
    chunks: u64,
    malformed: u32,
    restarts: u32,
    finished: bool,
    last_was_restart: bool,
    next_is_restart: bool,
    incomplete: bool,
    done: bool,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("served_by", &self.served_by)
            .field("chunks", &self.chunks)
            .field("restarts", &self.restarts)
            .field("incomplete", &self.incomplete)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    pub(crate) fn new(won: Won<(Events, serde_json::Value)>, call: CallState, restart: Restart) -> Self {
        let (events, first) = won.value;
        let inner = restart.client.inner();
        let shown_url = inner.targets[won.served_by.index].shown_url.clone();
        let idle = restart.client.idle_timeout(won.served_by.index);
        ChatStream {
            events: Some(events),
            first: Some(first),
            served_by: won.served_by,
            cursor: won.cursor,
            call,
            restart,
            shown_url,
            idle,
            attempt_started: Instant::now(),
            chunks: 0,
            malformed: 0,
            restarts: 0,
            finished: false,
            last_was_restart: false,
            next_is_restart: false,
            incomplete: false,
            done: false,
        }
    }

    /// The target that is streaming (after a restart: the one that took over).
    pub fn served_by(&self) -> &ServedBy {
        &self.served_by
    }

    /// Whether a target other than the primary is streaming.
    pub fn is_fallback(&self) -> bool {
        self.served_by.is_fallback()
    }

    /// Every attempt of the call so far, broken ones included, the streaming one last.
    pub fn attempts(&self) -> &[Attempt] {
        &self.call.attempts
    }

    /// True once the stream ended with an error before it was complete.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }

    /// True once the stream ended complete: `data: [DONE]`, or a close after the `finish_reason`.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Chunks yielded so far (every attempt's).
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Malformed events skipped in the current attempt.
    pub fn malformed(&self) -> u32 {
        self.malformed
    }

    /// How many times the stream was restarted after a break.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// True when the chunk just yielded is the first of a restarted attempt: the text of the
    /// chunks before it belongs to an answer that was abandoned.
    pub fn is_restart(&self) -> bool {
        self.last_was_restart
    }

    /// Where the stream stands now, in one snapshot: what each door shows as its stream's
    /// properties, converted in one call after each step instead of a getter each.
    pub fn progress(&self) -> StreamProgress {
        StreamProgress {
            served_by: self.served_by.clone(),
            is_fallback: self.is_fallback(),
            attempts: self.call.attempts.clone(),
            chunks: self.chunks,
            restarts: self.restarts,
            is_restart: self.last_was_restart,
            incomplete: self.incomplete,
            done: self.done,
        }
    }

    fn yield_chunk(&mut self, v: serde_json::Value) -> Option<Result<serde_json::Value>> {
        self.chunks += 1;
        self.finished |= has_finish_reason(&v);
        self.last_was_restart = std::mem::take(&mut self.next_is_restart);
        Some(Ok(v))
    }

    /// A break: restart if asked to and a target is left, else the incomplete error.
    fn broke(&mut self, e: Error, class: ErrorClass) -> Option<Result<serde_json::Value>> {
        self.events = None;
        let shown = self.shown_url.clone();
        log::warn!("failsoft llm: {shown} stream from target {} broke ({class})", self.served_by.index);
        let message = format!(
            "stream incomplete after {} chunk{}: {}",
            self.chunks,
            if self.chunks == 1 { "" } else { "s" },
            e.message
        );
        let broken = scrub(&self.restart.client, self.served_by.index, Error { message, ..e });
        self.mark_broken(&broken, class);
        if self.restart.recovery == StreamRecovery::Restart {
            return self.restart_after(broken, class);
        }
        self.incomplete = true;
        Some(Err(broken))
    }

    /// The streaming attempt (the last one) failed after all: it keeps its place in the list
    /// with the break's error and class, and its time runs to the break.
    fn mark_broken(&mut self, e: &Error, class: ErrorClass) {
        let since = self.attempt_started.elapsed().as_secs_f64() * 1000.0;
        if let Some(a) = self.call.attempts.last_mut() {
            a.error_kind = Some(e.kind);
            a.class = Some(class);
            a.elapsed_ms += since;
            a.message = Some(e.message.clone());
        }
    }

    fn restart_after(&mut self, broken: Error, class: ErrorClass) -> Option<Result<serde_json::Value>> {
        let client = self.restart.client.clone();
        let t = self.cursor.target;
        // The same target while its retries last (a cut with no answer goes to the next target
        // when there is one, as before the first chunk), then the next.
        let policy = &client.options().policy;
        let has_next = t + 1 < client.inner().targets.len();
        let dead = matches!(class, ErrorClass::Connection | ErrorClass::Timeout) && has_next;
        let same = policy.classify(class, None) == Disposition::Retry
            && !dead
            && self.cursor.tries < client.options().max_retries.saturating_add(1);
        let from = if same { self.cursor } else { Cursor { target: t + 1, tries: 0 } };
        let map = self.restart.request.as_object().cloned().unwrap_or_default();
        if from.target >= client.inner().targets.len() {
            self.incomplete = true;
            return Some(Err(broken));
        }
        log::debug!("failsoft llm: restarting the stream on target {}", from.target);
        match client.open_stream(&map, &mut self.call, from) {
            Ok(won) => {
                let (events, first) = won.value;
                self.shown_url = client.inner().targets[won.served_by.index].shown_url.clone();
                self.idle = client.idle_timeout(won.served_by.index);
                self.events = Some(events);
                self.served_by = won.served_by;
                self.cursor = won.cursor;
                self.attempt_started = Instant::now();
                self.malformed = 0;
                self.finished = false;
                self.restarts += 1;
                self.next_is_restart = true;
                let first_chunk = first;
                self.yield_chunk(first_chunk)
            }
            Err(ChatError { error, attempts, .. }) => {
                self.call.attempts = attempts;
                self.incomplete = true;
                let message = format!("{}; restarting failed: {}", broken.message, error.message);
                Some(Err(Error { message, ..error }))
            }
        }
    }
}

fn scrub(client: &LlmClient, target: usize, e: Error) -> Error {
    client.inner().targets[target].scrub_error(e)
}

impl Iterator for ChatStream {
    type Item = Result<serde_json::Value>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(v) = self.first.take() {
            return self.yield_chunk(v);
        }
        loop {
            let events = self.events.as_ref()?;
            let shown = self.shown_url.clone();
            let deadline = self.call.deadline;
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let wait = left.map_or(self.idle, |l| l.min(self.idle));
            let event = match events.rx.recv_timeout(wait) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) if left.is_some_and(|l| l <= self.idle) => {
                    // The call's deadline bounds the whole call: no restart past it.
                    self.events = None;
                    self.incomplete = true;
                    let e = Error::timeout(format!(
                        "stream incomplete after {} chunks: {shown}: the call's deadline passed before the answer was complete",
                        self.chunks
                    ));
                    self.mark_broken(&e, ErrorClass::Timeout);
                    return Some(Err(e));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let e = Error::timeout(format!(
                        "{shown}: the stream stalled (no event for {:.3}s)",
                        self.idle.as_secs_f64()
                    ));
                    return self.broke(e, ErrorClass::Timeout);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Ok(SseEvent::Eof) // the reader ended without saying why: as a close
                }
            };
            match event {
                Ok(SseEvent::Data(d)) => match parse_chunk(&d, &shown) {
                    Ok(v) => return self.yield_chunk(v),
                    Err(ChunkError::Malformed(m)) if self.malformed < MAX_MALFORMED_EVENTS => {
                        self.malformed += 1;
                        log::debug!("failsoft llm: skipped a malformed stream event: {m}");
                    }
                    Err(ChunkError::Malformed(m)) => {
                        let e = Error::invalid_response(format!("{m}; too many malformed events"));
                        return self.broke(e, ErrorClass::Server);
                    }
                    Err(ChunkError::Reported(e)) => return self.broke(e, ErrorClass::Server),
                },
                Ok(SseEvent::Done) => {
                    self.events = None;
                    self.done = true;
                    return None;
                }
                Ok(SseEvent::Eof) if self.finished => {
                    // Closed after the finish_reason (and usage): the answer is whole.
                    self.events = None;
                    self.done = true;
                    return None;
                }
                Ok(SseEvent::Eof) => {
                    let e = Error::new(
                        ErrorKind::Unavailable,
                        format!("{shown}: the connection closed before the answer's finish_reason"),
                    );
                    return self.broke(e, ErrorClass::Connection);
                }
                Err(e) => {
                    let e = read_error(&e, &shown, "before the answer was complete", deadline);
                    let class = if e.kind == ErrorKind::Timeout {
                        ErrorClass::Timeout
                    } else {
                        ErrorClass::Connection
                    };
                    return self.broke(e, class);
                }
            }
        }
    }
}
