//! The one error type of failsoft, mapped once per language (Python exception classes, JS
//! `Error` with a `code`, C status codes).
//!
//! # How each language spells a kind
//!
//! Every door derives its names from [`ErrorKind::ALL`] by one rule, never from a list of its own:
//!
//! | language | name | `NotFound` becomes |
//! |----------|------|--------------------|
//! | Python   | the exception class is [`ErrorKind::as_str`] | `failsoft.NotFound` |
//! | Node     | `err.code` is [`ErrorKind::code`]; the class is `as_str` + `Error` | `NotFoundError`, `'NOT_FOUND'` |
//! | C        | the status is `FAILSOFT_` + `code`, numbered 1.. in `ALL`'s order | `FAILSOFT_NOT_FOUND` = 1 |
//! | JSON     | `"kind"` is `as_str` (status, value and prefetch reports) | `"NotFound"` |
//!
//! The [`Error`] JSON (serde) is `{"kind", "key", "message", "status"}`.

use std::fmt;
use std::time::Duration;

/// What went wrong, the same six kinds in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The key does not exist at the source (HTTP 404, missing prompt, label, env or version).
    NotFound,
    /// The source refused the credentials (HTTP 401/403).
    Unauthorized,
    /// The deadline passed before an answer arrived.
    Timeout,
    /// Connection refused or reset, DNS failure, HTTP 429 or 5xx.
    Unavailable,
    /// The answer could not be parsed, had the wrong shape, or was over the size cap.
    InvalidResponse,
    /// The caller passed something that cannot work (bad option, bad key, strict template miss).
    InvalidArgument,
}

impl ErrorKind {
    /// Every kind, in the order of the C status codes (`FAILSOFT_NOT_FOUND` = 1, ...).
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::NotFound,
        ErrorKind::Unauthorized,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::InvalidResponse,
        ErrorKind::InvalidArgument,
    ];

    /// The stable name used in status JSON and by every binding (`NotFound`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::InvalidResponse => "InvalidResponse",
            ErrorKind::InvalidArgument => "InvalidArgument",
        }
    }

    /// The SCREAMING_CASE code used by Node (`NOT_FOUND`, ...).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::InvalidResponse => "INVALID_RESPONSE",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::serial::serialize_as_str!(ErrorKind);

/// An error with its kind, the key it concerns and a message. Never carries a secret: messages
/// are built from status codes, URLs without credentials, and parser errors. Serialized as
/// `{"kind", "key", "message", "status"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Error {
    pub kind: ErrorKind,
    /// The key the error concerns, in its display form (empty when not about a key).
    pub key: String,
    pub message: String,
    /// The HTTP status behind the error, when there was one.
    pub status: Option<u16>,
    /// A `Retry-After` the server asked for, when there was one (a retry hint, not reported).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        // Every message, whoever built it, is held to the logs' rule: no credential in it.
        let message = crate::logging::redact_owned(message.into());
        Error { kind, key: String::new(), message, status: None, retry_after: None }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidResponse, message)
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// The same error, about `key`.
    pub fn with_key(mut self, key: impl fmt::Display) -> Self {
        self.key = key.to_string();
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The kind an HTTP error status maps to (SPEC §2).
    pub fn kind_for_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Unauthorized,
            404 | 410 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            429 | 500..=599 => ErrorKind::Unavailable,
            400 | 405 | 409 | 413 | 422 => ErrorKind::InvalidArgument,
            _ => ErrorKind::InvalidResponse,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.kind, self.message)
        } else {
            write!(f, "{} ({}): {}", self.kind, self.key, self.message)
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
