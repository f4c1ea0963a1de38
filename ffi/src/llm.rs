//! `failsoft_llm`: OpenAI-compatible chat completions with fallback (SPEC §8), over core's
//! `failsoft::llm::LlmClient`; `failsoft_chat_result`: what a call returns.

use crate::args::{handle, out_arg, owned_json, parse_json, str_arg};
use crate::error::{
    landing_pad, landing_pad_llm, landing_pad_or, last_error_attempts, lossy_cstring, Failure, Status,
};
use failsoft::llm::{Attempt, CallOptions, CallSpec, ChatError, ChatStream, LlmClient, ServedBy};
use failsoft::Error;
use std::ffi::{c_char, c_void, CString};
use std::sync::OnceLock;

/// A chat-completion client over an ordered list of OpenAI-compatible targets (primary first),
/// with per-attempt timeouts, one overall deadline, retries, fallover and one circuit breaker per
/// target shared by every call made through it.
///
/// Opaque; created by `failsoft_llm_new`, freed with `failsoft_llm_free`. Every function taking
/// an LLM client may be called from any number of threads at once, except `failsoft_llm_free`,
/// which must be the last call on it.
pub struct Llm {
    inner: LlmClient,
}

/// What a chat call returns: the completion (for `failsoft_llm_chat`), the target that served it,
/// whether that was a fallback, and every attempt; for `failsoft_llm_chat_stream`, the same
/// metadata plus how many chunks were delivered and whether the stream broke.
///
/// Opaque; freed with `failsoft_chat_result_free`. Immutable: any number of threads may read it
/// at once. It stays valid after its LLM client is freed.
pub struct ChatResult {
    /// `None` for a stream's metadata.
    completion: Option<serde_json::Value>,
    served_by: ServedBy,
    is_fallback: bool,
    attempts: Vec<Attempt>,
    chunks: u64,
    incomplete: bool,
    restarts: u32,
    model: Option<CString>,
    base_url: CString,
    /// Made on first request, then kept.
    json: OnceLock<CString>,
    attempts_json: OnceLock<CString>,
}

impl ChatResult {
    /// A call's result; a stream's counters are set from its progress.
    fn new(completion: Option<serde_json::Value>, served_by: ServedBy, attempts: Vec<Attempt>) -> ChatResult {
        ChatResult {
            completion,
            is_fallback: served_by.is_fallback(),
            model: served_by.model.clone().map(lossy_cstring),
            base_url: lossy_cstring(served_by.base_url.clone()),
            served_by,
            attempts,
            chunks: 0,
            incomplete: false,
            restarts: 0,
            json: OnceLock::new(),
            attempts_json: OnceLock::new(),
        }
    }

    fn into_raw(self) -> *mut ChatResult {
        Box::into_raw(Box::new(self))
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "completion": self.completion,
            "served_by": self.served_by,
            "is_fallback": self.is_fallback,
            "attempts": self.attempts,
            "chunks": self.chunks,
            "incomplete": self.incomplete,
            "restarts": self.restarts,
        })
    }
}

/// Every attempt as a JSON array, in order (core's serde form).
fn attempts_to_json(attempts: &[Attempt]) -> serde_json::Value {
    serde_json::json!(attempts)
}

/// A chat call's failure: its error and every attempt it made.
fn chat_failure(e: ChatError) -> Failure {
    Failure { attempts: Some(attempts_to_json(&e.attempts)), error: e.error }
}

/// The request argument: a JSON object (checked by core).
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
unsafe fn request_arg(ptr: *const c_char) -> Result<serde_json::Value, Error> {
    // SAFETY: forwarded contract.
    parse_json(unsafe { str_arg(ptr, "request_json") }?, "request_json")
}

