//! Blocking HTTP for every source and the LLM client: ureq with DNS, connect and whole-request
//! timeouts bounded by the caller's deadline, a body size cap, and errors mapped to failsoft's
//! kinds. Nothing here logs a header, so credentials never reach a log.

use crate::error::{Error, ErrorKind, Result};
use std::io::Read;
use std::time::{Duration, Instant};

/// Default cap on a response body (SPEC §3).
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// An HTTP answer with its body read (and capped).
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub etag: Option<String>,
    pub retry_after: Option<Duration>,
    /// A `version` header (the `http` source's optional version).
    pub version_header: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON, or `InvalidResponse` naming the parse error.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::invalid_response(format!("body is not valid JSON ({e})")))
    }

    /// The server's error message from a JSON error body (`{"message"}` or `{"error":{"message"}}`),
    /// truncated, for error texts.
    pub fn error_message(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let m = v
            .get("message")
            .or_else(|| v.get("error").and_then(|e| e.get("message")))
            .or_else(|| v.get("error"))?;
        let s = m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string());
        Some(s.chars().take(300).collect())
    }

    /// An error for a non-2xx status, with the kind from SPEC §2.
    pub fn status_error(&self, what: &str) -> Error {
        let detail = self.error_message().map(|m| format!(": {m}")).unwrap_or_default();
        let mut e = Error::new(
            Error::kind_for_status(self.status),
            format!("{what} answered HTTP {}{detail}", self.status),
        )
        .with_status(self.status);
        e.retry_after = self.retry_after;
        e
    }
}

/// A shared ureq agent. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    /// Cap on one request, applied even when the caller's deadline is further away.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_bytes: u64,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("request_timeout", &self.request_timeout).finish()
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::new(Duration::from_secs(10), Duration::from_secs(3), DEFAULT_MAX_BYTES)
    }
}

impl Http {
    pub fn new(request_timeout: Duration, connect_timeout: Duration, max_bytes: u64) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("failsoft/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(8)
            .build()
            .into();
        Http { agent, request_timeout, connect_timeout, max_bytes }
    }

    /// The time left before `deadline`, capped by the per-request timeout; `Timeout` when none.
    fn budget(&self, deadline: Instant, url_for_error: &str) -> Result<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::timeout(format!("deadline passed before requesting {url_for_error}")));
        }
        Ok(left.min(self.request_timeout))
    }

    /// `GET url` with `headers`, the whole request (DNS, connect, body) bounded by `deadline`.
    pub fn get(&self, url: &str, headers: &[(&str, &str)], deadline: Instant) -> Result<HttpResponse> {
        self.request("GET", url, headers, None, deadline)
    }

    /// A request with an optional JSON body.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<HttpResponse> {
        let shown = redact_url(url);
        let budget = self.budget(deadline, &shown)?;
        let mut resp = self
            .send(method, url, headers, body, self.whole(budget))
            .map_err(|e| map_ureq_error(e, &shown, budget))?;
        let status = resp.status().as_u16();
        let h = resp.headers();
        let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let etag = header("etag");
        let version_header = header("x-version").or_else(|| header("version"));
        let content_type = header("content-type");
        let retry_after =
            parse_retry_after(header("retry-after-ms").as_deref(), header("retry-after").as_deref());
        let mut body = Vec::new();
        let limit = self.max_bytes;
        let mut reader = resp.body_mut().as_reader().take(limit + 1);
        reader.read_to_end(&mut body).map_err(|e| map_io_error(e, &shown))?;
        if body.len() as u64 > limit {
            return Err(Error::invalid_response(format!("body from {shown} is over the {limit}-byte cap"))
                .with_status(status));
        }
        Ok(HttpResponse { status, etag, retry_after, version_header, content_type, body })
    }

    /// One bound on the whole exchange; DNS and connect bounded by `connect_timeout` within it.
    fn whole(&self, timeout: Duration) -> StreamTimeouts {
        let connect = self.connect_timeout.min(timeout);
        StreamTimeouts { global: Some(timeout), connect: Some(connect), response: None, per_read: None }
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        timeouts: StreamTimeouts,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        macro_rules! finish {
            ($req:expr) => {{
                let mut req = $req;
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.config()
                    .timeout_global(timeouts.global)
                    .timeout_resolve(timeouts.connect)
                    .timeout_connect(timeouts.connect)
                    .timeout_recv_response(timeouts.response)
                    .timeout_per_read(timeouts.per_read)
                    .build()
            }};
        }
        match (method, body) {
            ("GET", _) => finish!(self.agent.get(url)).call(),
            ("DELETE", _) => finish!(self.agent.delete(url)).call(),
            ("POST", b) => finish!(self.agent.post(url)).send(b.unwrap_or_default()),
            ("PATCH", b) => finish!(self.agent.patch(url)).send(b.unwrap_or_default()),
            ("PUT", b) => finish!(self.agent.put(url)).send(b.unwrap_or_default()),
            (m, _) => Err(ureq::Error::BadUri(format!("unsupported method {m}"))),
        }
    }
}

