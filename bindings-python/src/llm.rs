//! `failsoft._native._Front` and `_ChatStream`: core's OpenAI-shaped LLM front
//! (`failsoft::llm::Front`, SPEC §8) for `failsoft.OpenAI` (python/failsoft/_llm.py). Arguments
//! in as JSON, core's serde values out; every decision (defaults, checks, fallbacks, pooling) is
//! core's. Every call waits with the GIL released, a stream between its chunks too.

use crate::convert::{from_py, to_plain};
use crate::errors::{error_object, to_pyerr};
use failsoft::llm::{Api, Attempt, ChatError, ChatStream, Front, FrontCall, ServedBy};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use serde_json::Value as Json;
use std::sync::{Mutex, MutexGuard};

/// `failsoft._llm.ServedBy` and `failsoft._llm.Attempt`.
struct Classes {
    served_by: Py<PyAny>,
    attempt: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("failsoft._llm")?;
        Ok(Classes { served_by: m.getattr("ServedBy")?.unbind(), attempt: m.getattr("Attempt")?.unbind() })
    })
}

/// `cls(**core's serde form of value)`; `class` is spelled `error_class` in Python.
fn instance<'py>(
    py: Python<'py>,
    cls: &Py<PyAny>,
    json: serde_json::Result<Json>,
) -> PyResult<Bound<'py, PyAny>> {
    let json = json.map_err(|e| crate::errors::invalid_argument(e.to_string()))?;
    let kwargs = to_plain(py, &json)?.cast_into::<PyDict>()?;
    if let Some(class) = kwargs.get_item("class")? {
        kwargs.del_item("class")?;
        kwargs.set_item("error_class", class)?;
    }
    cls.bind(py).call((), Some(&kwargs))
}

fn served_by<'py>(py: Python<'py>, s: &ServedBy) -> PyResult<Bound<'py, PyAny>> {
    instance(py, &classes(py)?.served_by, serde_json::to_value(s))
}

fn attempts<'py>(py: Python<'py>, list: &[Attempt]) -> PyResult<Bound<'py, PyList>> {
    let cls = &classes(py)?.attempt;
    PyList::new(
        py,
        list.iter().map(|a| instance(py, cls, serde_json::to_value(a))).collect::<PyResult<Vec<_>>>()?,
    )
}

