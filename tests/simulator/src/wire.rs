//! Answers of the data port: what a route replies ([`Reply`]), each backend's error body
//! ([`Api`]), and how a reply goes on the wire, whole, cut short or held after its headers.
//!
//! Requests are parsed by tiny_http; answers are written by this module straight on the client
//! socket the relay owns, so an answer can be streamed event by event, stopped half-way, or
//! replaced by a closed connection.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::relay::Relay;

/// Size of the `oversized` body: 17 MiB, over failsoft's default 16 MiB cap.
pub(crate) const OVERSIZED_BYTES: usize = 17 * 1024 * 1024;

/// Which backend a data path belongs to; decides the shape of error bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    Kv,
    Langfuse,
    Opik,
    OpenAi,
    Other,
}

impl Api {
    pub fn of(path: &str) -> Api {
        if path.starts_with("/kv/") {
            Api::Kv
        } else if path.starts_with("/api/public/") {
            Api::Langfuse
        } else if path.starts_with("/v1/private/") {
            Api::Opik
        } else if path.starts_with("/t/") || path.ends_with("/chat/completions") {
            Api::OpenAi
        } else {
            Api::Other
        }
    }

    /// The backend's error body for `status`.
    fn error_body(self, status: u16, message: &str) -> Value {
        match self {
            Api::OpenAi => json!({"error": {
                "message": message,
                "type": openai_error_type(status),
                "param": null,
                "code": openai_error_code(status),
            }}),
            // Opik (Dropwizard) reports validation errors and conflicts as a list.
            Api::Opik if matches!(status, 400 | 409 | 422) => json!({"errors": [message]}),
            Api::Opik => json!({"code": status, "message": message}),
            Api::Kv | Api::Langfuse | Api::Other => json!({"message": message}),
        }
    }
}

fn openai_error_type(status: u16) -> &'static str {
    match status {
        403 => "permission_error",
        408 => "timeout_error",
        429 => "requests",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

fn openai_error_code(status: u16) -> Value {
    match status {
        401 => json!("invalid_api_key"),
        404 => json!("model_not_found"),
        429 => json!("rate_limit_exceeded"),
        _ => Value::Null,
    }
}

/// A reply body.
#[derive(Debug)]
pub(crate) enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// A valid JSON object of exactly this many bytes, generated while it is written.
    Padding(usize),
    /// Server-sent events (each a complete `data: ...\n\n` frame), sent chunked with `gap` between.
    Events {
        events: Vec<String>,
        gap: Duration,
    },
}

/// What a data route answers.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(value.to_string().into_bytes()),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Empty }
    }

    /// The error answer of `api` for `status`.
    pub fn error(api: Api, status: u16, message: &str) -> Reply {
        Reply::json(status, &api.error_body(status, message))
    }

    pub fn events(events: Vec<String>, gap: Duration) -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/event-stream".into()),
                ("Cache-Control".into(), "no-cache".into()),
            ],
            body: Body::Events { events, gap },
        }
    }

    /// 200 with a body that claims to be JSON and is not.
    pub fn garbage() -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(b"<html><body>this is not JSON {\"oops\": </body></html>".to_vec()),
        }
    }

    /// 200 with a valid JSON body over the size cap.
    pub fn oversized() -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Padding(OVERSIZED_BYTES),
        }
    }

    /// An OpenAI error answer with this code and type.
    pub fn openai_error(status: u16, code: &str, kind: &str, message: &str) -> Reply {
        Reply::json(
            status,
            &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        )
    }

    /// Puts `times` copies of `event` before event `at` of a stream (no-op for other bodies).
    pub fn insert_events(&mut self, at: usize, times: usize, event: &str) {
        if let Body::Events { events, .. } = &mut self.body {
            let at = at.min(events.len());
            for _ in 0..times {
                events.insert(at, event.to_owned());
            }
        }
    }

    /// Removes the `data: [DONE]` event of a stream.
    pub fn drop_done(&mut self) {
        if let Body::Events { events, .. } = &mut self.body {
            events.retain(|e| e.trim() != "data: [DONE]");
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn head(&self) -> String {
        let mut head =
            format!("HTTP/1.1 {} {}\r\nServer: failsoft-sim\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match &self.body {
            Body::Events { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
            Body::Empty if matches!(self.status, 204 | 304) => {}
            body => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        }
        head.push_str("\r\n");
        head
    }
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len(),
            Body::Padding(n) => *n,
            Body::Events { events, .. } => events.iter().map(String::len).sum(),
        }
    }
}