/// Creates an LLM client from options given as JSON. Never touches the network and starts no
/// thread.
///
/// The options are core's `LlmSpec`, the names the Python keyword arguments and the Node options
/// object use too; only `targets` is required:
///
/// ```json
/// {"targets": [
///    {"base_url": "https://api.openpipe.ai/api/v1", "api_key": "opk-…", "timeout_seconds": 10},
///    {"base_url": "https://api.openai.com/v1", "api_key": "sk-…", "model": "gpt-4o-mini"}],
///  "deadline_seconds": 40, "timeout_seconds": 60, "max_retries": 1,
///  "retry_after_cap_seconds": 2, "breaker_threshold": 3, "breaker_cooldown_seconds": 5,
///  "first_chunk_timeout_seconds": 15, "stream_idle_timeout_seconds": 30,
///  "stream_recovery": "error", "stop_statuses": [400, 413, 422],
///  "fallover_classes": ["context_length", "quota", "rate_limit", "server", "timeout",
///                       "connection", "auth", "not_found"]}
/// ```
///
/// - `targets`: primary first. `base_url` is the API root (the call goes to
///   `{base_url}/chat/completions`); `api_key` is sent as `Authorization: Bearer <key>` (none
///   when absent); `model` replaces the request's `model` (absent: the request's is kept);
///   `timeout_seconds` is the per-attempt timeout (for a stream, also a cap on the idle timeout),
///   defaulting to the top-level `timeout_seconds` (60).
/// - `deadline_seconds`: one bound on the whole call (every attempt, retry wait and fallover;
///   for a stream, every chunk until its end). Default: none.
/// - Every failed attempt has an error class (SPEC §8): `context_length`, `content_policy`,
///   `quota`, `rate_limit`, `server`, `timeout`, `connection`, `auth`, `not_found`,
///   `bad_request`. The classes in `fallover_classes` fall over (default every class but
///   `content_policy` and `bad_request`); `context_length` and `quota` never retry the same target.
///   The HTTP statuses in `stop_statuses` (default 400, 413, 422) end the call unless the body
///   names `context_length`, `content_policy` or `quota`.
/// - Retries: up to `max_retries` (default 1) per target, only for `connection`, `timeout`,
///   `server` and `rate_limit`, after a backoff or the server's `Retry-After` when it is at most
///   `retry_after_cap_seconds` (default 2; a longer one falls over at once).
/// - Breaker per (target, model): after `breaker_threshold` (default 3) calls in a row failed, it
///   is skipped for `breaker_cooldown_seconds` (default 5), then one call probes it. 0 disables
///   it. The last target left is never skipped.
/// - Streams: `first_chunk_timeout_seconds` (default 15) is the longest wait for the first chunk
///   before falling over; `stream_idle_timeout_seconds` (default 30) the longest silence after
///   it; `stream_recovery` (`error`, `restart`) what a break after the first chunk does.
///
/// The OpenAI-shaped options of the Python and Node `OpenAI` clients are accepted instead of
/// `targets` (core's `failsoft::llm::Front`, same names): `{"base_url": …, "api_key": …,
/// "timeout": 10, "fallback_client": {"base_url": …, "api_key": …}, "fallback": [{"model":
/// "gpt-4o-mini", "timeout": 20}, "gpt-4o"]}` plus the options above; `base_url` and `api_key`
/// default to `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for NULL arguments, invalid JSON, an unknown or mistyped
/// option (the message names its path: `targets[1].timeout_seconds`, `fallback[0].timeout`), no target, a
/// base URL that is not http(s), a negative or zero duration. No message contains an API key.
/// Ownership: on success `*out_llm` is the caller's, freed with `failsoft_llm_free`; NULL on
/// failure. Thread-safety: any thread.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `out_llm` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_new(options_json: *const c_char, out_llm: *mut *mut Llm) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_llm, "out_llm", std::ptr::null_mut()) }?;
        let text = unsafe { str_arg(options_json, "options_json") }?;
        let inner = failsoft::llm::client_from_json(text)?;
        *out = Box::into_raw(Box::new(Llm { inner }));
        Ok(())
    })
}

/// Frees an LLM client. NULL is ignored. Results it returned stay valid until freed themselves.
///
/// Ownership: takes the client. Thread-safety: no other thread may use the client during or
/// after this call (no call on it may still be running).
///
/// # Safety
/// `llm` is NULL or a client from `failsoft_llm_new` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_free(llm: *mut Llm) {
    if !llm.is_null() {
        // SAFETY: the pointer came from `failsoft_llm_new` per the caller's contract.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(llm) })));
    }
}

