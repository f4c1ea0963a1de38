//! Streaming chat completions: an incremental server-sent-events reader, opening a stream up to
//! its first chunk (the only point where a stream can still fall over), and [`ChatStream`].

use super::{Attempt, ServedBy};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{parse_retry_after, Http, HttpResponse, StreamTimeouts};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// One event of an SSE stream, as far as chat completions care.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SseEvent {
    /// The `data:` of one event (several `data:` lines joined by `\n`).
    Data(String),
    /// `data: [DONE]`.
    Done,
    /// The connection closed.
    Eof,
}

/// Reads SSE events one at a time from a byte stream, never more than one line ahead.
pub(crate) struct SseReader<R> {
    reader: R,
    line: Vec<u8>,
    data: String,
    has_data: bool,
    max_line: u64,
}

impl<R: BufRead> SseReader<R> {
    pub(crate) fn new(reader: R, max_line: u64) -> Self {
        SseReader { reader, line: Vec::new(), data: String::new(), has_data: false, max_line }
    }

    fn dispatch(&mut self) -> SseEvent {
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data.trim() == "[DONE]" {
            SseEvent::Done
        } else {
            SseEvent::Data(data)
        }
    }

    /// The next event; an I/O error when the connection broke or timed out.
    pub(crate) fn next_event(&mut self) -> io::Result<SseEvent> {
        self.next_event_unless(&|| false)
    }

    /// Like `next_event`, but gives up (`ErrorKind::Interrupted`) before reading a line once
    /// `stop()` is true, so that a server trickling comments cannot hold the reader forever.
    pub(crate) fn next_event_unless(&mut self, stop: &dyn Fn() -> bool) -> io::Result<SseEvent> {
        loop {
            if stop() {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "abandoned"));
            }
            self.line.clear();
            let n = (&mut self.reader).take(self.max_line + 1).read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(if self.has_data { self.dispatch() } else { SseEvent::Eof });
            }
            if n as u64 > self.max_line {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("an event line is over {} bytes", self.max_line),
                ));
            }
            let mut line: &[u8] = &self.line;
            if let Some(l) = line.strip_suffix(b"\n") {
                line = l;
            }
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            if line.is_empty() {
                if self.has_data {
                    return Ok(self.dispatch());
                }
                continue;
            }
            if line[0] == b':' {
                continue; // a comment (keep-alive)
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &[][..]),
            };
            if field != b"data" {
                continue; // event, id, retry: nothing a chat completion needs
            }
            let value = value.strip_prefix(b" ").unwrap_or(value);
            let value = String::from_utf8_lossy(value).into_owned();
            if self.has_data && complete_event(&self.data) {
                // Lenient with servers that omit the blank line between events: the pending data
                // is a whole event on its own, so this line starts the next one.
                let event = self.dispatch();
                self.data.push_str(&value);
                self.has_data = true;
                return Ok(event);
            }
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(&value);
            self.has_data = true;
        }
    }
}

fn complete_event(data: &str) -> bool {
    data.trim() == "[DONE]" || serde_json::from_str::<serde::de::IgnoredAny>(data).is_ok()
}

/// A chunk's JSON, or the error it reports (`{"error": …}` without `choices`).
fn parse_chunk(data: &str, shown: &str) -> Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| Error::invalid_response(format!("{shown}: a stream chunk is not valid JSON ({e})")))?;
    if let Some(err) = v.get("error").filter(|_| v.get("choices").is_none()) {
        let m = err
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string());
        let m: String = m.chars().take(300).collect();
        return Err(Error::unavailable(format!("{shown}: the stream reported an error: {m}")));
    }
    Ok(v)
}

pub(crate) type BodySse = SseReader<BufReader<ureq::BodyReader<'static>>>;

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
/// comments) before the first chunk; once the chunk arrived the reader moves to the caller.
pub(crate) fn open_until_first_chunk(
    req: OpenRequest,
    budget: Duration,
) -> Result<(BodySse, serde_json::Value)> {
    let shown = req.shown_url.clone();
    let (tx, rx) = mpsc::sync_channel(1);
    let abandoned = Arc::new(AtomicBool::new(false));
    let abandoned_in = Arc::clone(&abandoned);
    std::thread::Builder::new()
        .name("failsoft-llm-stream".into())
        .spawn(move || {
            let r = open(req, &abandoned_in);
            let _ = tx.send(r);
        })
        .map_err(|e| Error::unavailable(format!("could not start a stream reader thread ({e})")))?;
    match rx.recv_timeout(budget) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The helper stops at its next read (bounded by the idle timeout) and drops the
            // connection.
            abandoned.store(true, Ordering::SeqCst);
            Err(Error::timeout(format!("{shown}: no first stream chunk within {:.3}s", budget.as_secs_f64())))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::unavailable(format!("{shown}: the stream reader ended without an answer")))
        }
    }
}

