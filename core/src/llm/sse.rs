//! Server-sent events as OpenAI-compatible streams use them: an incremental reader that follows
//! the SSE rules (comments, keep-alives and unknown fields ignored; multi-line `data:` joined)
//! and is lenient with servers that omit the blank line between events, and the reading of one
//! event as a chunk.

use crate::error::Error;
use std::io::{self, BufRead, Read};

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
    #[cfg(test)]
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

/// Why a `data:` event is not a chunk.
#[derive(Debug)]
pub(crate) enum ChunkError {
    /// Not a JSON object: skipped and counted (a few per stream), never passed on.
    Malformed(String),
    /// The server reported an error in the stream (`{"error": …}` without `choices`): a break.
    Reported(Error),
}

/// A chunk's JSON, or why it is not one.
pub(crate) fn parse_chunk(data: &str, shown: &str) -> std::result::Result<serde_json::Value, ChunkError> {
    let v: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| ChunkError::Malformed(format!("{shown}: a stream event is not valid JSON ({e})")))?;
    if !v.is_object() {
        return Err(ChunkError::Malformed(format!("{shown}: a stream event is not a JSON object")));
    }
    if let Some(err) = v.get("error").filter(|_| v.get("choices").is_none()) {
        let m = err
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string());
        let m: String = m.chars().take(300).collect();
        return Err(ChunkError::Reported(Error::unavailable(format!(
            "{shown}: the stream reported an error: {m}"
        ))));
    }
    Ok(v)
}

/// Whether a chunk ends the answer: one of its choices has a `finish_reason`. After it, only a
/// usage chunk (when asked for) and `[DONE]` may follow, so a close there loses nothing.
pub(crate) fn has_finish_reason(chunk: &serde_json::Value) -> bool {
    chunk
        .get("choices")
        .and_then(|c| c.as_array())
        .is_some_and(|cs| cs.iter().any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null())))
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
    fn chunks_are_json_error_chunks_are_errors_and_junk_is_malformed() {
        let e = parse_chunk(r#"{"error":{"message":"boom"}}"#, "u").unwrap_err();
        assert!(matches!(e, ChunkError::Reported(ref e) if e.message.contains("boom")));
        assert!(parse_chunk(r#"{"choices":[]}"#, "u").is_ok());
        assert!(matches!(parse_chunk("{", "u"), Err(ChunkError::Malformed(_))));
        assert!(matches!(parse_chunk("[1]", "u"), Err(ChunkError::Malformed(_))));
    }

    #[test]
    fn a_finish_reason_or_usage_ends_the_answer() {
        let fin = serde_json::json!({"choices": [{"delta": {}, "finish_reason": "stop"}]});
        let mid = serde_json::json!({"choices": [{"delta": {"content": "x"}, "finish_reason": null}]});
        assert!(has_finish_reason(&fin));
        assert!(!has_finish_reason(&mid));
    }
}
