//! `failsoft_value`: what a read returns, and its accessors.

use crate::args::{handle, out_arg, owned_json};
use crate::error::{landing_pad, landing_pad_or, lossy_cstring, Status};
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

/// The version accessor's and `on_change`'s "no version" sentinel (`INT64_MIN`).
pub const NO_VERSION: i64 = -9_223_372_036_854_775_807 - 1;

/// The result of a read: the data (as JSON text) plus where it came from, its version, its age
/// and the error behind it when the value is not fresh from the backend.
///
/// Opaque; created by `failsoft_get` (and the other reads), freed with `failsoft_value_free`.
/// A value is immutable: any number of threads may read it at once. It stays valid after its
/// client is freed.
pub struct Value {
    value: failsoft::Value,
    error_message: OnceLock<CString>,
}

impl Value {
    pub(crate) fn new(value: failsoft::Value) -> Value {
        Value { value, error_message: OnceLock::new() }
    }

    pub(crate) fn inner(&self) -> &failsoft::Value {
        &self.value
    }

    /// Hands the value to the caller.
    pub(crate) fn into_raw(value: failsoft::Value) -> *mut Value {
        Box::into_raw(Box::new(Value::new(value)))
    }
}

/// Frees a value. NULL is ignored.
///
/// Ownership: takes the value; the borrowed strings it handed out (`failsoft_value_json`,
/// `failsoft_value_error_message`) become invalid. Thread-safety: no other thread may use the
/// value during or after this call.
///
/// # Safety
/// `value` is NULL or a value from this library not freed yet.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_free(value: *mut Value) {
    if !value.is_null() {
        // SAFETY: the pointer came from `Value::into_raw` per the caller's contract.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(value) })));
    }
}

/// The value's data as compact JSON text: `{"text":"hello"}`, `"fb"`, `[1,2]`, `null`.
///
/// Ownership: borrowed from the value, valid until `failsoft_value_free(value)`; do not free it.
/// Made once per fetched payload and shared by every handle of it, so later calls are free.
/// NULL when `value` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_json(value: *const Value) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let v = unsafe { handle(value, "value") }?;
        Ok(v.value.payload.json_text().as_ptr())
    })
}

/// The value with its metadata as one JSON object, the shape the CLI prints:
/// `{"value": ..., "source": "fresh", "is_fallback": false, "version": 3, "age": 1.25,
/// "error": null | {"kind": "Unavailable", "key": "...", "message": "...", "status": 503}}`.
///
/// Ownership: `*out_json` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_to_json(value: *const Value, out_json: *mut *mut c_char) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_json, "out_json", std::ptr::null_mut()) }?;
        let v = unsafe { handle(value, "value") }?;
        *out = owned_json(&v.value);
        Ok(())
    })
}

/// Whether the value is the caller's fallback (nothing cached, no snapshot, the fetch failed).
///
/// false when `value` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_is_fallback(value: *const Value) -> bool {
    // SAFETY: forwarded contract.
    landing_pad_or(false, || Ok(unsafe { handle(value, "value") }?.value.is_fallback()))
}

/// Where the value came from: `"fresh"`, `"stale"`, `"snapshot"` or `"fallback"`.
///
/// Ownership: a static string; never free it. NULL when `value` is NULL (the last error is then
/// `FAILSOFT_INVALID_ARGUMENT`). Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_source(value: *const Value) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let v = unsafe { handle(value, "value") }?;
        Ok(v.value.source.as_c_str().as_ptr())
    })
}

/// The source's version of the value. Returns true and stores it in `*out_version` when the
/// value has one; returns false and stores `FAILSOFT_NO_VERSION` when it has none (a fallback, a
/// source without versions). `out_version` may be NULL to only ask whether there is one.
///
/// false when `value` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value; `out_version` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_version(value: *const Value, out_version: *mut i64) -> bool {
    landing_pad_or(false, || {
        // SAFETY: forwarded contract.
        let version = unsafe { handle(value, "value") }?.value.version();
        if !out_version.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out_version.write(version.unwrap_or(NO_VERSION)) };
        }
        Ok(version.is_some())
    })
}

/// Seconds since the data was fetched from the source, as of this call (a snapshot's age counts
/// from its original fetch); negative (-1) for a fallback, which has no age.
///
/// -1 when `value` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_age_seconds(value: *const Value) -> f64 {
    // SAFETY: forwarded contract.
    landing_pad_or(-1.0, || Ok(unsafe { handle(value, "value") }?.value.age_seconds().unwrap_or(-1.0)))
}

/// The kind of the error behind a value that is not fresh from the backend (a stale, snapshot or
/// fallback value served because a fetch failed), as a status code; `FAILSOFT_OK` when the value
/// carries no error.
///
/// `FAILSOFT_INVALID_ARGUMENT` when `value` is NULL. Ownership: nothing to free (the message is
/// `failsoft_value_error_message`). Thread-safety: any thread.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_error_code(value: *const Value) -> Status {
    landing_pad_or(Status::FAILSOFT_INVALID_ARGUMENT, || {
        // SAFETY: forwarded contract.
        let v = unsafe { handle(value, "value") }?;
        Ok(v.value.error.as_ref().map_or(Status::FAILSOFT_OK, |e| Status::from(e.kind)))
    })
}

/// The message of the error behind the value (see `failsoft_value_error_code`), naming the key:
/// `Unavailable (greeting): HTTP 503 ...`; NULL when the value carries no error.
///
/// Ownership: borrowed from the value, valid until `failsoft_value_free(value)`; do not free it.
/// NULL when `value` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn failsoft_value_error_message(value: *const Value) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let v = unsafe { handle(value, "value") }?;
        Ok(match &v.value.error {
            Some(e) => v.error_message.get_or_init(|| lossy_cstring(e.to_string())).as_ptr(),
            None => std::ptr::null(),
        })
    })
}