/// Timeouts for [`Http::send_streaming_with`]: a long-lived response (server-sent events) needs an
/// idle bound per read rather than one bound on the whole exchange. `None` leaves a phase unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamTimeouts {
    /// The whole exchange, body included.
    pub global: Option<Duration>,
    /// DNS, connect and TLS.
    pub connect: Option<Duration>,
    /// Until the response headers arrived.
    pub response: Option<Duration>,
    /// Each read from the connection; restarted by every read (the idle timeout).
    pub per_read: Option<Duration>,
}

impl Http {
    /// Sends a request and returns the response with its body unread (streaming), with separate
    /// phase and per-read timeouts.
    pub fn send_streaming_with(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        timeouts: StreamTimeouts,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let shown = redact_url(url);
        let sent = self.send(method, url, headers, body, timeouts);
        let shown_budget = timeouts.response.or(timeouts.global).or(timeouts.per_read).unwrap_or_default();
        sent.map_err(|e| map_ureq_error(e, &shown, shown_budget))
    }
}

/// `Retry-After` in seconds (or an HTTP date, ignored), or `retry-after-ms`.
pub fn parse_retry_after(ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    if let Some(ms) = ms.and_then(|s| s.trim().parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let s = secs?.trim().parse::<f64>().ok()?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s))
}

/// The URL without userinfo or query string, safe to show in errors.
pub fn redact_url(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    match no_query.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => {
                let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
                format!("{scheme}://{host}/{path}")
            }
            None => {
                let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
                format!("{scheme}://{host}")
            }
        },
        None => no_query.to_string(),
    }
}

fn map_io_error(e: std::io::Error, shown: &str) -> Error {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => Error::timeout(format!("timed out reading the body from {shown}")),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            Error::invalid_response(format!("body from {shown} was cut off ({e})"))
        }
        _ => match e.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(_)) => {
                Error::timeout(format!("timed out reading the body from {shown}"))
            }
            _ => Error::invalid_response(format!("could not read the body from {shown} ({e})")),
        },
    }
}

/// Maps a transport error to a kind: refused/DNS/reset → `Unavailable`, timeouts → `Timeout`.
pub fn map_ureq_error(e: ureq::Error, shown: &str, budget: Duration) -> Error {
    use ureq::Error as U;
    match e {
        U::Timeout(t) => {
            Error::timeout(format!("{shown}: no answer within {:.3}s ({t})", budget.as_secs_f64()))
        }
        U::HostNotFound => Error::unavailable(format!("{shown}: host not found")),
        U::ConnectionFailed => Error::unavailable(format!("{shown}: connection failed")),
        U::Io(io) => {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::TimedOut | K::WouldBlock => Error::timeout(format!("{shown}: timed out ({io})")),
                K::ConnectionRefused => Error::unavailable(format!("{shown}: connection refused")),
                _ => Error::unavailable(format!("{shown}: {io}")),
            }
        }
        U::BodyExceedsLimit(n) => Error::invalid_response(format!("{shown}: body over the cap ({n} bytes)")),
        U::BadUri(m) => Error::invalid_argument(format!("bad URL {shown}: {m}")),
        U::Protocol(p) => Error::unavailable(format!("{shown}: protocol error ({p})")),
        other => Error::new(ErrorKind::Unavailable, format!("{shown}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_drops_credentials_and_query() {
        assert_eq!(redact_url("https://u:p@h.example/a/b?key=secret"), "https://h.example/a/b");
        assert_eq!(redact_url("http://127.0.0.1:80"), "http://127.0.0.1:80");
    }

    #[test]
    fn retry_after_prefers_milliseconds() {
        assert_eq!(parse_retry_after(Some("250"), Some("3")), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after(None, Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }
}
