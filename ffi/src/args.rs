//! Converting C arguments to Rust and results back: NULL and invalid UTF-8 become
//! `InvalidArgument` errors naming the parameter, never a crash; strings handed out are
//! allocated here and freed only by `failsoft_string_free`.

use failsoft::Error;
use std::ffi::{c_char, CStr, CString};

/// A required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| Error::invalid_argument(format!("{name} is not valid UTF-8: {e}")))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr, name) }.map(Some)
    }
}

/// A JSON argument parsed into a value.
pub(crate) fn parse_json(text: &str, name: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::invalid_argument(format!("{name} is not valid JSON: {e}")))
}

/// A JSON argument that must be an object.
pub(crate) fn parse_json_object(
    text: &str,
    name: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match parse_json(text, name)? {
        serde_json::Value::Object(m) => Ok(m),
        other => {
            Err(Error::invalid_argument(format!("{name} must be a JSON object, got {}", json_type(&other))))
        }
    }
}

/// A JSON argument that must be an array.
pub(crate) fn parse_json_array(text: &str, name: &str) -> Result<Vec<serde_json::Value>, Error> {
    match parse_json(text, name)? {
        serde_json::Value::Array(v) => Ok(v),
        other => {
            Err(Error::invalid_argument(format!("{name} must be a JSON array, got {}", json_type(&other))))
        }
    }
}

/// Checks that `text` is one JSON document without building it (cheap enough for the warm path:
/// a fallback is only parsed into a value when it is served).
pub(crate) fn check_json(text: &str, name: &str) -> Result<(), Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(drop)
        .map_err(|e| Error::invalid_argument(format!("{name} is not valid JSON: {e}")))
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A handle argument that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` handed out by this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: a non-NULL handle is live per the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
}

/// An out-parameter that must not be NULL; it is set to `empty` at once so that it never holds
/// garbage when the call fails.
///
/// # Safety
/// `ptr` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out_arg<'a, T>(ptr: *mut T, name: &str, empty: T) -> Result<&'a mut T, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and writable per the caller's contract; `write` does not read the old value.
    unsafe {
        ptr.write(empty);
        Ok(&mut *ptr)
    }
}

/// A string handed to the caller, to be freed with `failsoft_string_free`.
pub(crate) fn owned_string(text: String, what: &str) -> Result<*mut c_char, Error> {
    CString::new(text).map(CString::into_raw).map_err(|_| {
        Error::invalid_argument(format!("{what} contains a NUL byte, which a C string cannot carry"))
    })
}

/// A core type's serde JSON text handed to the caller (serde_json escapes NUL, so this cannot fail).
pub(crate) fn owned_json(value: &impl serde::Serialize) -> *mut c_char {
    crate::error::lossy_cstring(serde_json::to_string(value).unwrap_or_default()).into_raw()
}

/// Frees a string this library handed out (`char **out` parameters). NULL is ignored.
///
/// Ownership: takes back the string; it must come from failsoft and be freed once. Never pass
/// it a borrowed `const char *` (those belong to their handle) or memory from `malloc`.
/// Thread-safety: any thread.
///
/// # Safety
/// `text` is NULL or a string returned through a `char **` out-parameter of this library and
/// not freed yet.
#[no_mangle]
pub unsafe extern "C" fn failsoft_string_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: `text` came from `CString::into_raw` per the caller's contract.
        let _ = std::panic::catch_unwind(|| drop(unsafe { CString::from_raw(text) }));
    }
}
