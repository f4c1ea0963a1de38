//! Error classes (SPEC §8): every failed answer of a chat target, classified once from its HTTP
//! status and its OpenAI-style error body (`error.code`, `error.type`, message), so the fallover
//! policy, the attempt list and every language speak of the same ten classes.

use crate::error::{Error, ErrorKind};
use std::fmt;
use std::str::FromStr;

/// Why an attempt failed, as the fallover policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The prompt is too long for this model (`context_length_exceeded`): a larger-context model
    /// may take it, the same one never will.
    ContextLength,
    /// The provider refused the content (`content_policy_violation`, `content_filter`).
    ContentPolicy,
    /// The account is out of credit (429 `insufficient_quota`): waiting does not help.
    Quota,
    /// 429 (not quota): the provider asks to slow down.
    RateLimit,
    /// 5xx, 409, or a 2xx answer that is not a completion (or a stream that broke mid-way).
    Server,
    /// No answer in time (no first chunk, a stalled stream, 408).
    Timeout,
    /// Refused, reset, DNS, or a connection closed before the answer was whole.
    Connection,
    /// 401 / 403: the key is wrong or lacks access.
    Auth,
    /// 404: no such model or route on this endpoint.
    NotFound,
    /// Any other 4xx: the request itself is wrong.
    BadRequest,
}

impl ErrorClass {
    /// Every class, in the order the docs list them.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::ContextLength,
        ErrorClass::ContentPolicy,
        ErrorClass::Quota,
        ErrorClass::RateLimit,
        ErrorClass::Server,
        ErrorClass::Timeout,
        ErrorClass::Connection,
        ErrorClass::Auth,
        ErrorClass::NotFound,
        ErrorClass::BadRequest,
    ];

    /// The name every language uses (`context_length`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::ContextLength => "context_length",
            ErrorClass::ContentPolicy => "content_policy",
            ErrorClass::Quota => "quota",
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::Server => "server",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connection => "connection",
            ErrorClass::Auth => "auth",
            ErrorClass::NotFound => "not_found",
            ErrorClass::BadRequest => "bad_request",
        }
    }

    /// Whether trying the same target again may help (after a backoff).
    pub(crate) fn retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimit | ErrorClass::Server | ErrorClass::Timeout | ErrorClass::Connection
        )
    }

    /// The classes that fall over by default: everything but a refusal of the content and a
    /// request the next target would refuse too.
    pub fn default_fallover() -> Vec<ErrorClass> {
        ErrorClass::ALL
            .into_iter()
            .filter(|c| !matches!(c, ErrorClass::ContentPolicy | ErrorClass::BadRequest))
            .collect()
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ErrorClass::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
            format!("unknown error class {s:?} (one of {})", names.join(", "))
        })
    }
}

/// The class of an HTTP error answer, from its status and (OpenAI-style) JSON body.
pub(crate) fn classify_answer(status: u16, body: &[u8]) -> ErrorClass {
    let (code, kind, message) = error_fields(body);
    let said = |needles: &[&str]| needles.iter().any(|n| code.contains(n) || kind.contains(n));
    // The body is more precise than the status: providers send context-length and policy
    // errors as 400 (OpenAI), 413 or 422 (some gateways), or even 500 (a few proxies).
    if said(&["context_length", "context_window", "string_above_max_length"])
        || message.contains("maximum context length")
        || message.contains("context length")
        || message.contains("context window")
        || message.contains("too many tokens")
    {
        return ErrorClass::ContextLength;
    }
    if said(&["content_policy", "content_filter", "safety", "moderation"]) {
        return ErrorClass::ContentPolicy;
    }
    if said(&["insufficient_quota", "billing"]) {
        return ErrorClass::Quota;
    }
    match status {
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        408 => ErrorClass::Timeout,
        429 => ErrorClass::RateLimit,
        409 | 500..=599 => ErrorClass::Server,
        _ => ErrorClass::BadRequest,
    }
}

/// The class of a failure that had no HTTP error answer (connection, timeout, invalid body).
pub(crate) fn classify_error(e: &Error) -> ErrorClass {
    match e.kind {
        ErrorKind::Timeout => ErrorClass::Timeout,
        ErrorKind::InvalidResponse => ErrorClass::Server,
        ErrorKind::Unauthorized => ErrorClass::Auth,
        ErrorKind::NotFound => ErrorClass::NotFound,
        _ if e.status.is_some_and(|s| s >= 400) => classify_answer(e.status.unwrap_or(500), b""),
        _ => ErrorClass::Connection,
    }
}

/// `error.code`, `error.type` and the message of an error body, lower-cased (empty when absent).
fn error_fields(body: &[u8]) -> (String, String, String) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Default::default();
    };
    let err = v.get("error").unwrap_or(&v);
    let text = |k: &str| match err.get(k) {
        Some(serde_json::Value::String(s)) => s.to_ascii_lowercase(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string().to_ascii_lowercase(),
    };
    let message =
        if err.is_string() { err.as_str().unwrap_or_default().to_ascii_lowercase() } else { text("message") };
    (text("code"), text("type"), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, kind: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"error": {"code": code, "type": kind, "message": message}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn openai_bodies_are_classified_by_code_then_status() {
        let c = |s, b: &[u8]| classify_answer(s, b);
        assert_eq!(
            c(400, &body("context_length_exceeded", "invalid_request_error", "x")),
            ErrorClass::ContextLength
        );
        assert_eq!(
            c(400, &body("", "invalid_request_error", "This model's maximum context length is 8192 tokens")),
            ErrorClass::ContextLength
        );
        assert_eq!(
            c(400, &body("content_policy_violation", "invalid_request_error", "x")),
            ErrorClass::ContentPolicy
        );
        assert_eq!(c(400, &body("content_filter", "", "x")), ErrorClass::ContentPolicy);
        assert_eq!(c(429, &body("insufficient_quota", "insufficient_quota", "x")), ErrorClass::Quota);
        assert_eq!(c(429, &body("rate_limit_exceeded", "requests", "x")), ErrorClass::RateLimit);
        assert_eq!(c(503, b"<html>"), ErrorClass::Server);
        assert_eq!(c(409, b""), ErrorClass::Server);
        assert_eq!(c(401, b""), ErrorClass::Auth);
        assert_eq!(c(403, b""), ErrorClass::Auth);
        assert_eq!(c(404, b""), ErrorClass::NotFound);
        assert_eq!(c(408, b""), ErrorClass::Timeout);
        assert_eq!(c(400, &body("", "invalid_request_error", "bad messages")), ErrorClass::BadRequest);
        assert_eq!(c(422, b""), ErrorClass::BadRequest);
    }

    #[test]
    fn failures_without_an_answer_are_classified_by_kind() {
        assert_eq!(classify_error(&Error::timeout("t")), ErrorClass::Timeout);
        assert_eq!(classify_error(&Error::unavailable("refused")), ErrorClass::Connection);
        assert_eq!(classify_error(&Error::invalid_response("junk")), ErrorClass::Server);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for c in ErrorClass::ALL {
            assert_eq!(c.as_str().parse::<ErrorClass>().unwrap(), c);
        }
        let e = "nope".parse::<ErrorClass>().unwrap_err();
        assert!(e.contains("context_length"), "{e}");
        assert!(!ErrorClass::default_fallover().contains(&ErrorClass::ContentPolicy));
        assert!(ErrorClass::default_fallover().contains(&ErrorClass::ContextLength));
    }
}
