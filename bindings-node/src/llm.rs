//! `NativeFront`: core's OpenAI-shaped LLM front (`failsoft::llm::Front`, SPEC §8) for the
//! `OpenAI` face of the package (ts/llm.ts). Options and calls come in as core's JSON; who served
//! a call and its attempts go out as core's serde form (a stream's as its `StreamProgress`; the
//! error kind as Node's code). Calls wait on waiter threads (`waiters.rs`), never on the JS
//! thread nor libuv's pool, and settle their Promise through a threadsafe function. A stream is
//! pulled one chunk per `next()`.

use crate::convert::{js_error, lock, ErrorInfo};
use crate::waiters;
use failsoft::llm::{Api, Attempt, CallOptions, ChatError, ChatStream, Front, LlmClient};
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Result<T, E = napi::Error<String>> = std::result::Result<T, E>;

/// Core's serde form of a call's report (`{served_by, is_fallback}` of a `ChatResult`, a
/// `StreamProgress`, or nothing), with `attempts` in core's serde form too, the error kind
/// spelled as Node's code (`TIMEOUT`).
fn report(mut v: Value, list: &[Attempt]) -> Value {
    let with_code = |a: &Attempt| {
        let mut v = json!(a);
        v["error_kind"] = json!(a.error_kind.map(|k| k.code()));
        v
    };
    v["attempts"] = list.iter().map(with_code).collect();
    v
}

/// A Promise settled on the JS thread with what `job` returns on a waiter thread.
fn promise<'env, T: ToNapiValue + Send + 'static>(
    env: &'env Env,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<Object<'env>> {
    waiters::promise(env, job, Ok)
}

/// An API with core's defaults applied (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
#[napi(object)]
pub struct ApiInfo {
    pub base_url: String,
    pub api_key: Option<String>,
}

impl From<&Api> for ApiInfo {
    fn from(a: &Api) -> Self {
        ApiInfo { base_url: a.base_url.clone(), api_key: a.api_key.clone() }
    }
}

/// `{base_url, api_key, timeout}` checked, with core's defaults (`OpenAICompatibleClient`).
#[napi]
pub fn llm_api(options: Value) -> Result<ApiInfo> {
    Api::from_value("", options).map(|a| ApiInfo::from(&a)).map_err(|e| js_error(&e))
}

/// The answer of a chat call, or of opening a stream: the completion (none for a stream) and
/// who served it, or the error.
#[napi(object)]
pub struct ChatOutcome {
    /// The server's JSON, untouched (none when the call failed, and for a stream).
    pub completion: Option<Value>,
    pub error: Option<ErrorInfo>,
    /// Core's `{served_by, is_fallback, attempts}` (a stream's whole `StreamProgress`); only
    /// `{attempts}` when no target answered.
    pub report: Value,
}

impl From<ChatError> for ChatOutcome {
    /// No target answered: the error and every attempt.
    fn from(e: ChatError) -> Self {
        ChatOutcome {
            completion: None,
            error: Some(ErrorInfo::from(&e.error)),
            report: report(json!({}), &e.attempts),
        }
    }
}

/// One step of a stream: a chunk, the end (neither a chunk nor an error), or the error that
/// ended it (incomplete).
#[napi(object)]
pub struct StreamStep {
    pub chunk: Option<Value>,
    pub error: Option<ErrorInfo>,
    /// Core's `StreamProgress` after a step that restarted or ended the stream; none between
    /// (nothing changed) and once it was closed.
    pub progress: Option<Value>,
}

/// One `OpenAI` client: core's front, whose pool shares each target list's circuit breakers
/// between its calls. Never touches the network when built.
#[napi]
pub struct NativeFront {
    front: Front,
}

impl NativeFront {
    fn client(&self, call: Option<Value>) -> Result<(LlmClient, CallOptions)> {
        self.front.call(call.unwrap_or(Value::Null)).map_err(|e| js_error(&e))
    }
}

#[napi]
impl NativeFront {
    /// `options`: the front's options in core's names (`base_url`, `api_key`, `timeout`,
    /// `fallback_client`, ... in seconds); every one checked now.
    #[napi(constructor)]
    pub fn new(options: Value) -> Result<Self> {
        crate::logger::init();
        Ok(NativeFront { front: Front::from_value(options).map_err(|e| js_error(&e))? })
    }

    /// The primary API, defaults applied.
    #[napi]
    pub fn primary(&self) -> ApiInfo {
        ApiInfo::from(self.front.primary())
    }

    /// A chat completion on a waiter thread; the Promise settles on the JS thread with the whole
    /// answer, failures included. `call`: `{fallback, openpipe, timeout, max_retries}`.
    #[napi(ts_return_type = "Promise<ChatOutcome>")]
    pub fn chat<'env>(&self, env: &'env Env, request: Value, call: Option<Value>) -> Result<Object<'env>> {
        let (client, _) = self.client(call)?;
        promise(env, move || match client.chat(&request) {
            Ok(r) => ChatOutcome {
                report: report(json!({"served_by": r.served_by, "is_fallback": r.is_fallback}), &r.attempts),
                completion: Some(r.completion),
                error: None,
            },
            Err(e) => ChatOutcome::from(e),
        })
    }

    /// A streaming call, not started yet: `open(request)` starts it. `call` as for `chat`, plus
    /// `stream_recovery`.
    #[napi]
    pub fn stream(&self, call: Option<Value>) -> Result<NativeChatStream> {
        let (client, call) = self.client(call)?;
        let state = StreamState { stream: Mutex::new(None), closed: AtomicBool::new(false) };
        Ok(NativeChatStream { client, call, state: Arc::new(state) })
    }
}

