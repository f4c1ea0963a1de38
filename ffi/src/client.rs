//! `failsoft_client`: creating, reading, prefetching, status, change callbacks, closing.

use crate::args::{check_json, handle, opt_str_arg, out_arg, owned_json, parse_json, str_arg};
use crate::error::{landing_pad, Status};
use crate::listener::{CListener, ChangeCallback};
use crate::value::Value;
use failsoft::{ClientSpec, Error, Fallback, Key, PrefetchError, ReadOptions};
use std::ffi::{c_char, c_void};

/// A cache over one source (HTTP JSON endpoint, JSON file, Langfuse, Opik), with background
/// refresh, snapshots and fallbacks.
///
/// Opaque; created by `failsoft_client_new`, freed with `failsoft_client_free`. Every function
/// taking a client may be called from any number of threads at once, except
/// `failsoft_client_free`, which must be the last call on it.
pub struct Client {
    pub(crate) inner: failsoft::Client,
}

/// Creates a client from options given as JSON. Never touches the network and starts no thread
/// (that happens on the first read).
///
/// The options use the same names as the Python keyword arguments (core's `ClientSpec`):
///
/// ```json
/// {"source": {"kind": "http", "url": "http://host/kv/{key}", "headers": {"Authorization": "..."}},
///  "ttl_seconds": 300, "cold_deadline_seconds": 5, "request_timeout_seconds": 10,
///  "snapshot_dir": "/var/lib/failsoft", "refresh_workers": 4, "keep_on_not_found": false}
/// ```
///
/// `source.kind` is one of:
/// - `http`: `url` containing `{key}`, optional `headers` (object), `version_field`;
/// - `file`: `path` of a JSON object of key -> value;
/// - `langfuse`: `base_url`, `public_key`, `secret_key`, `timeout_seconds`, each defaulting to
///   `LANGFUSE_BASE_URL` (or `LANGFUSE_HOST`), `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`,
///   `LANGFUSE_TIMEOUT` (read with `failsoft_get_prompt`);
/// - `opik`: `base_url`, `api_key`, `workspace`, `project_name`, each defaulting to
///   `OPIK_URL_OVERRIDE`, `OPIK_API_KEY`, `OPIK_WORKSPACE`, `OPIK_PROJECT_NAME` (read with
///   `failsoft_get_config`).
///
/// Every option but `source` is optional; unset ones take their defaults (TTL 300 s, cold
/// deadline 5 s, request timeout 10 s, 4 refresh workers, no snapshots) and environment variables
/// (`FAILSOFT_TTL_SECONDS`, `FAILSOFT_SNAPSHOT_DIR`, `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`,
/// `OPIK_CONFIG_TTL_SECONDS`).
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for NULL arguments, invalid JSON, an unknown or mistyped
/// option (the message names it). Ownership: on success `*out_client` is the caller's, freed with
/// `failsoft_client_free`; on failure it is set to NULL. Thread-safety: any thread.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `out_client` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_new(
    options_json: *const c_char,
    out_client: *mut *mut Client,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_client, "out_client", std::ptr::null_mut()) }?;
        let text = unsafe { str_arg(options_json, "options_json") }?;
        let inner = ClientSpec::from_json(text)?.build()?;
        *out = Box::into_raw(Box::new(Client { inner }));
        Ok(())
    })
}