fn open(req: OpenRequest, abandoned: &AtomicBool) -> Result<(BodySse, serde_json::Value)> {
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
        let r = HttpResponse { status, etag: None, retry_after, version_header: None, content_type, body };
        return Err(r.status_error(shown));
    }
    let mut sse = SseReader::new(BufReader::new(resp.into_body().into_reader()), req.max_line);
    match sse.next_event_unless(&|| abandoned.load(Ordering::SeqCst)) {
        Ok(SseEvent::Data(d)) => parse_chunk(&d, shown).map(|v| (sse, v)),
        Ok(SseEvent::Done) | Ok(SseEvent::Eof) => {
            Err(Error::invalid_response(format!("{shown}: the stream ended before its first chunk")))
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            Err(Error::timeout(format!("{shown}: gave up waiting for the first stream chunk")))
        }
        Err(e) => Err(read_error(&e, shown, "before its first chunk", None)),
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

/// A streaming chat completion that already delivered its first chunk from `served_by()`.
///
/// Iterate it for each chunk's JSON (`"object": "chat.completion.chunk"`), read from the
/// connection as it arrives. It ends after `data: [DONE]`. If the connection breaks, stalls for
/// longer than the target's timeout, the overall deadline passes or the server reports an error
/// before `[DONE]`, the last item is an `Err` (kind `Unavailable`, `Timeout` or
/// `InvalidResponse`) whose message says the stream is incomplete, and [`incomplete`](Self::incomplete)
/// turns true. A stream never falls over once its first chunk arrived. Dropping it closes the
/// connection.
pub struct ChatStream {
    pub(crate) sse: Option<BodySse>,
    pub(crate) first: Option<serde_json::Value>,
    pub(crate) served_by: ServedBy,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) shown_url: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) scrub: Box<dyn Fn(String) -> String + Send + Sync>,
    pub(crate) chunks: u64,
    pub(crate) incomplete: bool,
    pub(crate) done: bool,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("served_by", &self.served_by)
            .field("chunks", &self.chunks)
            .field("incomplete", &self.incomplete)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// The target that is streaming.
    pub fn served_by(&self) -> &ServedBy {
        &self.served_by
    }

    /// Whether a target other than the primary is streaming.
    pub fn is_fallback(&self) -> bool {
        self.served_by.index > 0
    }

    /// Every attempt made to open the stream, the successful one last.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// True once the stream ended with an error before `[DONE]`.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }

    /// True once `data: [DONE]` arrived.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Chunks yielded so far.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    fn fail(&mut self, e: Error) -> Option<Result<serde_json::Value>> {
        self.sse = None;
        self.incomplete = true;
        let message = (self.scrub)(format!(
            "stream incomplete after {} chunk{}: {}",
            self.chunks,
            if self.chunks == 1 { "" } else { "s" },
            e.message
        ));
        log::warn!(
            "failsoft llm: {} stream from target {} incomplete ({})",
            self.shown_url,
            self.served_by.index,
            e.kind
        );
        Some(Err(Error { message, ..e }))
    }
}

impl Iterator for ChatStream {
    type Item = Result<serde_json::Value>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(v) = self.first.take() {
            self.chunks += 1;
            return Some(Ok(v));
        }
        let sse = self.sse.as_mut()?;
        let shown = self.shown_url.clone();
        match sse.next_event() {
            Ok(SseEvent::Data(d)) => match parse_chunk(&d, &shown) {
                Ok(v) => {
                    self.chunks += 1;
                    Some(Ok(v))
                }
                Err(e) => self.fail(e),
            },
            Ok(SseEvent::Done) => {
                self.sse = None;
                self.done = true;
                None
            }
            Ok(SseEvent::Eof) => self.fail(Error::new(
                ErrorKind::Unavailable,
                format!("{shown}: the connection closed before [DONE]"),
            )),
            Err(e) => {
                let e = read_error(&e, &shown, "before [DONE]", self.deadline);
                self.fail(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &str) -> Vec<SseEvent> {
        let mut r = SseReader::new(input.as_bytes(), 1024);
        let mut out = Vec::new();
        loop {
            let e = r.next_event().unwrap();
            let end = e == SseEvent::Eof;
            out.push(e);
            if end {
                return out;
            }
        }
    }

    fn data(s: &str) -> SseEvent {
        SseEvent::Data(s.into())
    }

    #[test]
    fn parses_events_comments_and_done() {
        let got = events(": ping\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata:{\"b\":2}\n\ndata: [DONE]\n\n");
        assert_eq!(got, vec![data("{\"a\":1}"), data("{\"b\":2}"), SseEvent::Done, SseEvent::Eof]);
    }

    #[test]
    fn joins_multiline_data_and_tolerates_missing_blank_lines() {
        assert_eq!(events("data: {\"a\":\ndata: 1}\n\n"), vec![data("{\"a\":\n1}"), SseEvent::Eof]);
        assert_eq!(
            events("data: {\"a\":1}\ndata: {\"b\":2}\ndata: [DONE]\n"),
            vec![data("{\"a\":1}"), data("{\"b\":2}"), SseEvent::Done, SseEvent::Eof]
        );
    }

    #[test]
    fn a_last_event_without_newline_is_dispatched() {
        assert_eq!(events("data: {\"a\":1}"), vec![data("{\"a\":1}"), SseEvent::Eof]);
    }

    #[test]
    fn a_stop_check_ends_reading_between_lines() {
        let mut r = SseReader::new(": ping\n: ping\ndata: {}\n\n".as_bytes(), 1024);
        let calls = std::cell::Cell::new(0);
        let err = r
            .next_event_unless(&|| {
                calls.set(calls.get() + 1);
                calls.get() > 2
            })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn overlong_lines_are_refused() {
        let long = format!("data: {}\n\n", "x".repeat(2000));
        let mut r = SseReader::new(long.as_bytes(), 1024);
        assert_eq!(r.next_event().unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn error_chunks_are_errors() {
        assert!(parse_chunk(r#"{"error":{"message":"boom"}}"#, "u").unwrap_err().message.contains("boom"));
        assert!(parse_chunk(r#"{"choices":[]}"#, "u").is_ok());
        assert_eq!(parse_chunk("{", "u").unwrap_err().kind, ErrorKind::InvalidResponse);
    }
}
