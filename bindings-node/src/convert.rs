//! Core types as JavaScript values: errors (mapped once, by `ErrorKind::code()`), read codes.

use failsoft::{Error, ValueSource};
use napi_derive::napi;
use std::sync::{Mutex, MutexGuard};

type Result<T> = std::result::Result<T, napi::Error<String>>;

/// A core error as plain data; the JS side turns it into the matching `FailsoftError` subclass.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// `NOT_FOUND`, `UNAUTHORIZED`, `TIMEOUT`, `UNAVAILABLE`, `INVALID_RESPONSE`,
    /// `INVALID_ARGUMENT`.
    pub code: String,
    /// The key the error concerns (empty when none).
    pub key: String,
    pub message: String,
    /// The HTTP status behind the error, when there was one.
    pub status: Option<u32>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            code: e.kind.code().to_string(),
            key: e.key.clone(),
            message: e.message.clone(),
            status: e.status.map(u32::from),
        }
    }
}

/// A core error as a thrown JS error whose `code` is the kind's code and whose message is the
/// core's message; the JS side rethrows it as the matching `FailsoftError` subclass, with the
/// key it asked about.
pub(crate) fn js_error(e: &Error) -> napi::Error<String> {
    napi::Error::new(e.kind.code().to_string(), e.message.clone())
}

/// A napi error with its status as the code, as every exported function throws them.
pub(crate) fn str_err(e: napi::Error) -> napi::Error<String> {
    napi::Error::new(e.status.as_ref().to_string(), e.reason.clone())
}

/// A lock that a panicked holder did not poison (the data is plain state, still consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a read's answer came from, in the low bits of a read code (see `ts/native.ts`): a
/// `ValueSource as u32`, fresh 0, stale 1, snapshot 2, fallback 3 (`SOURCES` in `ts/client.ts`).
pub(crate) const SNAPSHOT: u32 = ValueSource::Snapshot as u32;
pub(crate) const FALLBACK: u32 = ValueSource::Fallback as u32;
const _: () = assert!(ValueSource::Fresh as u32 == 0 && ValueSource::Stale as u32 == 1 && FALLBACK == 3);
/// The read failed: the error is in the slot (`slotRead`).
pub(crate) const FAILED: u32 = 4;
/// The key is not warm: call `readWait`.
pub(crate) const COLD: u32 = 5;
/// The read's generation starts at this bit.
pub(crate) const GEN_SHIFT: u32 = 3;
pub(crate) const GEN_MASK: u32 = (1 << 28) - 1;

/// Seconds as an optional duration: NaN means "not given"; anything else is validated by the core.
pub(crate) fn opt_seconds(name: &str, v: f64) -> Result<Option<std::time::Duration>> {
    if v.is_nan() {
        return Ok(None);
    }
    failsoft::spec::seconds(name, v).map(Some).map_err(|e| js_error(&e))
}