/// One chat completion: `POST {base_url}/chat/completions` on the targets in order until one
/// answers (SPEC §8). Blocks the calling thread until the answer, the last failure or the
/// deadline.
///
/// `request_json` is the OpenAI request body (`{"model": …, "messages": […], …}`), sent
/// untouched except `model`, which a target with its own `model` replaces. `"stream": true` is
/// `FAILSOFT_INVALID_ARGUMENT`: use `failsoft_llm_chat_stream`.
///
/// Returns `FAILSOFT_OK` with `*out_result` set when a target answered with a completion
/// (`failsoft_chat_result_is_fallback` says whether it was a fallback). Otherwise the status of
/// the error that ended the call: the last target's (`FAILSOFT_UNAVAILABLE` for refused or reset
/// connections, 409, 429 and 5xx; `FAILSOFT_TIMEOUT` for a timeout, 408 and 504;
/// `FAILSOFT_UNAUTHORIZED` for 401/403; `FAILSOFT_NOT_FOUND` for 404; `FAILSOFT_INVALID_RESPONSE`
/// for an answer that is not a completion), `FAILSOFT_TIMEOUT` when the deadline ended it, or
/// `FAILSOFT_INVALID_ARGUMENT` when a target refused the request itself with a stop status (400,
/// 413, 422: no fallover) or the request is not a JSON object. The message is in
/// `failsoft_last_error_message()` and every attempt in `failsoft_llm_last_attempts_json()`.
/// No message contains an API key.
///
/// Ownership: `*out_result` is the caller's, freed with `failsoft_chat_result_free`; NULL on
/// failure. Thread-safety: any thread, concurrently (the calls share the breakers and the
/// connection pool).
///
/// # Safety
/// `llm` is NULL or a live client; `request_json` is NULL or a NUL-terminated string;
/// `out_result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_chat(
    llm: *const Llm,
    request_json: *const c_char,
    out_result: *mut *mut ChatResult,
) -> Status {
    landing_pad_llm(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_result, "out_result", std::ptr::null_mut()) }?;
        let llm = unsafe { handle(llm, "llm") }?;
        let request = unsafe { request_arg(request_json) }?;
        let r = llm.inner.chat(&request).map_err(chat_failure)?;
        *out = ChatResult::new(Some(r.completion), r.served_by, r.attempts).into_raw();
        Ok(())
    })
}

/// A chunk callback: the chunk's JSON text (`{"object": "chat.completion.chunk", "choices":
/// [{"delta": {"content": "…"}}], …}`, borrowed for the call) and the `user_data` given to
/// `failsoft_llm_chat_stream`. Return true to go on, false to stop the stream.
pub type ChunkCallback =
    Option<unsafe extern "C" fn(chunk_json: *const c_char, user_data: *mut c_void) -> bool>;

