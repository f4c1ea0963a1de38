//! Status codes, the thread-local last error and the one landing pad every export goes through
//! (the getsentry/symbolic convention): a Rust error becomes a status code plus a message the
//! caller may read on the same thread, and a panic never crosses into the host.

use failsoft::{Error, ErrorKind};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The outcome of a call. Every fallible function returns one; `FAILSOFT_OK` is 0, so
/// `if (failsoft_get(...) != FAILSOFT_OK)` and `if (failsoft_get(...))` both test for failure.
///
/// The codes after `FAILSOFT_OK` are the core's six error kinds, the same in every language
/// (Python exception classes, Node `code` strings), plus `FAILSOFT_PANIC` for a bug inside
/// failsoft that was caught before it reached the host. New codes may be added at the end
/// without bumping `FAILSOFT_ABI_VERSION`: treat an unknown code as a failure.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// Success.
    FAILSOFT_OK = 0,
    /// The key does not exist at the source (HTTP 404, missing prompt, label, env or version).
    FAILSOFT_NOT_FOUND = 1,
    /// The source refused the credentials (HTTP 401/403).
    FAILSOFT_UNAUTHORIZED = 2,
    /// The deadline passed before an answer arrived.
    FAILSOFT_TIMEOUT = 3,
    /// Connection refused or reset, DNS failure, HTTP 429 or 5xx.
    FAILSOFT_UNAVAILABLE = 4,
    /// The answer could not be parsed, had the wrong shape, or was over the size cap.
    FAILSOFT_INVALID_RESPONSE = 5,
    /// The caller passed something that cannot work: a NULL or non-UTF-8 argument, invalid JSON,
    /// a bad option or key, a strict template with missing variables.
    FAILSOFT_INVALID_ARGUMENT = 6,
    /// failsoft panicked (a bug); the panic was caught at the ABI boundary. The handles involved
    /// stay valid and may be freed.
    FAILSOFT_PANIC = 7,
}

impl From<ErrorKind> for Status {
    /// The one mapping from the core's error kinds to C status codes.
    fn from(kind: ErrorKind) -> Status {
        match kind {
            ErrorKind::NotFound => Status::FAILSOFT_NOT_FOUND,
            ErrorKind::Unauthorized => Status::FAILSOFT_UNAUTHORIZED,
            ErrorKind::Timeout => Status::FAILSOFT_TIMEOUT,
            ErrorKind::Unavailable => Status::FAILSOFT_UNAVAILABLE,
            ErrorKind::InvalidResponse => Status::FAILSOFT_INVALID_RESPONSE,
            ErrorKind::InvalidArgument => Status::FAILSOFT_INVALID_ARGUMENT,
        }
    }
}

impl Status {
    /// The stable name of the code: `"OK"`, `"NOT_FOUND"`, ..., `"PANIC"` (Node's `code` strings).
    fn name(self) -> &'static std::ffi::CStr {
        match self {
            Status::FAILSOFT_OK => c"OK",
            Status::FAILSOFT_NOT_FOUND => c"NOT_FOUND",
            Status::FAILSOFT_UNAUTHORIZED => c"UNAUTHORIZED",
            Status::FAILSOFT_TIMEOUT => c"TIMEOUT",
            Status::FAILSOFT_UNAVAILABLE => c"UNAVAILABLE",
            Status::FAILSOFT_INVALID_RESPONSE => c"INVALID_RESPONSE",
            Status::FAILSOFT_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            Status::FAILSOFT_PANIC => c"PANIC",
        }
    }
}

struct LastError {
    status: Status,
    message: CString,
    /// The attempts of the failed LLM call behind this error, as JSON text (see
    /// `failsoft_llm_last_attempts_json`); `None` for any other failure.
    attempts: Option<CString>,
}

/// A failure on its way to the last error: the error, plus the attempts JSON when it is an LLM
/// call's.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) attempts: Option<serde_json::Value>,
}

impl From<Error> for Failure {
    #[inline]
    fn from(error: Error) -> Failure {
        Failure { error, attempts: None }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// A C string of `text`; interior NUL bytes (never in failsoft's own messages, possible in
/// echoed input) become U+FFFD so the message is never lost.
pub(crate) fn lossy_cstring(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\u{fffd}");
        CString::new(text).unwrap_or_default()
    })
}

fn set_last_error(status: Status, message: String) -> Status {
    set_last_error_with(status, message, None)
}

fn set_last_error_with(status: Status, message: String, attempts: Option<CString>) -> Status {
    let message = lossy_cstring(message);
    // `try_with`: during thread teardown the slot may be gone; the status still says enough.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(LastError { status, message, attempts }));
    status
}

#[inline]
fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            if slot.is_some() {
                *slot = None;
            }
        }
    });
}

/// Records `e` as this thread's last error and returns its status.
pub(crate) fn fail(e: &Error) -> Status {
    set_last_error(Status::from(e.kind), e.to_string())
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    };
    // Dropping a payload can itself panic; never let that escape.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    format!("failsoft panicked (a bug; please report it): {what}")
}