/// How much of a reply goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// All of it.
    Whole,
    /// The headers and half the body (two events of a stream), then the connection is closed.
    Cut,
    /// The headers and the first N events of a stream (a plain body: half), then closed.
    CutAt(usize),
    /// The headers and the first N events, then nothing until released; then the rest.
    StallAt(usize),
    /// The headers, then nothing until released; then the rest, or a closed connection if the
    /// simulator stops first.
    HoldAfterHead,
    /// The headers, then a pause, then the body.
    DelayAfterHead(Duration),
}

impl Delivery {
    fn cuts(self) -> bool {
        matches!(self, Delivery::Cut | Delivery::CutAt(_))
    }
}

/// The way back to the client of one request.
pub(crate) struct Output<'a> {
    relay: &'a Relay,
    peer: Option<SocketAddr>,
    client: Option<TcpStream>,
    /// tiny_http's writer for the request: held so tiny_http neither answers the request itself
    /// nor lets a pipelined request's answer overtake this one.
    slot: Box<dyn Write + Send>,
    head_only: bool,
}

impl<'a> Output<'a> {
    pub fn new(request: tiny_http::Request, relay: &'a Relay) -> Output<'a> {
        let peer = request.remote_addr().copied();
        let head_only = *request.method() == tiny_http::Method::Head;
        let mut slot = request.into_writer();
        // Blocks until the answers of earlier requests on this connection are out.
        let _ = slot.flush();
        let client = peer.and_then(|p| relay.client(p));
        Output { relay, peer, client, slot, head_only }
    }

    /// Closes the connection without an answer.
    pub fn close(self) {
        if let Some(peer) = self.peer {
            self.relay.close_connection(peer);
        }
    }

    /// Sends `reply` as `delivery` says; `release` blocks a held reply and tells whether to go on.
    pub fn send(mut self, reply: &Reply, delivery: Delivery, release: impl FnOnce() -> bool) {
        let sent = self.write_reply(reply, delivery, release);
        if delivery.cuts() || !sent {
            self.close();
        }
    }

    /// Returns false when the connection must be closed instead of kept alive.
    fn write_reply(&mut self, reply: &Reply, delivery: Delivery, release: impl FnOnce() -> bool) -> bool {
        if self.write(reply.head().as_bytes()).is_err() {
            return false;
        }
        if self.head_only {
            return true;
        }
        let mut release = Some(release);
        let mut released = || release.take().is_some_and(|r| r());
        match delivery {
            Delivery::HoldAfterHead if !released() => return false,
            Delivery::DelayAfterHead(d) => thread::sleep(d),
            Delivery::StallAt(n) => {
                if let Body::Events { events, gap } = &reply.body {
                    let n = n.min(events.len());
                    if self.write_events(&events[..n], *gap, false, false).is_err() || !released() {
                        return false;
                    }
                    return self.write_events(&events[n..], *gap, true, true).is_ok();
                }
                if !released() {
                    return false;
                }
            }
            _ => {}
        }
        let cut = match delivery {
            Delivery::Cut => Some(2),
            Delivery::CutAt(n) => Some(n),
            _ => None,
        };
        self.write_body(&reply.body, cut).is_ok()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let out: &mut dyn Write = match self.client.as_mut() {
            Some(client) => client,
            None => &mut self.slot,
        };
        out.write_all(bytes)?;
        out.flush()
    }

    /// Writes the body; `cut`: only half of it (a stream: its first `cut` events).
    fn write_body(&mut self, body: &Body, cut: Option<usize>) -> io::Result<()> {
        let half = cut.is_some();
        match body {
            Body::Empty => Ok(()),
            Body::Bytes(bytes) => self.write(&bytes[..if half { bytes.len() / 2 } else { bytes.len() }]),
            Body::Padding(len) => self.write_padding(*len, if half { len / 2 } else { *len }),
            Body::Events { events, gap } => match cut {
                Some(n) => self.write_events(&events[..n.min(events.len())], *gap, false, false),
                None => self.write_events(events, *gap, false, true),
            },
        }
    }

    /// Writes the first `limit` bytes of `{"padding":"aaa…"}` sized `len`, 64 KiB at a time.
    fn write_padding(&mut self, len: usize, limit: usize) -> io::Result<()> {
        const OPEN: &[u8] = b"{\"padding\":\"";
        const CLOSE: &[u8] = b"\"}";
        let block = vec![b'a'; 64 * 1024];
        let fill = len.saturating_sub(OPEN.len() + CLOSE.len());
        let mut written = 0;
        let mut emit = |out: &mut Self, bytes: &[u8]| -> io::Result<bool> {
            let take = bytes.len().min(limit - written);
            out.write(&bytes[..take])?;
            written += take;
            Ok(written < limit)
        };
        if !emit(self, OPEN)? {
            return Ok(());
        }
        let mut left = fill;
        while left > 0 {
            let n = left.min(block.len());
            if !emit(self, &block[..n])? {
                return Ok(());
            }
            left -= n;
        }
        emit(self, CLOSE).map(|_| ())
    }

    /// Writes `events` as HTTP chunks, `gap` apart (`gap_first`: also before the first one);
    /// `end` writes the terminating chunk.
    fn write_events(
        &mut self,
        events: &[String],
        gap: Duration,
        gap_first: bool,
        end: bool,
    ) -> io::Result<()> {
        for (i, event) in events.iter().enumerate() {
            if (i > 0 || gap_first) && !gap.is_zero() {
                thread::sleep(gap);
            }
            self.write(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())?;
        }
        if end {
            self.write(b"0\r\n\r\n")?;
        }
        Ok(())
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_follow_each_backend() {
        assert_eq!(Api::Kv.error_body(404, "m"), json!({"message": "m"}));
        assert_eq!(Api::Opik.error_body(409, "m"), json!({"errors": ["m"]}));
        assert_eq!(Api::Opik.error_body(404, "m"), json!({"code": 404, "message": "m"}));
        let openai = Api::OpenAi.error_body(429, "m");
        assert_eq!(openai["error"]["code"], "rate_limit_exceeded");
        assert_eq!(openai["error"]["message"], "m");
    }

    #[test]
    fn api_is_told_by_path() {
        assert_eq!(Api::of("/kv/a"), Api::Kv);
        assert_eq!(Api::of("/api/public/v2/prompts/x"), Api::Langfuse);
        assert_eq!(Api::of("/v1/private/projects/retrieve"), Api::Opik);
        assert_eq!(Api::of("/v1/chat/completions"), Api::OpenAi);
        assert_eq!(Api::of("/t/primary/v1/chat/completions"), Api::OpenAi);
        assert_eq!(Api::of("/nope"), Api::Other);
    }

    #[test]
    fn head_carries_length_or_chunking() {
        let head = Reply::json(200, &json!({"a": 1})).with_header("ETag", "\"1\"").head();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("Content-Length: 7\r\n") && head.contains("ETag: \"1\"\r\n"));
        assert!(Reply::events(vec![], Duration::ZERO).head().contains("Transfer-Encoding: chunked"));
        assert!(!Reply::empty(304).head().contains("Content-Length"));
    }
}