/// A streaming chat completion (server-sent events): calls `on_chunk` with each chunk as it
/// arrives, on the calling thread, and returns when the stream ends. Blocks the calling thread.
///
/// The request is sent with `"stream": true`. Targets fall over freely before the first chunk
/// (connection errors, HTTP errors, no first chunk within `first_chunk_timeout_seconds`). Once a
/// chunk was delivered the stream (with the default `stream_recovery` `error`) ends
/// - after `data: [DONE]`, or when the server closes it after the chunk with the finish reason:
///   `FAILSOFT_OK` (malformed events are skipped; a few more than 3 are a break);
/// - when `on_chunk` returns false: `FAILSOFT_OK` (the connection is closed; nothing more is
///   delivered);
/// - when the connection breaks, stalls past the idle timeout, the deadline passes or the
///   server reports an error before `[DONE]`: `FAILSOFT_UNAVAILABLE`, `FAILSOFT_TIMEOUT` or
///   `FAILSOFT_INVALID_RESPONSE`, with a last error message saying the stream is incomplete
///   (`stream incomplete after 2 chunks: …`): never a clean-looking end.
///
/// When no target could open a stream, the status and messages are those of
/// `failsoft_llm_chat` (nothing was delivered).
///
/// `out_meta` may be NULL. Otherwise it receives the stream's metadata whenever a stream was
/// opened, whatever the status: served_by, is_fallback, the attempts that opened it,
/// `failsoft_chat_result_chunks` (chunks delivered) and `failsoft_chat_result_incomplete` (true
/// when it broke); its `failsoft_chat_result_json` is NULL. It is NULL when no stream was opened.
/// On failure, `failsoft_llm_last_attempts_json()` holds the attempts too.
///
/// `on_chunk` must not unwind (no C++ exception or `longjmp` out of it) and must not free `llm`;
/// it may call other failsoft functions. `user_data` is passed through untouched.
///
/// Ownership: `*out_meta` (when set) is the caller's, freed with `failsoft_chat_result_free`.
/// Thread-safety: any thread, concurrently; `on_chunk` runs only on the calling thread, before
/// this function returns.
///
/// # Safety
/// `llm` is NULL or a live client; `request_json` is NULL or a NUL-terminated string; `on_chunk`
/// is safe to call with `user_data`; `out_meta` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_chat_stream(
    llm: *const Llm,
    request_json: *const c_char,
    on_chunk: ChunkCallback,
    user_data: *mut c_void,
    out_meta: *mut *mut ChatResult,
) -> Status {
    // SAFETY: forwarded contract; NULL call options.
    unsafe {
        failsoft_llm_chat_stream_with(llm, request_json, std::ptr::null(), on_chunk, user_data, out_meta)
    }
}

/// `failsoft_llm_chat_stream` with this call's options as JSON (NULL: none), the shared names:
/// `{"stream_recovery": "restart"}` overrides the client's `stream_recovery`. An unknown or
/// invalid option is `FAILSOFT_INVALID_ARGUMENT` naming it.
///
/// With `stream_recovery` `restart`, a break after the first chunk sends the request again (the
/// same target while its retries last, then the next) instead of ending the stream. Before the
/// first chunk of the new attempt, `on_chunk` receives a restart event instead of a chunk:
/// `{"object": "failsoft.stream.restart", "restarts": 1}`; the text delivered before it belongs
/// to an abandoned answer and must be discarded. `failsoft_chat_result_restarts` counts them.
///
/// # Safety
/// As `failsoft_llm_chat_stream`; `options_json` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_chat_stream_with(
    llm: *const Llm,
    request_json: *const c_char,
    options_json: *const c_char,
    on_chunk: ChunkCallback,
    user_data: *mut c_void,
    out_meta: *mut *mut ChatResult,
) -> Status {
    landing_pad_llm(|| {
        if !out_meta.is_null() {
            // SAFETY: writable per the contract.
            unsafe { out_meta.write(std::ptr::null_mut()) };
        }
        // SAFETY: forwarded contract.
        let llm = unsafe { handle(llm, "llm") }?;
        let request = unsafe { request_arg(request_json) }?;
        let call = if options_json.is_null() {
            CallOptions::default()
        } else {
            // SAFETY: forwarded contract.
            let v = parse_json(unsafe { str_arg(options_json, "options_json") }?, "options_json")?;
            CallSpec::from_value(v)?.options()?
        };
        let on_chunk = on_chunk.ok_or_else(|| Error::invalid_argument("on_chunk is NULL"))?;
        let mut stream = llm.inner.chat_stream_with(&request, call).map_err(chat_failure)?;
        let outcome = deliver(&mut stream, |chunk| {
            // SAFETY: the callback is safe to call with `user_data` per the contract; the chunk
            // outlives the call.
            unsafe { on_chunk(chunk.as_ptr(), user_data) }
        });
        let p = stream.progress();
        let (chunks, incomplete, restarts) = (p.chunks, p.incomplete, p.restarts);
        let meta =
            ChatResult { chunks, incomplete, restarts, ..ChatResult::new(None, p.served_by, p.attempts) };
        let failure_attempts = outcome.is_err().then(|| attempts_to_json(&meta.attempts));
        drop(stream); // closes the connection of a stream stopped early
        if !out_meta.is_null() {
            // SAFETY: writable per the contract.
            unsafe { out_meta.write(meta.into_raw()) };
        }
        outcome.map_err(|error| Failure { error, attempts: failure_attempts })
    })
}