/// The exception of a call no target answered: the last error's class, with `.attempts`.
fn chat_error(py: Python<'_>, e: &ChatError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let obj = error_object(py, &e.error)?;
        obj.setattr("attempts", attempts(py, &e.attempts)?)?;
        Ok(PyErr::from_value(obj))
    };
    build().unwrap_or_else(|failed| failed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The request as JSON: a dict (`model`, `messages` and every other field, sent untouched).
fn request_json(request: &Bound<'_, PyAny>) -> PyResult<Json> {
    if !request.is_instance_of::<PyDict>() {
        return Err(crate::errors::invalid_argument("the chat request must be a dict"));
    }
    from_py(request, "request")
}

/// `(base_url, api_key, timeout)` of an API: `base_url`, `api_key`, `timeout` with core's defaults
/// (`OPENAI_BASE_URL`, `OPENAI_API_KEY`), checked (`OpenAICompatibleClient`).
#[pyfunction]
pub fn _llm_api(
    py: Python<'_>,
    options: &Bound<'_, PyAny>,
) -> PyResult<(String, Option<String>, Option<f64>)> {
    let api = Api::from_value("", from_py(options, "options")?).map_err(|e| to_pyerr(py, &e))?;
    Ok((api.base_url, api.api_key, api.timeout))
}

/// What `chat` returns: `(completion, served_by, is_fallback, attempts)`.
type ChatOutcome<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, bool, Bound<'py, PyList>);

/// One OpenAI-shaped client: its calls share the breakers of each target list (core's pool).
#[pyclass(frozen, module = "failsoft._native", name = "_Front")]
pub struct PyFront {
    core: Front,
}

impl PyFront {
    fn call(
        &self,
        py: Python<'_>,
        call: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(failsoft::llm::LlmClient, FrontCall)> {
        let call = match call {
            Some(c) => FrontCall::from_value(from_py(c, "call options")?),
            None => Ok(FrontCall::default()),
        };
        call.and_then(|c| Ok((self.core.client(&c)?, c))).map_err(|e| to_pyerr(py, &e))
    }
}

#[pymethods]
impl PyFront {
    /// `options`: the front's options JSON as a dict (`failsoft::llm::Front`: `base_url`,
    /// `api_key`, `timeout`, `fallback_client`, `openpipe` and the shared LLM options). No I/O.
    #[new]
    fn new(py: Python<'_>, options: &Bound<'_, PyAny>) -> PyResult<Self> {
        let core = Front::from_value(from_py(options, "options")?).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyFront { core })
    }

    /// `(base_url, api_key, timeout)` of the primary, defaults applied.
    #[getter]
    fn primary(&self) -> (String, Option<String>, Option<f64>) {
        let a = self.core.primary();
        (a.base_url.clone(), a.api_key.clone(), a.timeout)
    }

    /// Core clients pooled (one per distinct target list).
    fn pooled(&self) -> usize {
        self.core.pooled()
    }

    /// One chat completion, with the GIL released. `call`: this call's options (`fallback`,
    /// `openpipe`, `timeout`). Returns `(completion, served_by, is_fallback, attempts)`; raises
    /// the last error's class, with `.attempts`, when no target answered.
    #[pyo3(signature = (request, call=None))]
    fn chat<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        call: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<ChatOutcome<'py>> {
        let (client, _) = self.call(py, call)?;
        let request = request_json(request)?;
        match py.detach(|| client.chat(&request)) {
            Ok(r) => Ok((
                to_plain(py, &r.completion)?,
                served_by(py, &r.served_by)?,
                r.is_fallback,
                attempts(py, &r.attempts)?,
            )),
            Err(e) => Err(chat_error(py, &e)),
        }
    }

    /// Opens a stream (falling over until a first chunk arrived), with the GIL released.
    #[pyo3(signature = (request, call=None))]
    fn chat_stream(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        call: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyChatStream> {
        let (client, call) = self.call(py, call)?;
        let request = request_json(request)?;
        match py.detach(|| client.chat_stream_with(&request, call.options())) {
            Ok(stream) => Ok(PyChatStream {
                served_by: Mutex::new(served_by(py, stream.served_by())?.unbind()),
                is_fallback: Mutex::new(stream.is_fallback()),
                attempts: Mutex::new(attempts(py, stream.attempts())?.unbind()),
                stream: Mutex::new(Some(stream)),
                state: Mutex::new(StreamState::default()),
            }),
            Err(e) => Err(chat_error(py, &e)),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct StreamState {
    incomplete: bool,
    done: bool,
    chunks: u64,
    restarts: u32,
    is_restart: bool,
}

/// A stream that delivered its first chunk: each `next()` reads the next chunk from the
/// connection (GIL released while it waits). A break before the end raises the error (its
/// message says the stream is incomplete); `close()` (or dropping it) closes the connection.
#[pyclass(frozen, module = "failsoft._native", name = "_ChatStream")]
pub struct PyChatStream {
    /// `None` once ended or closed. Locked without the GIL (a second reader waits its turn).
    stream: Mutex<Option<ChatStream>>,
    state: Mutex<StreamState>,
    /// Replaced after a restart, and once the stream ended (the last attempt's outcome).
    served_by: Mutex<Py<PyAny>>,
    is_fallback: Mutex<bool>,
    attempts: Mutex<Py<PyList>>,
}

#[pymethods]
impl PyChatStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next chunk as a dict; `None` at the end (the server's `[DONE]`) or once closed.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (item, state, changed) = py.detach(|| {
            let mut guard = lock(&self.stream);
            let Some(stream) = guard.as_mut() else { return (None, None, None) };
            let before = stream.restarts();
            let item = stream.next();
            let state = StreamState {
                incomplete: stream.incomplete(),
                done: stream.done(),
                chunks: stream.chunks(),
                restarts: stream.restarts(),
                is_restart: stream.is_restart(),
            };
            let ended = !matches!(item, Some(Ok(_)));
            // After a restart or at the end, who served and the attempts changed.
            let changed = (ended || stream.restarts() != before)
                .then(|| (stream.served_by().clone(), stream.is_fallback(), stream.attempts().to_vec()));
            if ended {
                *guard = None; // ended: the connection is closed now
            }
            (item, Some(state), changed)
        });
        if let Some(s) = state {
            *lock(&self.state) = s;
        }
        if let Some((by, fallback, list)) = changed {
            *lock(&self.served_by) = served_by(py, &by)?.unbind();
            *lock(&self.is_fallback) = fallback;
            *lock(&self.attempts) = attempts(py, &list)?.unbind();
        }
        match item {
            None => Ok(None),
            Some(Ok(chunk)) => to_plain(py, &chunk).map(Some),
            Some(Err(e)) => {
                let err = to_pyerr(py, &e);
                err.value(py).setattr("attempts", self.attempts(py))?;
                Err(err)
            }
        }
    }

    /// Closes the connection; idempotent, never waits for the server.
    fn close(&self, py: Python<'_>) {
        let taken = py.detach(|| lock(&self.stream).take());
        drop(taken);
    }

    #[getter]
    fn served_by(&self, py: Python<'_>) -> Py<PyAny> {
        lock(&self.served_by).clone_ref(py)
    }

    #[getter]
    fn is_fallback(&self) -> bool {
        *lock(&self.is_fallback)
    }

    /// The attempts of the call so far (broken streams included), the streaming one last.
    #[getter]
    fn attempts<'py>(&self, py: Python<'py>) -> Bound<'py, PyList> {
        let list = lock(&self.attempts).clone_ref(py).into_bound(py);
        list.get_slice(0, list.len())
    }

    /// How many times the stream restarted after a break (`stream_recovery="restart"`).
    #[getter]
    fn restarts(&self) -> u32 {
        lock(&self.state).restarts
    }

    /// True when the chunk just returned is the first of a restarted attempt.
    #[getter]
    fn is_restart(&self) -> bool {
        lock(&self.state).is_restart
    }

    /// True once the stream ended with an error before the server's end.
    #[getter]
    fn incomplete(&self) -> bool {
        lock(&self.state).incomplete
    }

    /// True once the stream ended complete (`[DONE]`, or a close after the finish reason).
    #[getter]
    fn done(&self) -> bool {
        lock(&self.state).done
    }

    /// Chunks read so far.
    #[getter]
    fn chunks(&self) -> u64 {
        lock(&self.state).chunks
    }
}
