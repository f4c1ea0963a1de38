//! Prompts (Langfuse) through the C ABI: core's `failsoft::prompt`, JSON in and out.

use crate::args::{
    handle, opt_str_arg, out_arg, owned_json, owned_string, parse_json, parse_json_object, str_arg,
};
use crate::client::Client;
use crate::error::{landing_pad, Status};
use crate::value::Value;
use failsoft::prompt::{Prompt, PromptRequest};
use failsoft::{Error, Payload};
use std::ffi::c_char;
use std::sync::Arc;
use std::time::SystemTime;

/// A read prompt as a value: its prompt JSON, source, version (none for a fallback), age, error.
fn prompt_value(p: &Prompt) -> failsoft::Value {
    let version = (!p.is_fallback()).then_some(p.version);
    let fetched = p.age.and_then(|age| SystemTime::now().checked_sub(age)).unwrap_or_else(SystemTime::now);
    let payload = Payload::aged(p.data_json(), version, None, fetched);
    failsoft::Value { payload: Arc::new(payload), source: p.source, error: p.error.clone() }
}

/// Reads a prompt (Langfuse source) by name and label or version, with the same fresh / stale /
/// snapshot / fallback rules as `failsoft_get`.
///
/// - `label`: NULL or `"production"` for the production label (one cache entry for both);
///   otherwise a label such as `"staging"` or `"latest"` (`^[a-z0-9_\-.]+$`).
/// - `version`: 0 for none, else that version. A label and a version together are
///   `FAILSOFT_INVALID_ARGUMENT`.
/// - `fallback_json`: NULL, or the prompt to serve when nothing else can be: a JSON string (a
///   text prompt), an array of `{"role", "content"}` messages and `{"type": "placeholder",
///   "name"}` items (a chat prompt), or `{"prompt": <either>, "config": {...}}`. Checked on every
///   call: an invalid fallback is `FAILSOFT_INVALID_ARGUMENT` even when the prompt is cached.
///
/// The value's JSON (`failsoft_value_json`) is the prompt:
/// `{"name", "version", "type": "text"|"chat", "prompt", "config", "labels", "tags",
/// "commit_message"}` (a fallback has version 0 there, and `failsoft_value_version` reports none).
/// Compile it with `failsoft_prompt_compile` / `failsoft_prompt_compile_chat`.
///
/// Ownership: `*out_value` is the caller's, freed with `failsoft_value_free`; NULL on failure.
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client; the strings are NULL or NUL-terminated; `out_value` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_get_prompt(
    client: *const Client,
    name: *const c_char,
    label: *const c_char,
    version: u64,
    fallback_json: *const c_char,
    out_value: *mut *mut Value,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_value, "out_value", std::ptr::null_mut()) }?;
        let client = unsafe { handle(client, "client") }?;
        let mut request = PromptRequest::new(unsafe { str_arg(name, "name") }?);
        if let Some(label) = unsafe { opt_str_arg(label, "label") }? {
            request = request.label(label);
        }
        if version != 0 {
            request = request.version(version);
        }
        if let Some(fallback) = unsafe { opt_str_arg(fallback_json, "fallback_json") }? {
            request = request.fallback(parse_json(fallback, "fallback_json")?);
        }
        *out = Value::into_raw(prompt_value(&request.get(&client.inner)?));
        Ok(())
    })
}

/// The prompt inside a value from `failsoft_get_prompt`.
fn prompt_of(value: &Value) -> Result<Prompt, Error> {
    Prompt::from_json(value.inner().data())
        .map_err(|e| Error::invalid_argument(format!("the value is not a prompt: {}", e.message)))
}