/// Hands each chunk of `stream` to `on_chunk` until `[DONE]`, an error (returned), or `on_chunk`
/// returning false.
/// A restart comes as an event before the new attempt's first chunk.
fn deliver(stream: &mut ChatStream, mut on_chunk: impl FnMut(&CString) -> bool) -> Result<(), Error> {
    while let Some(item) = stream.next() {
        let item = item?;
        if stream.is_restart() {
            let event =
                serde_json::json!({"object": "failsoft.stream.restart", "restarts": stream.restarts()});
            if !on_chunk(&lossy_cstring(event.to_string())) {
                break;
            }
        }
        let chunk = lossy_cstring(item.to_string());
        if !on_chunk(&chunk) {
            break;
        }
    }
    Ok(())
}

/// The attempts of the failed LLM call (`failsoft_llm_chat`, `failsoft_llm_chat_stream`) that set
/// this thread's last error, as a JSON array in the shape of `failsoft_chat_result_attempts_json`;
/// NULL when there is no last error or it did not come from an LLM call (e.g. a NULL argument).
/// `[]` when the call failed before any attempt (a request that is not a JSON object).
///
/// Set and cleared together with the last error: the next failsoft call on this thread that
/// succeeds or fails replaces it.
///
/// Ownership: borrowed. Valid until the next failsoft call on this thread; copy it to keep it.
/// Do not free it. Thread-safety: each thread has its own.
#[no_mangle]
pub extern "C" fn failsoft_llm_last_attempts_json() -> *const c_char {
    last_error_attempts()
}

/// Each target's circuit breaker, in target order, as a JSON array of `"closed"`, `"open"`
/// (skipped until its cooldown ends) or `"half_open"` (the next call probes it).
///
/// Ownership: `*out_json` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Thread-safety: any thread, concurrently with calls.
///
/// # Safety
/// `llm` is NULL or a live client; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_llm_circuit_states_json(
    llm: *const Llm,
    out_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_json, "out_json", std::ptr::null_mut()) }?;
        let llm = unsafe { handle(llm, "llm") }?;
        *out = owned_json(&serde_json::json!(llm.inner.circuit_states()));
        Ok(())
    })
}

/// Frees a chat result. NULL is ignored.
///
/// Ownership: takes the result; the borrowed strings it handed out become invalid.
/// Thread-safety: no other thread may use the result during or after this call.
///
/// # Safety
/// `result` is NULL or a result from this library not freed yet.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_free(result: *mut ChatResult) {
    if !result.is_null() {
        // SAFETY: the pointer came from `ChatResult::into_raw` per the caller's contract.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(result) })));
    }
}

/// The completion as compact JSON text, exactly as the target sent it
/// (`{"id": …, "object": "chat.completion", "choices": [{"message": {"content": …}}], …}`).
///
/// NULL for a stream's metadata (the last error is left alone), and when `result` is NULL (the
/// last error is then `FAILSOFT_INVALID_ARGUMENT`). Ownership: borrowed from the result, valid
/// until `failsoft_chat_result_free(result)`; do not free it. Made on the first call and kept.
/// Thread-safety: any thread, concurrently.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_json(result: *const ChatResult) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let r = unsafe { handle(result, "result") }?;
        Ok(match &r.completion {
            Some(c) => r.json.get_or_init(|| lossy_cstring(c.to_string())).as_ptr(),
            None => std::ptr::null(),
        })
    })
}

/// Whether a target other than the primary served the call (`served_by_index > 0`).
///
/// false when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_is_fallback(result: *const ChatResult) -> bool {
    // SAFETY: forwarded contract.
    landing_pad_or(false, || Ok(unsafe { handle(result, "result") }?.is_fallback))
}

/// The index in the options' `targets` of the target that served the call (0 = primary).
///
/// -1 when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_served_by_index(result: *const ChatResult) -> i64 {
    landing_pad_or(-1, || {
        // SAFETY: forwarded contract.
        Ok(i64::try_from(unsafe { handle(result, "result") }?.served_by.index).unwrap_or(i64::MAX))
    })
}