struct StreamState {
    stream: Mutex<Option<ChatStream>>,
    closed: AtomicBool,
}

/// A streaming chat completion: `open(request)` falls over up to the first chunk, then `next()` reads
/// one chunk at a time, as it arrives.
#[napi]
pub struct NativeChatStream {
    client: LlmClient,
    call: CallOptions,
    state: Arc<StreamState>,
}

#[napi]
impl NativeChatStream {
    /// `LlmClient::chat_stream` on a waiter thread: settles once the first chunk arrived (its
    /// `report` the stream's progress) or every target failed (`error`; `report`'s attempts).
    #[napi(ts_return_type = "Promise<ChatOutcome>")]
    pub fn open<'env>(&self, env: &'env Env, request: Value) -> Result<Object<'env>> {
        let client = self.client.clone();
        let state = self.state.clone();
        let call = self.call;
        promise(env, move || match client.chat_stream_with(&request, call) {
            Ok(s) => {
                let progress = s.progress();
                if !state.closed.load(Ordering::SeqCst) {
                    *lock(&state.stream) = Some(s);
                }
                ChatOutcome {
                    completion: None,
                    error: None,
                    report: report(json!(progress), &progress.attempts),
                }
            }
            Err(e) => ChatOutcome::from(e),
        })
    }

    /// The next chunk, read on a waiter thread (one `next()` at a time).
    #[napi(ts_return_type = "Promise<StreamStep>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let state = self.state.clone();
        promise(env, move || {
            let mut guard = lock(&state.stream);
            let (step, ended) = match guard.as_mut().filter(|_| !state.closed.load(Ordering::SeqCst)) {
                None => (StreamStep { chunk: None, error: None, progress: None }, true),
                Some(s) => {
                    let restarts = s.restarts();
                    let (chunk, error) = match s.next() {
                        Some(Ok(chunk)) => (Some(chunk), None),
                        Some(Err(e)) => (None, Some(ErrorInfo::from(&e))),
                        None => (None, None),
                    };
                    let ended = chunk.is_none();
                    // Who streams and the attempts change only at a restart or the end: between
                    // them nothing is sent, so the JS side keeps the same `servedBy` object.
                    let p = (ended || s.restarts() != restarts).then(|| s.progress());
                    let progress = p.map(|p| report(json!(p), &p.attempts));
                    (StreamStep { chunk, error, progress }, ended)
                }
            };
            if ended || state.closed.load(Ordering::SeqCst) {
                // Ended, broken or closed while reading: the connection, the request body and
                // the client's clone go now, not at close() or garbage collection.
                *guard = None;
            }
            step
        })
    }

    /// Closes the connection (now, or when a `next()` in progress returns). Idempotent; never
    /// waits.
    #[napi]
    pub fn close(&self) {
        self.state.closed.store(true, Ordering::SeqCst);
        if let Ok(mut guard) = self.state.stream.try_lock() {
            guard.take();
        }
    }
}