/// Stops the client's background threads. Idempotent; returns within about a second even when a
/// request hangs. The client stays usable: cached values keep being served, nothing is fetched
/// any more (a read of an uncached key degrades to the snapshot, the fallback or
/// `FAILSOFT_UNAVAILABLE`).
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` when `client` is NULL. Ownership: borrows the client, which
/// must still be freed with `failsoft_client_free`. Thread-safety: any thread, concurrently with
/// reads.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_close(client: *const Client) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        unsafe { handle(client, "client") }?.inner.close();
        Ok(())
    })
}

/// Forces a refresh of `key`: in fleet mode (`"fleet"` in the options JSON, or
/// `FAILSOFT_REDIS_URL`) fleet-wide — the shared entry stops counting as fresh and every process
/// is told, one of them fetches — else in this process. The cached value keeps being served.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a NULL client or key; `FAILSOFT_UNAVAILABLE` when the
/// shared store cannot be reached (bounded by the store timeout, 250 ms).
/// Thread-safety: any thread, concurrently with reads.
///
/// # Safety
/// `client` is NULL or a live client; `key` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_invalidate(client: *const Client, key: *const c_char) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let client = unsafe { handle(client, "client") }?;
        unsafe { with_key(key, |key| client.inner.invalidate(key)) }
    })
}

/// Closes (see `failsoft_client_close`) and frees a client. NULL is ignored.
///
/// When it returns, no change callback of this client is running or will run again. Values read
/// from the client stay valid until they are freed themselves.
///
/// Ownership: takes the client. Thread-safety: no other thread may use the client during or
/// after this call; never call it from inside one of the client's change callbacks.
///
/// # Safety
/// `client` is NULL or a client from `failsoft_client_new` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_free(client: *mut Client) {
    if client.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the pointer came from `failsoft_client_new` per the caller's contract.
        // Closing unregisters the change callbacks, waiting for calls under way (core's
        // listener registry), even those of a fetch thread that outlives the client.
        unsafe { Box::from_raw(client) }.inner.close();
    }));
}

/// The keys last read on this thread, by their C text: a warm read of a recent key skips the
/// UTF-8 check, `Key::parse` and its allocation (a quarter of the ABI's cost per read). Pure
/// memoisation of `Key::parse`; four entries, replaced in turn.
struct RecentKeys {
    slots: [Option<(Box<[u8]>, Key)>; 4],
    next: usize,
}

thread_local! {
    static RECENT_KEYS: std::cell::RefCell<RecentKeys> =
        const { std::cell::RefCell::new(RecentKeys { slots: [None, None, None, None], next: 0 }) };
}

/// Calls `f` with the key whose canonical text `ptr` points to.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
unsafe fn with_key<R>(ptr: *const c_char, f: impl FnOnce(&Key) -> Result<R, Error>) -> Result<R, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_argument("key is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let bytes = unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes();
    let parse = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(Key::parse)
            .map_err(|e| Error::invalid_argument(format!("key is not valid UTF-8: {e}")))
    };
    let mut f = Some(f);
    let memoised = RECENT_KEYS.try_with(|cell| {
        // Re-entered (not expected) or torn down: no memo.
        let mut recent = cell.try_borrow_mut().ok()?;
        let at = match recent.slots.iter().position(|s| s.as_ref().is_some_and(|(b, _)| **b == *bytes)) {
            Some(at) => at,
            None => {
                let key = match parse(bytes) {
                    Ok(k) => k,
                    Err(e) => return Some(Err(e)),
                };
                let at = recent.next;
                recent.next = (at + 1) % recent.slots.len();
                recent.slots[at] = Some((bytes.into(), key));
                at
            }
        };
        let key = &recent.slots[at].as_ref()?.1;
        f.take().map(|f| f(key))
    });
    match (memoised, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(&parse(bytes)?),
        (_, None) => Err(Error::invalid_argument("key could not be read")),
    }
}

/// A read's fallback: checked now, parsed only if it is served.
fn fallback(text: Option<&str>) -> Result<Option<Fallback<'_>>, Error> {
    let Some(text) = text else { return Ok(None) };
    check_json(text, "fallback_json")?;
    Ok(Some(Fallback::Lazy(Box::new(move || parse_json(text, "fallback_json")))))
}

/// Runs a read of `key` and hands out the value.
pub(crate) fn read(
    client: &Client,
    key: &Key,
    opts: ReadOptions<'_>,
    out: &mut *mut Value,
) -> Result<(), Error> {
    *out = Value::into_raw(client.inner.get_with(key, opts)?);
    Ok(())
}

/// Reads a key (SPEC §2): never waits on the network once the key has a value; with nothing
/// cached, waits for one fetch shared by every concurrent reader of the key, at most the cold
/// deadline, then serves the snapshot, else the fallback, else fails with the fetch's error.
///
/// - `key`: core's canonical key text: `name` for the http and file sources; `name@label:x`,
///   `name@version:3`, `project@env:prod`, `project@name:v2`, `name@latest` for Langfuse and Opik
///   (prefer `failsoft_get_prompt` / `failsoft_get_config` there).
/// - `fallback_json`: JSON text of the value to serve when nothing else can be, or NULL for none.
///   It is checked on every call (invalid JSON is `FAILSOFT_INVALID_ARGUMENT` even when the key
///   is cached) but only parsed when served; it is never cached or written to a snapshot.
///
/// Returns `FAILSOFT_OK` with `*out_value` set whenever a value is served, including a stale,
/// snapshot or fallback one (see `failsoft_value_source` and `failsoft_value_error_code`).
/// Otherwise the error's status (`FAILSOFT_NOT_FOUND`, `FAILSOFT_TIMEOUT`, ...) with
/// `*out_value` NULL and the message in `failsoft_last_error_message()`.
///
/// Ownership: `*out_value` is the caller's, freed with `failsoft_value_free`.
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client; `key`, `fallback_json` NULL or NUL-terminated strings;
/// `out_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_get(
    client: *const Client,
    key: *const c_char,
    fallback_json: *const c_char,
    out_value: *mut *mut Value,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_value, "out_value", std::ptr::null_mut()) }?;
        let client = unsafe { handle(client, "client") }?;
        let fallback = fallback(unsafe { opt_str_arg(fallback_json, "fallback_json") }?)?;
        unsafe { with_key(key, |key| read(client, key, ReadOptions { fallback, ..Default::default() }, out)) }
    })
}

