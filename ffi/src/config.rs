//! Typed configuration (Opik agent configs) through the C ABI: core's `failsoft::config`.

use crate::args::{handle, opt_str_arg, out_arg, parse_json_object, str_arg};
use crate::client::Client;
use crate::error::{landing_pad, Status};
use crate::value::Value;
use failsoft::config::{config_key, get_or_create_config, ConfigOptions};
use std::ffi::c_char;

/// Reads an agent config (Opik source), creating it from the fallback when the project has none
/// at all (Opik's `get_or_create_config`), with the same fresh / stale / snapshot / fallback
/// rules as `failsoft_get`.
///
/// - `project`: NULL or `""` for the source's project.
/// - `env`: NULL, or an environment such as `"staging"` (never created). `version`: NULL, or
///   `"latest"`, `"3"` / `"v3"`. At most one of them; neither means env `prod`, created from the
///   fallback when the project has no config.
/// - `fallback_json`: a JSON object declaring the fields: it seeds a config that does not exist
///   yet and is served when the backend cannot answer. A value from the backend must carry every
///   declared field with the fallback's JSON type (core's `config` rule: one number type, a null
///   declares any type), else `FAILSOFT_INVALID_RESPONSE` naming each missing or mistyped field
///   (never filled in from the fallback). Lists and objects stored as JSON text come back parsed.
///
/// Errors: `FAILSOFT_NOT_FOUND` when the config does not exist and was not created (an explicit
/// env or version that is missing): a fallback covers a backend that cannot answer, not a config
/// that is not there. `FAILSOFT_INVALID_ARGUMENT` for NULL arguments, a fallback that is not a
/// JSON object, an env together with a version.
///
/// Ownership: `*out_value` is the caller's, freed with `failsoft_value_free`; NULL on failure;
/// its JSON is the config object. Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client; the strings are NULL or NUL-terminated; `out_value` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_get_config(
    client: *const Client,
    project: *const c_char,
    env: *const c_char,
    version: *const c_char,
    fallback_json: *const c_char,
    out_value: *mut *mut Value,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_value, "out_value", std::ptr::null_mut()) }?;
        let client = unsafe { handle(client, "client") }?;
        let project = unsafe { opt_str_arg(project, "project") }?.unwrap_or("");
        let env = unsafe { opt_str_arg(env, "env") }?;
        let version = unsafe { opt_str_arg(version, "version") }?;
        let fallback =
            parse_json_object(unsafe { str_arg(fallback_json, "fallback_json") }?, "fallback_json")?;
        let key = config_key(project, env, version)?;
        *out =
            Value::into_raw(get_or_create_config(&client.inner, &key, &fallback, ConfigOptions::default())?);
        Ok(())
    })
}
