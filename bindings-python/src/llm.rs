//! `failsoft._native._Front` and `failsoft.Stream`: core's OpenAI-shaped LLM front
//! (`failsoft::llm::Front`, SPEC §8) for `failsoft.OpenAI` (python/failsoft/_llm.py). Arguments
//! in as JSON, core's serde values out; every decision (defaults, checks, fallbacks, pooling) is
//! core's. Every call waits with the GIL released, a stream between its chunks too.

use crate::client::lock;
use crate::convert::{from_py, to_plain};
use crate::errors::{error_object, to_pyerr};
use failsoft::llm::{
    Api, Attempt, CallOptions, ChatError, ChatStream, Front, LlmClient, ServedBy, StreamProgress,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{json, Value as Json};
use std::sync::Mutex;

/// `failsoft._llm.ServedBy`, `Attempt` and `ChatCompletionChunk`.
struct Classes {
    served_by: Py<PyAny>,
    attempt: Py<PyAny>,
    chunk: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("failsoft._llm")?;
        let class = |name: &str| m.getattr(name).map(Bound::unbind);
        Ok(Classes {
            served_by: class("ServedBy")?,
            attempt: class("Attempt")?,
            chunk: class("ChatCompletionChunk")?,
        })
    })
}

/// `cls(**core's serde form of value)`; `class` is spelled `error_class` in Python.
fn instance<'py>(py: Python<'py>, cls: &Py<PyAny>, json: Json) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = to_plain(py, &json)?.cast_into::<PyDict>()?;
    if let Some(class) = kwargs.get_item("class")? {
        kwargs.del_item("class")?;
        kwargs.set_item("error_class", class)?;
    }
    cls.bind(py).call((), Some(&kwargs))
}

fn served_by<'py>(py: Python<'py>, s: &ServedBy) -> PyResult<Bound<'py, PyAny>> {
    instance(py, &classes(py)?.served_by, json!(s))
}

fn attempts<'py>(py: Python<'py>, list: &[Attempt]) -> PyResult<Bound<'py, PyList>> {
    let cls = &classes(py)?.attempt;
    PyList::new(py, list.iter().map(|a| instance(py, cls, json!(a))).collect::<PyResult<Vec<_>>>()?)
}

/// The exception of an LLM call: the error's class, with `.attempts` (every attempt so far).
fn llm_error(py: Python<'_>, e: &failsoft::Error, list: &[Attempt]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let obj = error_object(py, e)?;
        obj.setattr("attempts", attempts(py, list)?)?;
        Ok(PyErr::from_value(obj))
    };
    build().unwrap_or_else(|failed| failed)
}

/// The exception of a call no target answered: the last error's class, with every attempt.
fn chat_error(py: Python<'_>, e: ChatError) -> PyErr {
    llm_error(py, &e.error, &e.attempts)
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
    /// The core client and options of a call given its options (`None`: none).
    fn call(&self, py: Python<'_>, call: Option<&Bound<'_, PyAny>>) -> PyResult<(LlmClient, CallOptions)> {
        let call = call.map(|c| from_py(c, "call options")).transpose()?;
        self.core.call(call.unwrap_or(Json::Null)).map_err(|e| to_pyerr(py, &e))
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
        let request = from_py(request, "request")?;
        let r = py.detach(|| client.chat(&request)).map_err(|e| chat_error(py, e))?;
        let (by, list) = (served_by(py, &r.served_by)?, attempts(py, &r.attempts)?);
        Ok((to_plain(py, &r.completion)?, by, r.is_fallback, list))
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
        let request = from_py(request, "request")?;
        let stream = py.detach(|| client.chat_stream_with(&request, call)).map_err(|e| chat_error(py, e))?;
        let progress = Progress { now: stream.progress(), generation: 0, shown: None };
        Ok(PyChatStream { progress: Mutex::new(progress), stream: Mutex::new(Some(stream)) })
    }
}

