//! `NativeLlm`: the core's `LlmClient` (SPEC §8) for the `OpenAI` face of the package. Calls
//! wait on waiter threads (`waiters.rs`), never on the JS thread nor libuv's pool, and settle
//! their Promise through a threadsafe function. A stream is pulled one chunk per `next()`, each
//! read as it arrives.

use crate::convert::{js_error, ErrorInfo};
use crate::waiters;
use failsoft::llm::{
    Attempt, CallOptions, CallSpec, ChatError, ChatStream, CircuitState, LlmClient, LlmSpec, ServedBy,
};
use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;

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

/// The target that answered.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct ServedByInfo {
    /// Its index in the target list (0 = primary).
    pub index: u32,
    /// The model sent to it.
    pub model: Option<String>,
    /// Its base URL, without credentials or query string.
    pub base_url: String,
}

impl From<&ServedBy> for ServedByInfo {
    fn from(s: &ServedBy) -> Self {
        ServedByInfo { index: s.index as u32, model: s.model.clone(), base_url: s.base_url.clone() }
    }
}

/// One attempt (or skipped target) of a call, in order.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct AttemptInfo {
    /// The target's index (0 = primary).
    pub target: u32,
    /// The model sent.
    pub model: Option<String>,
    /// The error's code (`TIMEOUT`, `UNAVAILABLE`, ...); none for the attempt that succeeded.
    pub error_kind: Option<String>,
    /// The HTTP status, when an answer arrived.
    pub status: Option<u32>,
    pub elapsed_ms: f64,
    /// The target's circuit breaker was open: no request was made.
    pub skipped: bool,
    /// What went wrong, without secrets.
    pub message: Option<String>,
    /// Why it failed, as the fallover policy saw it (`context_length`, `timeout`, ...); none for
    /// a success or a skipped target.
    pub error_class: Option<String>,
}

impl From<&Attempt> for AttemptInfo {
    fn from(a: &Attempt) -> Self {
        AttemptInfo {
            target: a.target as u32,
            model: a.model.clone(),
            error_kind: a.error_kind.map(|k| k.code().to_string()),
            status: a.status.map(u32::from),
            elapsed_ms: a.elapsed_ms,
            skipped: a.skipped,
            message: a.message.clone(),
            error_class: a.class.map(|c| c.as_str().to_string()),
        }
    }
}

fn attempts(list: &[Attempt]) -> Vec<AttemptInfo> {
    list.iter().map(AttemptInfo::from).collect()
}

/// The answer of a chat call: the completion and who served it, or the error and every attempt.
#[napi(object)]
pub struct ChatOutcome {
    /// The server's JSON, untouched (none when the call failed).
    pub completion: Option<serde_json::Value>,
    pub served_by: Option<ServedByInfo>,
    pub is_fallback: bool,
    pub attempts: Vec<AttemptInfo>,
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
    pub chunk: Option<serde_json::Value>,
    pub done: bool,
    pub error: Option<ErrorInfo>,
    /// The chunk is the first of a restarted attempt (`streamRecovery: 'restart'`).
    pub restart: bool,
    /// Restarts so far.
    pub restarts: u32,
    /// After a restart or at the end: who serves the stream now, and every attempt.
    pub served_by: Option<ServedByInfo>,
    pub is_fallback: bool,
    pub attempts: Option<Vec<AttemptInfo>>,
}

/// An LLM client over an ordered target list: built from the options JSON every language
/// shares (`LlmSpec`). Its calls share the targets' circuit breakers. Never touches the network
/// when built.
#[napi]
pub struct NativeLlm {
    client: LlmClient,
}

#[napi]
impl NativeLlm {
    /// `options`: `{targets: [{base_url, api_key, model, timeout_seconds}], deadline_seconds,
    /// max_retries, ...}`, exactly the C LLM options JSON.
    #[napi(constructor)]
    pub fn new(options: serde_json::Value) -> Result<Self> {
        crate::logger::init();
        let client = LlmSpec::from_value(options).and_then(|s| s.build()).map_err(|e| js_error(&e))?;
        Ok(NativeLlm { client })
    }

    /// A chat completion (`LlmClient::chat`) on a waiter thread; the Promise settles on the JS
    /// thread with the whole answer, failures included.
    #[napi(ts_return_type = "Promise<ChatOutcome>")]
    pub fn chat<'env>(&self, env: &'env Env, request: serde_json::Value) -> Result<Object<'env>> {
        let (deferred, promise) =
            env.create_deferred::<ChatOutcome, Resolver<ChatOutcome>>().map_err(str_err)?;
        let client = self.client.clone();
        waiters::run(move || {
            let outcome = match client.chat(&request) {
                Ok(r) => ChatOutcome {
                    served_by: Some(ServedByInfo::from(&r.served_by)),
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

    /// A streaming call, not started yet: `open()` starts it. `options`: this call's options
    /// (`{stream_recovery: 'restart'}`), checked by core.
    #[napi]
    pub fn stream(
        &self,
        request: serde_json::Value,
        options: Option<serde_json::Value>,
    ) -> Result<NativeChatStream> {
        let call = match options {
            Some(o) => CallSpec::from_value(o).and_then(|s| s.options()).map_err(|e| js_error(&e))?,
            None => CallOptions::default(),
        };
        Ok(NativeChatStream {
            client: self.client.clone(),
            request: Mutex::new(Some(request)),
            call,
            state: Arc::new(StreamState { stream: Mutex::new(None), closed: AtomicBool::new(false) }),
        })
    }

    /// Each target's circuit breaker state (`closed`, `open`, `half_open`), in target order.
    #[napi]
    pub fn circuit_states(&self) -> Vec<String> {
        self.client
            .circuit_states()
            .iter()
            .map(|s| {
                match s {
                    CircuitState::Closed => "closed",
                    CircuitState::Open => "open",
                    CircuitState::HalfOpen => "half_open",
                }
                .to_string()
            })
            .collect()
    }
}

impl StreamStep {
    fn chunk(chunk: serde_json::Value) -> Self {
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
        StreamStep { chunk: None, done: true, error, ..StreamStep::chunk(serde_json::Value::Null) }
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
    request: Mutex<Option<serde_json::Value>>,
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
                        served_by: Some(ServedByInfo::from(s.served_by())),
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
                        step.served_by = Some(ServedByInfo::from(s.served_by()));
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