/// Fetches `n_keys` keys in parallel, each bounded by `deadline_seconds` (0: the client's cold
/// deadline), and caches them. Meant for start-up: call it, and exit when it fails.
///
/// Returns `FAILSOFT_OK` when every key was fetched from the source; otherwise the status of the
/// first key that failed, with every failure in `failsoft_last_error_message()`. Either way,
/// when `out_report_json` is not NULL it receives a report:
/// `{"ok": false, "succeeded": ["a"], "failed": [{"key": "nope", "kind": "NotFound",
/// "message": "...", "status": 404}]}`.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a NULL client, a NULL `keys` with `n_keys` > 0, a NULL
/// or non-UTF-8 key, a negative or non-finite deadline (no key is fetched then).
/// Ownership: `*out_report_json` is the caller's, freed with `failsoft_string_free`; NULL when
/// the arguments were invalid. Thread-safety: any thread, concurrently with reads.
///
/// # Safety
/// `client` is NULL or a live client; `keys` is NULL or points to `n_keys` pointers, each NULL or
/// a NUL-terminated string; `out_report_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_prefetch(
    client: *const Client,
    keys: *const *const c_char,
    n_keys: usize,
    deadline_seconds: f64,
    out_report_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        if !out_report_json.is_null() {
            // SAFETY: writable per the contract.
            unsafe { out_report_json.write(std::ptr::null_mut()) };
        }
        // SAFETY: forwarded contract.
        let client = unsafe { handle(client, "client") }?;
        if keys.is_null() && n_keys > 0 {
            return Err(Error::invalid_argument("keys is NULL"));
        }
        let parsed = (0..n_keys)
            .map(|i| {
                // SAFETY: `keys` points to `n_keys` pointers per the contract.
                let ptr = unsafe { *keys.add(i) };
                unsafe { str_arg(ptr, &format!("keys[{i}]")) }.map(Key::parse)
            })
            .collect::<Result<Vec<Key>, Error>>()?;
        let deadline = if deadline_seconds == 0.0 {
            None
        } else {
            Some(failsoft::spec::seconds("deadline_seconds", deadline_seconds)?)
        };
        let (report, outcome) = match client.inner.prefetch(&parsed, deadline) {
            Ok(_) => (PrefetchError { failures: Vec::new(), succeeded: parsed }, Ok(())),
            Err(e) => {
                let kind = e.failures.first().map_or(failsoft::ErrorKind::Unavailable, |(_, err)| err.kind);
                let outcome = Err(Error::new(kind, e.to_string()));
                (e, outcome)
            }
        };
        if !out_report_json.is_null() {
            // SAFETY: writable per the contract.
            unsafe { out_report_json.write(owned_json(&report)) };
        }
        outcome
    })
}

/// The client's status as JSON (SPEC §4):
/// `{"state": "starting"|"ready"|"stale"|"fatal", "since": <unix seconds>,
/// "last_error": null | {"kind", "key", "message", "status"}, "counters": {"reads",
/// "fresh_reads", "stale_reads", "snapshot_reads", "fallback_reads", "error_reads", "fetches",
/// "fetch_errors", "coalesced_waits", "bytes_fetched"}, "keys": <cached keys>}`.
///
/// Ownership: `*out_json` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_status_json(
    client: *const Client,
    out_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_json, "out_json", std::ptr::null_mut()) }?;
        let client = unsafe { handle(client, "client") }?;
        *out = owned_json(&client.inner.status());
        Ok(())
    })
}

/// Registers `callback`, called after a key's value changes version (hot reload), with the key's
/// canonical text, the old and new versions (`FAILSOFT_NO_VERSION` when there is none) and
/// `user_data`.
///
/// The callback runs on a library thread, never on the read path, and possibly on several
/// threads at once for different keys; it must return quickly, must not unwind (no C++
/// exceptions or `longjmp` out of it) and must not free the client. `key` is borrowed for the
/// duration of the call. `user_data` must stay valid until the listener is removed or the
/// client freed: when `failsoft_client_remove_listener` or `failsoft_client_free` returns, the
/// callback is not running and never runs again.
///
/// `out_listener_id` (may be NULL) receives an id for `failsoft_client_remove_listener`.
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a NULL client or callback.
/// Ownership: the client keeps `callback` and `user_data` (never freeing `user_data`) until the
/// listener is removed or the client freed. Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client; `out_listener_id` is NULL or writable; `callback` is safe to
/// call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_on_change(
    client: *const Client,
    callback: ChangeCallback,
    user_data: *mut c_void,
    out_listener_id: *mut u64,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let client = unsafe { handle(client, "client") }?;
        let callback = callback.ok_or_else(|| Error::invalid_argument("callback is NULL"))?;
        let listener = CListener { callback, user_data };
        let id = client.inner.on_change(move |change| listener.call(change));
        if !out_listener_id.is_null() {
            // SAFETY: writable per the contract.
            unsafe { out_listener_id.write(id) };
        }
        Ok(())
    })
}

/// Removes a change callback registered with `failsoft_client_on_change`. When it returns, the
/// callback is not running (unless this is called from inside it) and never runs again.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a NULL client; `FAILSOFT_NOT_FOUND` for an id that is
/// not registered (already removed). Ownership: the caller may free the listener's `user_data`
/// once this returns. Thread-safety: any thread, concurrently.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn failsoft_client_remove_listener(client: *const Client, listener_id: u64) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let client = unsafe { handle(client, "client") }?;
        if !client.inner.remove_listener(listener_id) {
            return Err(Error::not_found(format!("no change listener with id {listener_id}")));
        }
        Ok(())
    })
}