/// A streaming completion that already received its first chunk (the last point where it
/// could fall over). Iterate it for each ``ChatCompletionChunk``, read from the connection as it
/// arrives (the GIL is released while waiting). It ends after the server's ``[DONE]``; a stream
/// that breaks, stalls or passes the deadline before that raises ``failsoft.Unavailable``,
/// ``Timeout`` or ``InvalidResponse`` whose message says it is incomplete (and ``incomplete``
/// turns true). It is also complete when the server closes it after the finish reason without
/// ``[DONE]``; malformed events are skipped. With ``stream_recovery="restart"`` a break sends
/// the request again instead (the same target while its retries last, then the fallbacks): the
/// next chunk has ``is_restart`` true and ``restarts`` counts them. Leaving the loop early:
/// ``close()`` it, or use it in a ``with`` block.
#[pyclass(frozen, weakref, module = "failsoft", name = "Stream")]
pub struct PyChatStream {
    /// `None` once ended or closed. Locked without the GIL (a second reader waits its turn).
    stream: Mutex<Option<ChatStream>>,
    /// Stored by each step while it holds `stream`, so that a getter never waits for a read in
    /// progress and an older step never overwrites a newer one. No Python code runs under it.
    progress: Mutex<Progress>,
}

/// Core's snapshot after the last step, and the Python `served_by` and `attempts` made from it
/// (kept while those are unchanged: the same objects on every read).
struct Progress {
    now: StreamProgress,
    /// Bumped when a step changes `served_by` or `attempts`.
    generation: u64,
    shown: Option<(u64, Py<PyAny>, Py<PyList>)>,
}

impl PyChatStream {
    /// `served_by` and `attempts` as Python objects, built once per change.
    fn shown<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
        let (generation, by, list) = {
            let p = lock(&self.progress);
            if let Some((_, by, list)) = p.shown.as_ref().filter(|s| s.0 == p.generation) {
                return Ok((by.bind(py).clone(), list.bind(py).clone()));
            }
            (p.generation, p.now.served_by.clone(), p.now.attempts.clone())
        };
        let (by, list) = (served_by(py, &by)?, attempts(py, &list)?);
        let kept = (generation, by.clone().unbind(), list.clone().unbind());
        let mut p = lock(&self.progress);
        // Kept unless a step changed them meanwhile; what it replaces is released after the lock
        // (a release may run Python code).
        let _old = (p.generation == generation).then(|| p.shown.replace(kept));
        drop(p);
        Ok((by, list))
    }
}

#[pymethods]
impl PyChatStream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next chunk; the end at the server's ``[DONE]`` or once closed.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let step = py.detach(|| {
            let mut guard = lock(&self.stream);
            let stream = guard.as_mut()?;
            let (item, now) = (stream.next(), stream.progress());
            let error_attempts = matches!(item, Some(Err(_))).then(|| now.attempts.clone());
            let is_restart = now.is_restart;
            let mut p = lock(&self.progress);
            p.generation += u64::from(now.served_by != p.now.served_by || now.attempts != p.now.attempts);
            p.now = now;
            drop(p); // before the release below, which may wait: a getter never waits for it
            if !matches!(item, Some(Ok(_))) {
                *guard = None; // ended (complete or not): released now, not at close() or GC
            }
            Some((item, is_restart, error_attempts))
        });
        let Some((item, is_restart, error_attempts)) = step else { return Ok(None) };
        let chunk = item.transpose().map_err(|e| llm_error(py, &e, &error_attempts.unwrap_or_default()));
        let Some(chunk) = chunk? else { return Ok(None) };
        classes(py)?.chunk.bind(py).call1((to_plain(py, &chunk)?, is_restart)).map(Some)
    }

    /// Closes the connection; idempotent, never waits for the server.
    fn close(&self, py: Python<'_>) {
        let taken = py.detach(|| lock(&self.stream).take());
        drop(taken);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let shown = (self.shown(py)?.0, self.done(), self.incomplete());
        let text = PyString::new(py, "Stream(served_by={!r}, done={!r}, incomplete={!r})");
        text.call_method1("format", shown)?.extract()
    }

    /// Whether a target other than the primary is streaming.
    #[getter]
    fn is_fallback(&self) -> bool {
        lock(&self.progress).now.is_fallback
    }

    /// The target streaming now (after a restart, the one that took over).
    #[getter]
    fn served_by<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.shown(py)?.0)
    }

    /// Every attempt of the call so far, broken streams included, the streaming one last.
    #[getter]
    fn attempts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = self.shown(py)?.1;
        Ok(list.get_slice(0, list.len())) // a copy: the kept list is not the caller's to change
    }

    /// How many times the stream restarted after a break.
    #[getter]
    fn restarts(&self) -> u32 {
        lock(&self.progress).now.restarts
    }

    /// True once the stream ended with an error before the server's end.
    #[getter]
    fn incomplete(&self) -> bool {
        lock(&self.progress).now.incomplete
    }

    /// True once the stream ended complete (``[DONE]``, or a close after the finish reason).
    #[getter]
    fn done(&self) -> bool {
        lock(&self.progress).now.done
    }
}
