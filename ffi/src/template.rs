//! Prompt templates (SPEC §6) through the C ABI: the core's one implementation, JSON in and out.

use crate::args::{
    opt_str_arg, out_arg, owned_json, owned_string, parse_json_array, parse_json_object, str_arg,
};
use crate::error::{landing_pad, Status};
use failsoft::template;
use std::ffi::c_char;

/// Compiles a text prompt: every `{{name}}` (optional inner spaces or tabs) is replaced by the
/// variable's text, inserted raw (strings as is, numbers and booleans as JSON text, null as
/// nothing, objects and arrays as compact JSON), never re-expanded.
///
/// - `variables_json`: a JSON object of name -> value, or NULL for none.
/// - `strict`: false leaves a missing variable verbatim; true fails with
///   `FAILSOFT_INVALID_ARGUMENT` naming every missing variable
///   (`missing template variables: movie, year`).
///
/// Ownership: `*out_text` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for NULL or non-UTF-8 text, variables that are not a JSON
/// object, a strict miss, or a result containing a NUL byte. Thread-safety: any thread.
///
/// # Safety
/// `template_text`, `variables_json` are NULL or NUL-terminated strings; `out_text` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_compile(
    template_text: *const c_char,
    variables_json: *const c_char,
    strict: bool,
    out_text: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_text, "out_text", std::ptr::null_mut()) }?;
        let text = unsafe { str_arg(template_text, "template_text") }?;
        let vars = match unsafe { opt_str_arg(variables_json, "variables_json") }? {
            Some(v) => parse_json_object(v, "variables_json")?,
            None => serde_json::Map::new(),
        };
        *out = owned_string(template::compile(text, &vars, strict)?, "the compiled text")?;
        Ok(())
    })
}

/// Compiles a chat prompt: `messages_json` is a JSON array of messages `{"role", "content", ...}`
/// and `{"type": "placeholder", "name": N}` items. Each message's string `content` is compiled
/// like `failsoft_compile`; a placeholder is replaced by the messages given for its name in
/// `placeholders_json` (an object of name -> array of messages; an empty array removes it) and
/// left in place when not given.
///
/// - `variables_json`, `placeholders_json`: JSON objects, or NULL for none.
/// - `strict`: fail with `FAILSOFT_INVALID_ARGUMENT` naming every missing variable and
///   placeholder.
///
/// Ownership: `*out_messages_json` (a JSON array) is the caller's, freed with
/// `failsoft_string_free`; NULL on failure. Thread-safety: any thread.
///
/// # Safety
/// The strings are NULL or NUL-terminated; `out_messages_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_compile_chat(
    messages_json: *const c_char,
    variables_json: *const c_char,
    placeholders_json: *const c_char,
    strict: bool,
    out_messages_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_messages_json, "out_messages_json", std::ptr::null_mut()) }?;
        let messages =
            parse_json_array(unsafe { str_arg(messages_json, "messages_json") }?, "messages_json")?;
        let object = |ptr, name| -> Result<_, failsoft::Error> {
            // SAFETY: forwarded contract.
            Ok(match unsafe { opt_str_arg(ptr, name) }? {
                Some(v) => parse_json_object(v, name)?,
                None => serde_json::Map::new(),
            })
        };
        let vars = object(variables_json, "variables_json")?;
        let placeholders = object(placeholders_json, "placeholders_json")?;
        let compiled = template::compile_chat(&messages, &vars, &placeholders, strict)?;
        *out = owned_json(&serde_json::Value::Array(compiled));
        Ok(())
    })
}

/// The variable names a text template uses, in first-appearance order without duplicates, as a
/// JSON array of strings: `["movie","year"]`.
///
/// Ownership: `*out_names_json` is the caller's, freed with `failsoft_string_free`; NULL on
/// failure. Thread-safety: any thread.
///
/// # Safety
/// `template_text` is NULL or NUL-terminated; `out_names_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_template_variables(
    template_text: *const c_char,
    out_names_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_names_json, "out_names_json", std::ptr::null_mut()) }?;
        let text = unsafe { str_arg(template_text, "template_text") }?;
        *out = owned_json(&serde_json::json!(template::variables(text)));
        Ok(())
    })
}

/// The variable names used across a chat prompt's message contents (placeholders excluded), in
/// first-appearance order without duplicates, as a JSON array of strings.
///
/// Ownership: `*out_names_json` is the caller's, freed with `failsoft_string_free`; NULL on
/// failure. Thread-safety: any thread.
///
/// # Safety
/// `messages_json` is NULL or NUL-terminated; `out_names_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_variables(
    messages_json: *const c_char,
    out_names_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_names_json, "out_names_json", std::ptr::null_mut()) }?;
        let messages =
            parse_json_array(unsafe { str_arg(messages_json, "messages_json") }?, "messages_json")?;
        *out = owned_json(&serde_json::json!(template::chat_variables(&messages)));
        Ok(())
    })
}