/// Compiles a text prompt read with `failsoft_get_prompt` (see `failsoft_compile` for the rules).
///
/// - `variables_json`: a JSON object of name -> value, or NULL for none.
/// - `strict`: fail with `FAILSOFT_INVALID_ARGUMENT` naming every missing variable.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a chat prompt (use `failsoft_prompt_compile_chat`), a
/// value that is not a prompt, or a strict miss. Ownership: `*out_text` is the caller's, freed
/// with `failsoft_string_free`; NULL on failure. Thread-safety: any thread.
///
/// # Safety
/// `prompt` is NULL or a live value; `variables_json` NULL or NUL-terminated; `out_text` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_prompt_compile(
    prompt: *const Value,
    variables_json: *const c_char,
    strict: bool,
    out_text: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_text, "out_text", std::ptr::null_mut()) }?;
        let value = unsafe { handle(prompt, "prompt") }?;
        let vars = match unsafe { opt_str_arg(variables_json, "variables_json") }? {
            Some(v) => parse_json_object(v, "variables_json")?,
            None => serde_json::Map::new(),
        };
        *out = owned_string(prompt_of(value)?.compile(&vars, strict)?, "the compiled prompt")?;
        Ok(())
    })
}

/// Compiles a chat prompt read with `failsoft_get_prompt` (see `failsoft_compile_chat` for the
/// rules) into a JSON array of messages.
///
/// - `variables_json`, `placeholders_json`: JSON objects, or NULL for none.
/// - `strict`: fail with `FAILSOFT_INVALID_ARGUMENT` naming every missing variable and placeholder.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a text prompt (use `failsoft_prompt_compile`), a value
/// that is not a prompt, or a strict miss. Ownership: `*out_messages_json` is the caller's, freed
/// with `failsoft_string_free`; NULL on failure. Thread-safety: any thread.
///
/// # Safety
/// `prompt` is NULL or a live value; the strings NULL or NUL-terminated; `out_messages_json` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_prompt_compile_chat(
    prompt: *const Value,
    variables_json: *const c_char,
    placeholders_json: *const c_char,
    strict: bool,
    out_messages_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_messages_json, "out_messages_json", std::ptr::null_mut()) }?;
        let value = unsafe { handle(prompt, "prompt") }?;
        let object = |ptr, name| -> Result<_, Error> {
            // SAFETY: forwarded contract.
            Ok(match unsafe { opt_str_arg(ptr, name) }? {
                Some(v) => parse_json_object(v, name)?,
                None => serde_json::Map::new(),
            })
        };
        let vars = object(variables_json, "variables_json")?;
        let placeholders = object(placeholders_json, "placeholders_json")?;
        let messages = prompt_of(value)?.compile_chat(&vars, &placeholders, strict)?;
        *out = owned_json(&messages);
        Ok(())
    })
}

/// Converts a prompt read with `failsoft_get_prompt` (a fallback too) to LangChain's template
/// form, as Langfuse's `get_langchain_prompt()` does, into JSON:
///
/// - a text prompt gives a JSON string for `PromptTemplate.from_template`: every `{{name}}`
///   (inner spaces allowed) not given in `variables_json` becomes `{name}`, every other `{` and
///   `}` is doubled (JSON in a prompt stays text), given variables are filled in;
/// - a chat prompt gives a JSON array for `ChatPromptTemplate.from_messages`: each message as
///   `{"role", "content"}` (content converted as above), a placeholder given in `variables_json`
///   expanded into its messages (their text kept literal), one not given as
///   `["placeholder", "{name}"]`.
///
/// `variables_json`: a JSON object, or NULL for none. An entry named after one of the prompt's
/// placeholders (an array of `{"role", "content"}` messages) fills that placeholder; every other
/// entry is a variable.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a value that is not a prompt, a message without a
/// string role and content, a placeholder given something other than a list of messages, and a
/// variable or placeholder LangChain cannot hold (`user.name`, `1`) that is not given.
/// Ownership: `*out_json` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Thread-safety: any thread.
///
/// # Safety
/// `prompt` is NULL or a live value; `variables_json` NULL or NUL-terminated; `out_json` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_prompt_langchain(
    prompt: *const Value,
    variables_json: *const c_char,
    out_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_json, "out_json", std::ptr::null_mut()) }?;
        let value = unsafe { handle(prompt, "prompt") }?;
        let arguments = match unsafe { opt_str_arg(variables_json, "variables_json") }? {
            Some(v) => parse_json_object(v, "variables_json")?,
            None => serde_json::Map::new(),
        };
        *out = owned_json(&prompt_of(value)?.langchain_from_arguments(&arguments)?.to_json());
        Ok(())
    })
}