/// The model sent to the target that served the call: the target's `model`, else the request's
/// (never read from the response). NULL when neither had one.
///
/// NULL too when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: borrowed from the result, valid until `failsoft_chat_result_free(result)`.
/// Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_served_by_model(result: *const ChatResult) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        Ok(unsafe { handle(result, "result") }?.model.as_ref().map_or(std::ptr::null(), |m| m.as_ptr()))
    })
}

/// The base URL of the target that served the call, without credentials or query string.
///
/// NULL when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: borrowed from the result, valid until `failsoft_chat_result_free(result)`.
/// Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_served_by_base_url(result: *const ChatResult) -> *const c_char {
    // SAFETY: forwarded contract.
    landing_pad_or(std::ptr::null(), || Ok(unsafe { handle(result, "result") }?.base_url.as_ptr()))
}

/// Every attempt of the call, in order, the successful one last, as a JSON array of
/// `{"target": 0, "model": "m" | null, "error_kind": "Unavailable" | null, "status": 503 | null,
/// "elapsed_ms": 12.5, "skipped": false, "message": "…" | null}`. `error_kind` is the core's
/// kind name (`NotFound`, `Unauthorized`, `Timeout`, `Unavailable`, `InvalidResponse`,
/// `InvalidArgument`), null for the successful attempt; `skipped` is true (and `elapsed_ms` 0)
/// for a target whose circuit breaker was open, so no request was made. Messages hold no secret.
///
/// NULL when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
/// Ownership: borrowed from the result, valid until `failsoft_chat_result_free(result)`. Made on
/// the first call and kept. Thread-safety: any thread, concurrently.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_attempts_json(result: *const ChatResult) -> *const c_char {
    landing_pad_or(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        let r = unsafe { handle(result, "result") }?;
        Ok(r.attempts_json.get_or_init(|| lossy_cstring(attempts_to_json(&r.attempts).to_string())).as_ptr())
    })
}

/// For a stream's metadata: the chunks delivered to the callback. 0 for `failsoft_llm_chat`'s
/// result and when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
///
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_chunks(result: *const ChatResult) -> u64 {
    // SAFETY: forwarded contract.
    landing_pad_or(0, || Ok(unsafe { handle(result, "result") }?.chunks))
}

/// For a stream's metadata: how many times it restarted after a break (`stream_recovery`
/// `restart`); 0 otherwise and when `result` is NULL.
///
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_restarts(result: *const ChatResult) -> u32 {
    // SAFETY: forwarded contract.
    landing_pad_or(0, || Ok(unsafe { handle(result, "result") }?.restarts))
}

/// For a stream's metadata: true when the stream broke before `[DONE]` (the call returned the
/// error); false for a complete stream, one the callback stopped, and `failsoft_llm_chat`'s
/// result. false when `result` is NULL (the last error is then `FAILSOFT_INVALID_ARGUMENT`).
///
/// Ownership: nothing to free. Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_incomplete(result: *const ChatResult) -> bool {
    // SAFETY: forwarded contract.
    landing_pad_or(false, || Ok(unsafe { handle(result, "result") }?.incomplete))
}

/// The whole result as one JSON object: `{"completion": {…} | null, "served_by": {"index",
/// "model", "base_url"}, "is_fallback", "attempts": […], "chunks", "incomplete", "restarts"}`.
///
/// Ownership: `*out_json` is the caller's, freed with `failsoft_string_free`; NULL on failure.
/// Thread-safety: any thread.
///
/// # Safety
/// `result` is NULL or a live result; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn failsoft_chat_result_to_json(
    result: *const ChatResult,
    out_json: *mut *mut c_char,
) -> Status {
    landing_pad(|| {
        // SAFETY: forwarded contract.
        let out = unsafe { out_arg(out_json, "out_json", std::ptr::null_mut()) }?;
        let r = unsafe { handle(result, "result") }?;
        *out = owned_json(&r.to_json());
        Ok(())
    })
}
