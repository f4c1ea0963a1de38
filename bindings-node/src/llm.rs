//! `NativeFront`: core's OpenAI-shaped LLM front (`failsoft::llm::Front`, SPEC §8) for the
//! `OpenAI` face of the package (ts/llm.ts). Options and calls come in as core's JSON; attempts
//! and `served_by` go out as core's serde form (the error kind as Node's code). Calls wait on
//! waiter threads (`waiters.rs`), never on the JS thread nor libuv's pool, and settle their
//! Promise through a threadsafe function. A stream is pulled one chunk per `next()`.

use crate::convert::{js_error, ErrorInfo};
use crate::waiters;
use failsoft::llm::{Api, Attempt, CallOptions, ChatError, ChatStream, Front, FrontCall, LlmClient};
use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

type Result<T, E = napi::Error<String>> = std::result::Result<T, E>;
type Resolver<T> = Box<dyn FnOnce(Env) -> napi::Result<T> + Send>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn str_err(e: napi::Error) -> napi::Error<String> {
    napi::Error::new(e.status.as_ref().to_string(), e.reason.clone())
}

/// Core's serde form of the attempts, the error kind spelled as Node's code (`TIMEOUT`).
fn attempts(list: &[Attempt]) -> Vec<Value> {
    let with_code = |a: &Attempt| {
        let mut v = json!(a);
        v["error_kind"] = json!(a.error_kind.map(|k| k.code()));
        v
    };
    list.iter().map(with_code).collect()
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

/// The answer of a chat call: the completion and who served it, or the error and every attempt.
#[napi(object)]
pub struct ChatOutcome {
    /// The server's JSON, untouched (none when the call failed).
    pub completion: Option<Value>,
    /// Core's `ServedBy`: `{index, model, base_url}`.
    pub served_by: Option<Value>,
    pub is_fallback: bool,
    pub attempts: Vec<Value>,
    pub error: Option<ErrorInfo>,
}

impl ChatOutcome {
    fn failed(e: &ChatError) -> Self {
        ChatOutcome {
            completion: None,
            served_by: None,
            is_fallback: false,
            attempts: attempts(&e.attempts),
            error: Some(ErrorInfo::from(&e.error)),
        }
    }
}

/// One step of a stream: a chunk, the end (`done`), or the error that ended it (incomplete).
#[napi(object)]
pub struct StreamStep {
    pub chunk: Option<Value>,
    pub done: bool,
    pub error: Option<ErrorInfo>,
    /// The chunk is the first of a restarted attempt (`streamRecovery: 'restart'`).
    pub restart: bool,
    /// Restarts so far.
    pub restarts: u32,
    /// After a restart or at the end: who serves the stream now, and every attempt.
    pub served_by: Option<Value>,
    pub is_fallback: bool,
    pub attempts: Option<Vec<Value>>,
}

/// One `OpenAI` client: core's front, whose pool shares each target list's circuit breakers
/// between its calls. Never touches the network when built.
#[napi]
pub struct NativeFront {
    front: Front,
}

impl NativeFront {
    fn client(&self, call: Option<Value>) -> Result<(LlmClient, CallOptions)> {
        let call = FrontCall::from_value(call.unwrap_or(Value::Null)).map_err(|e| js_error(&e))?;
        let client = self.front.client(&call).map_err(|e| js_error(&e))?;
        Ok((client, call.options()))
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
        let (deferred, promise) =
            env.create_deferred::<ChatOutcome, Resolver<ChatOutcome>>().map_err(str_err)?;
        waiters::run(move || {
            let outcome = match client.chat(&request) {
                Ok(r) => ChatOutcome {
                    served_by: Some(json!(r.served_by)),
                    is_fallback: r.is_fallback,
                    attempts: attempts(&r.attempts),
                    completion: Some(r.completion),
                    error: None,
                },
                Err(e) => ChatOutcome::failed(&e),
            };
            deferred.resolve(Box::new(move |_| Ok(outcome)));
        });
        Ok(promise)
    }

    /// A streaming call, not started yet: `open()` starts it. `call` as for `chat`, plus
    /// `stream_recovery`.
    #[napi]
    pub fn stream(&self, request: Value, call: Option<Value>) -> Result<NativeChatStream> {
        let (client, call) = self.client(call)?;
        Ok(NativeChatStream {
            client,
            request: Mutex::new(Some(request)),
            call,
            state: Arc::new(StreamState { stream: Mutex::new(None), closed: AtomicBool::new(false) }),
        })
    }
}

impl StreamStep {
    fn chunk(chunk: Value) -> Self {
        StreamStep {
            chunk: Some(chunk),
            done: false,
            error: None,
            restart: false,
            restarts: 0,
            served_by: None,
            is_fallback: false,
            attempts: None,
        }
    }

    fn end(error: Option<ErrorInfo>) -> Self {
        StreamStep { chunk: None, done: true, error, ..StreamStep::chunk(Value::Null) }
    }
}

struct StreamState {
    stream: Mutex<Option<ChatStream>>,
    closed: AtomicBool,
}

/// A streaming chat completion: `open()` falls over up to the first chunk, then `next()` reads
/// one chunk at a time, as it arrives.
#[napi]
pub struct NativeChatStream {
    client: LlmClient,
    request: Mutex<Option<Value>>,
    call: CallOptions,
    state: Arc<StreamState>,
}

#[napi]
impl NativeChatStream {
    /// `LlmClient::chat_stream` on a waiter thread: settles once the first chunk arrived (with
    /// who serves it; `completion` is none) or every target failed (`error`, `attempts`).
    #[napi(ts_return_type = "Promise<ChatOutcome>")]
    pub fn open<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let Some(request) = lock(&self.request).take() else {
            return Err(napi::Error::new(
                "INVALID_ARGUMENT".to_string(),
                "the stream was already opened".to_string(),
            ));
        };
        let (deferred, promise) =
            env.create_deferred::<ChatOutcome, Resolver<ChatOutcome>>().map_err(str_err)?;
        let client = self.client.clone();
        let state = self.state.clone();
        let call = self.call;
        waiters::run(move || {
            let outcome = match client.chat_stream_with(&request, call) {
                Ok(s) => {
                    let outcome = ChatOutcome {
                        completion: None,
                        served_by: Some(json!(s.served_by())),
                        is_fallback: s.is_fallback(),
                        attempts: attempts(s.attempts()),
                        error: None,
                    };
                    if !state.closed.load(Ordering::SeqCst) {
                        *lock(&state.stream) = Some(s);
                    }
                    outcome
                }
                Err(e) => ChatOutcome::failed(&e),
            };
            deferred.resolve(Box::new(move |_| Ok(outcome)));
        });
        Ok(promise)
    }

    /// The next chunk, read on a waiter thread (one `next()` at a time).
    #[napi(ts_return_type = "Promise<StreamStep>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) =
            env.create_deferred::<StreamStep, Resolver<StreamStep>>().map_err(str_err)?;
        let state = self.state.clone();
        waiters::run(move || {
            let step = {
                let mut guard = lock(&state.stream);
                let stream = if state.closed.load(Ordering::SeqCst) { None } else { guard.as_mut() };
                let before = stream.as_ref().map_or(0, |s| s.restarts());
                let (item, stream) = match stream {
                    Some(s) => (s.next(), Some(s)),
                    None => (None, None),
                };
                let mut step = match item {
                    Some(Ok(chunk)) => StreamStep::chunk(chunk),
                    Some(Err(e)) => StreamStep::end(Some(ErrorInfo::from(&e))),
                    None => StreamStep::end(None),
                };
                if let Some(s) = stream {
                    step.restart = s.is_restart();
                    step.restarts = s.restarts();
                    if step.done || s.restarts() != before {
                        step.served_by = Some(json!(s.served_by()));
                        step.is_fallback = s.is_fallback();
                        step.attempts = Some(attempts(s.attempts()));
                    }
                }
                if step.done || state.closed.load(Ordering::SeqCst) {
                    *guard = None; // closes the connection
                }
                step
            };
            deferred.resolve(Box::new(move |_| Ok(step)));
        });
        Ok(promise)
    }

    /// Closes the connection (now, or when a `next()` in progress returns). Idempotent; never
    /// waits.
    #[napi]
    pub fn close(&self) {
        self.state.closed.store(true, Ordering::SeqCst);
        lock(&self.request).take();
        if let Ok(mut guard) = self.state.stream.try_lock() {
            guard.take();
        }
    }
}