/// Runs the body of a status-returning export: `Ok` clears the last error, `Err` records it, a
/// panic becomes `FAILSOFT_PANIC`.
#[inline]
pub(crate) fn landing_pad(body: impl FnOnce() -> Result<(), Error>) -> Status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            Status::FAILSOFT_OK
        }
        Ok(Err(e)) => fail(&e),
        Err(payload) => set_last_error(Status::FAILSOFT_PANIC, panic_message(payload)),
    }
}

/// [`landing_pad`] for the LLM calls, whose failures also record their attempts.
pub(crate) fn landing_pad_llm(body: impl FnOnce() -> Result<(), Failure>) -> Status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            Status::FAILSOFT_OK
        }
        Ok(Err(Failure { error, attempts })) => set_last_error_with(
            Status::from(error.kind),
            error.to_string(),
            attempts.map(|a| lossy_cstring(a.to_string())),
        ),
        Err(payload) => set_last_error(Status::FAILSOFT_PANIC, panic_message(payload)),
    }
}

/// Runs the body of an export that returns a plain value (an accessor): `Err` or a panic records
/// the last error and returns `otherwise`; success leaves the last error as it was.
#[inline]
pub(crate) fn landing_pad_or<T>(otherwise: T, body: impl FnOnce() -> Result<T, Error>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            fail(&e);
            otherwise
        }
        Err(payload) => {
            set_last_error(Status::FAILSOFT_PANIC, panic_message(payload));
            otherwise
        }
    }
}

/// The message of the last failed call on this thread, or NULL when there is none.
///
/// Set by every function that returned a status other than `FAILSOFT_OK` (and by an accessor
/// given an invalid argument); cleared by every function that returned `FAILSOFT_OK`. The message
/// says what failed and, when it concerns a key, names it: `NotFound (movie-critic): HTTP 404`.
/// It never contains a secret.
///
/// Ownership: borrowed. Valid until the next failsoft call on this thread; copy it to keep it.
/// Do not free it. Thread-safety: each thread has its own last error.
#[no_mangle]
pub extern "C" fn failsoft_last_error_message() -> *const c_char {
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| match &*slot.borrow() {
                Some(e) => e.message.as_ptr(),
                None => std::ptr::null(),
            })
            .unwrap_or(std::ptr::null())
    })
    .unwrap_or(std::ptr::null())
}

/// The status of the last failed call on this thread, `FAILSOFT_OK` when there is none (see
/// `failsoft_last_error_message` for when it is set and cleared).
///
/// Ownership: nothing to free. Thread-safety: each thread has its own last error.
#[no_mangle]
pub extern "C" fn failsoft_last_error_code() -> Status {
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ref().map_or(Status::FAILSOFT_OK, |e| e.status))
            .unwrap_or(Status::FAILSOFT_OK)
    })
    .unwrap_or(Status::FAILSOFT_PANIC)
}

/// The attempts JSON recorded with this thread's last error (`failsoft_llm_last_attempts_json`),
/// borrowed like the message; NULL when there is none.
pub(crate) fn last_error_attempts() -> *const c_char {
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| match &*slot.borrow() {
                Some(LastError { attempts: Some(a), .. }) => a.as_ptr(),
                _ => std::ptr::null(),
            })
            .unwrap_or(std::ptr::null())
    })
    .unwrap_or(std::ptr::null())
}

/// Forgets this thread's last error (a borrowed message from `failsoft_last_error_message`
/// becomes invalid).
///
/// Ownership: nothing to free. Thread-safety: affects only the calling thread.
#[no_mangle]
pub extern "C" fn failsoft_last_error_clear() {
    let _ = catch_unwind(clear_last_error);
}

/// The name of a status code without the prefix: `"OK"`, `"NOT_FOUND"`, `"UNAUTHORIZED"`,
/// `"TIMEOUT"`, `"UNAVAILABLE"`, `"INVALID_RESPONSE"`, `"INVALID_ARGUMENT"`, `"PANIC"` (the same
/// strings as the Node binding's error codes), or `"UNKNOWN"` for a value that is not a code.
///
/// Ownership: a static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn failsoft_status_name(status: i32) -> *const c_char {
    let known = [
        Status::FAILSOFT_OK,
        Status::FAILSOFT_NOT_FOUND,
        Status::FAILSOFT_UNAUTHORIZED,
        Status::FAILSOFT_TIMEOUT,
        Status::FAILSOFT_UNAVAILABLE,
        Status::FAILSOFT_INVALID_RESPONSE,
        Status::FAILSOFT_INVALID_ARGUMENT,
        Status::FAILSOFT_PANIC,
    ];
    known.iter().find(|s| **s as i32 == status).map_or(c"UNKNOWN".as_ptr(), |s| s.name().as_ptr())
}
