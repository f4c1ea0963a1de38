//! `failsoft._native.Client`: the core's `failsoft::Client`, built from a `failsoft::ClientSpec`.
//!
//! # The warm path
//!
//! A read of a key that has a cached value stays attached to Python (releasing and re-taking
//! the GIL would cost more than the read, and much more when other threads want the GIL): it asks
//! the core for the cached value without waiting, and returns the Python object converted the
//! last time, as long as the payload (`Arc` identity) is the same. Anything that can wait (a cold
//! read, TTL 0, prefetch, close) runs with the GIL released.

use crate::convert::{from_py, to_frozen, to_plain};
use crate::errors::{prefetch_error, to_pyerr};
use crate::lifecycle::{shutting_down, with_python};
use crate::prompt::{PromptData, PyPrompt};
use crate::value::{PyChange, PyValue};
use failsoft::config::{config_key, get_or_create_config, ConfigOptions};
use failsoft::prompt::{fallback_prompt, prompt_key};
use failsoft::spec::seconds;
use failsoft::{ClientSpec, Error, Fallback, Key, Payload, Prompt, PromptKind, ReadOptions, ValueSource};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::{PyTraverseError, PyVisit};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A `fallback` argument: absent, a value, or a zero-argument callable.
pub enum FallbackArg {
    Missing,
    Given(Py<PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for FallbackArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(FallbackArg::Given(obj.to_owned().unbind()))
    }
}

/// What a read sends to the core: a JSON value, or a Python callable to call only when needed.
enum FallbackSpec {
    None,
    Value(Json),
    Lazy(Py<PyAny>),
}

impl FallbackSpec {
    /// `None` counts as "no fallback" when `none_is_missing` (prompts: a `None` prompt means nothing).
    fn from_arg(py: Python<'_>, arg: FallbackArg, none_is_missing: bool) -> PyResult<FallbackSpec> {
        match arg {
            FallbackArg::Missing => Ok(FallbackSpec::None),
            FallbackArg::Given(obj) => {
                let b = obj.bind(py);
                if b.is_none() && none_is_missing {
                    Ok(FallbackSpec::None)
                } else if b.is_callable() {
                    Ok(FallbackSpec::Lazy(obj))
                } else {
                    Ok(FallbackSpec::Value(from_py(b, "fallback")?))
                }
            }
        }
    }
}

/// Where the Python exception of a fallback function goes while the core unwinds its read.
type Stash = Mutex<Option<PyErr>>;

/// Calls a Python fallback function from a read that released the GIL.
fn call_lazy(f: &Py<PyAny>, stash: &Stash) -> failsoft::Result<Json> {
    Python::attach(|py| {
        let result = f.bind(py).call0().and_then(|v| from_py(&v, "fallback"));
        result.map_err(|e| {
            *lock(stash) = Some(e);
            Error::invalid_argument("the fallback function raised")
        })
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn opt_seconds(name: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|s| seconds(name, s)).transpose().map_err(crate::errors::err)
}

/// The Python object last built for a key, valid while the core hands out the same payload with
/// the same source and error. The `Arc`s keep the compared pointers alive (no ABA).
struct Wrapper {
    payload: Arc<Payload>,
    source: ValueSource,
    error: Option<Arc<Error>>,
    obj: Py<PyAny>,
}

impl Wrapper {
    fn matches(&self, v: &failsoft::Value) -> bool {
        Arc::ptr_eq(&self.payload, &v.payload)
            && self.source == v.source
            && match (&self.error, &v.error) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

/// What a read returns to Python: a `failsoft.Value` or a `failsoft.Prompt`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Value,
    Prompt,
    /// Configs are converted by the core (`get_or_create_config`); their cells only mark keys
    /// read before.
    Config,
}

/// A payload's data converted to Python once, shared by every object built from it.
enum Converted {
    Value(Py<PyAny>),
    Prompt(Arc<PromptData>),
}

impl Converted {
    fn new(py: Python<'_>, kind: Kind, key: &Key, value: &failsoft::Value) -> PyResult<Converted> {
        Ok(match kind {
            Kind::Value | Kind::Config => Converted::Value(to_frozen(py, value.data())?.unbind()),
            Kind::Prompt => {
                let core = Prompt::from_value(value)
                    .map_err(|e| if e.key.is_empty() { e.with_key(key) } else { e })
                    .map_err(|e| to_pyerr(py, &e))?;
                Converted::Prompt(PromptData::new(py, core)?)
            }
        })
    }

    fn clone_ref(&self, py: Python<'_>) -> Converted {
        match self {
            Converted::Value(o) => Converted::Value(o.clone_ref(py)),
            Converted::Prompt(p) => Converted::Prompt(p.clone()),
        }
    }

    fn build(self, py: Python<'_>, value: &failsoft::Value) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Converted::Value(data) => Py::new(py, PyValue::new(data, value))?.into_any(),
            Converted::Prompt(data) => Py::new(py, PyPrompt::from_read(data, value))?.into_any(),
        })
    }
}

#[derive(Default)]
struct CellState {
    data: Option<(Arc<Json>, Converted)>,
    wrapper: Option<Wrapper>,
}

/// One key's Python side: its converted data and last object. Cells of plain keys are also
/// indexed by the caller's Python string (`front` dicts), so a warm read finds its key with one
/// dict lookup and no string conversion.
#[pyclass(frozen, module = "failsoft._native")]
struct Cell {
    key: Key,
    kind: Kind,
    /// A value from the cache was served: the next read may try the non-waiting path first.
    warm: AtomicBool,
    /// Only locked with the GIL held and never across a call into Python.
    state: Mutex<CellState>,
}

/// An `on_change` callback, shared by the client (for the GC) and the core's listener.
type ListenerSlot = Arc<Mutex<Option<Py<PyAny>>>>;

/// A config slot is matched on the payload's version and fetch time: the core hands out a new
/// payload when it parses JSON text fields of a config, with the cached payload's dates.
struct ConfigSlot {
    version: Option<i64>,
    fetched_at: Instant,
    obj: Py<PyAny>,
}

/// The core client, created from the options JSON every language shares.
#[pyclass(frozen, subclass, module = "failsoft._native", name = "Client")]
pub struct PyClient {
    core: ManuallyDrop<failsoft::Client>,
    /// Key text → `Cell`, for `get(key)`.
    value_front: Py<PyDict>,
    /// Label, version or None → prompt name → `Cell`, for `get_prompt(name, label=, version=)`.
    prompt_front: Py<PyDict>,
    cells: Mutex<HashMap<(Kind, Key), Py<Cell>>>,
    configs: Mutex<HashMap<Key, ConfigSlot>>,
    /// The `on_change` callbacks by listener id; the core's listeners share the slots.
    listeners: Mutex<Vec<(u64, ListenerSlot)>>,
}

impl Drop for PyClient {
    fn drop(&mut self) {
        if shutting_down() {
            // The interpreter is exiting: leave the threads to die with the process rather than
            // waiting for a hung request. They never touch Python again (see lifecycle.rs).
            return;
        }
        // SAFETY: `core` is dropped exactly once, here.
        let core = unsafe { ManuallyDrop::take(&mut self.core) };
        // `close` may wait (bounded) for a refresh thread: not with the GIL held.
        let _ = Python::try_attach(|py| py.detach(|| core.close()));
        drop(core);
    }
}

impl PyClient {
    fn core(&self) -> &failsoft::Client {
        &self.core
    }

    /// The key's cell, created on first use.
    fn cell(&self, py: Python<'_>, kind: Kind, key: &Key) -> PyResult<Py<Cell>> {
        if let Some(c) = lock(&self.cells).get(&(kind, key.clone())) {
            return Ok(c.clone_ref(py));
        }
        let cell = Py::new(
            py,
            Cell {
                key: key.clone(),
                kind,
                warm: AtomicBool::new(false),
                state: Mutex::new(CellState::default()),
            },
        )?;
        let mut cells = lock(&self.cells);
        Ok(cells.entry((kind, key.clone())).or_insert(cell).clone_ref(py))
    }

    /// The warm path: the cached value without waiting, when the key had one before and the
    /// read's TTL is not 0 (TTL 0 fetches on every read).
    fn cached_read(&self, cell: &Cell, ttl: Option<Duration>) -> Option<failsoft::Value> {
        if !cell.warm.load(Ordering::Relaxed) || ttl.unwrap_or(self.core().ttl()).is_zero() {
            return None;
        }
        let opts = ReadOptions { ttl, ..Default::default() };
        match self.core().get_nowait(&cell.key, opts) {
            Ok(v) if matches!(v.source, ValueSource::Fresh | ValueSource::Stale) => Some(v),
            // Evicted (404) or never fetched: the next reads take the waiting path.
            _ => {
                cell.warm.store(false, Ordering::Relaxed);
                None
            }
        }
    }

    /// `get(key)` / `get_prompt(name)` of a key read before: one dict lookup, one core read.
    fn warm_front(
        &self,
        py: Python<'_>,
        front: &Bound<'_, PyDict>,
        name: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some(found) = front.get_item(name)? else { return Ok(None) };
        let cell = found.cast_into::<Cell>()?;
        let cell = cell.get();
        match self.cached_read(cell, None) {
            Some(v) => self.wrap(py, cell, &v).map(Some),
            None => Ok(None),
        }
    }

    /// The slow path: a read that may wait, with the GIL released. A fallback function is called
    /// with the GIL re-acquired, only when the core serves it.
    fn waiting_read(
        &self,
        py: Python<'_>,
        key: &Key,
        ttl: Option<Duration>,
        fallback: FallbackSpec,
        map: impl Fn(Json) -> failsoft::Result<Json> + Send + Sync,
    ) -> PyResult<failsoft::Value> {
        let stash: Stash = Mutex::new(None);
        let result = py.detach(|| {
            let fallback = match &fallback {
                FallbackSpec::None => None,
                FallbackSpec::Value(v) => Some(Fallback::Value(map(v.clone())?)),
                FallbackSpec::Lazy(f) => {
                    let (stash, map) = (&stash, &map);
                    Some(Fallback::Lazy(Box::new(move || map(call_lazy(f, stash)?))))
                }
            };
            let opts = ReadOptions { ttl, fallback, ..Default::default() };
            self.core().get_with(key, opts)
        });
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(match lock(&stash).take() {
                Some(py_err) => py_err,
                None => to_pyerr(py, &e),
            }),
        }
    }

    /// The Python object for `value` read through `cell`: the same object as last time while the
    /// payload, source and error are the same; a fallback (the caller's data) is built anew.
    fn wrap(&self, py: Python<'_>, cell: &Cell, value: &failsoft::Value) -> PyResult<Py<PyAny>> {
        if value.source == ValueSource::Fallback {
            return Converted::new(py, cell.kind, &cell.key, value)?.build(py, value);
        }
        let known = {
            let st = lock(&cell.state);
            if let Some(w) = st.wrapper.as_ref().filter(|w| w.matches(value)) {
                return Ok(w.obj.clone_ref(py));
            }
            match &st.data {
                Some((data, conv)) if Arc::ptr_eq(data, &value.payload.data) => Some(conv.clone_ref(py)),
                _ => None,
            }
        };
        let converted = match known {
            Some(c) => c,
            None => Converted::new(py, cell.kind, &cell.key, value)?,
        };
        let keep = converted.clone_ref(py);
        let obj = converted.build(py, value)?;
        let wrapper = Wrapper {
            payload: value.payload.clone(),
            source: value.source,
            error: value.error.clone(),
            obj: obj.clone_ref(py),
        };
        let old = {
            let mut st = lock(&cell.state);
            let old = (st.data.replace((value.payload.data.clone(), keep)), st.wrapper.replace(wrapper));
            // A snapshot is not in the cache: its key keeps taking the waiting path.
            cell.warm
                .store(matches!(value.source, ValueSource::Fresh | ValueSource::Stale), Ordering::Relaxed);
            old
        };
        drop(old); // outside the lock: dropping Python objects may run arbitrary code
        Ok(obj)
    }

    /// A read through `cell`: the warm path, else a waiting read.
    fn read(
        &self,
        py: Python<'_>,
        cell: &Cell,
        ttl: Option<Duration>,
        fallback: impl FnOnce(Python<'_>) -> PyResult<(FallbackSpec, FallbackMap)>,
    ) -> PyResult<Py<PyAny>> {
        if let Some(v) = self.cached_read(cell, ttl) {
            return self.wrap(py, cell, &v);
        }
        let (spec, map) = fallback(py)?;
        let value = self.waiting_read(py, &cell.key, ttl, spec, map)?;
        self.wrap(py, cell, &value)
    }
}

/// Turns a caller's fallback JSON into what the core serves (prompts: the prompt JSON).
type FallbackMap = Box<dyn Fn(Json) -> failsoft::Result<Json> + Send + Sync>;

fn key_text(key: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match key.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!("{what} must be a str, not {}", key.get_type().name()?))),
    }
}

#[pymethods]
impl PyClient {
    /// `source` is a source object (`failsoft.Http`, `File`, `Langfuse`, `Opik`) or its options
    /// dict (`{"kind": "http", "url": ...}`). Options left as `None` take their defaults (and
    /// environment variables). Never touches the network.
    #[new]
    #[pyo3(signature = (source, *, ttl_seconds = None, cold_deadline_seconds = None, snapshot_dir = None,
                        request_timeout_seconds = None, refresh_workers = None, keep_on_not_found = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        ttl_seconds: Option<f64>,
        cold_deadline_seconds: Option<f64>,
        snapshot_dir: Option<&Bound<'_, PyAny>>,
        request_timeout_seconds: Option<f64>,
        refresh_workers: Option<usize>,
        keep_on_not_found: Option<bool>,
    ) -> PyResult<Self> {
        let source =
            if source.is_instance_of::<PyDict>() { source.clone() } else { source.call_method0("_spec")? };
        let mut spec = Map::new();
        spec.insert("source".into(), from_py(&source, "source")?);
        let mut put = |name: &str, v: Option<Json>| {
            if let Some(v) = v {
                spec.insert(name.into(), v);
            }
        };
        put("ttl_seconds", ttl_seconds.map(Json::from));
        put("cold_deadline_seconds", cold_deadline_seconds.map(Json::from));
        put("request_timeout_seconds", request_timeout_seconds.map(Json::from));
        put("refresh_workers", refresh_workers.map(Json::from));
        put("keep_on_not_found", keep_on_not_found.map(Json::from));
        if let Some(dir) = snapshot_dir.filter(|d| !d.is_none()) {
            let path = py.import("os")?.call_method1("fspath", (dir,))?;
            spec.insert("snapshot_dir".into(), Json::String(path.extract::<String>()?));
        }
        let core = ClientSpec::from_value(Json::Object(spec))
            .and_then(|s| s.build())
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(PyClient {
            core: ManuallyDrop::new(core),
            value_front: PyDict::new(py).unbind(),
            prompt_front: PyDict::new(py).unbind(),
            cells: Mutex::new(HashMap::new()),
            configs: Mutex::new(HashMap::new()),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// Reads `key` (SPEC §2): never waits once the key has a value; with nothing cached, waits at
    /// most the cold deadline, then serves the snapshot, the fallback (a value, `None` included,
    /// or a zero-argument function called only when needed), or raises the typed error.
    #[pyo3(signature = (key, fallback = FallbackArg::Missing, ttl_seconds = None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        fallback: FallbackArg,
        ttl_seconds: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        if ttl_seconds.is_none() {
            if let Some(obj) = self.warm_front(py, self.value_front.bind(py), key)? {
                return Ok(obj);
            }
        }
        let parsed = Key::parse(&key_text(key, "key")?);
        let ttl = opt_seconds("ttl_seconds", ttl_seconds)?;
        let cell = self.cell(py, Kind::Value, &parsed)?;
        if ttl_seconds.is_none() {
            self.value_front.bind(py).set_item(key, &cell)?;
        }
        self.read(py, cell.get(), ttl, |py| Ok((FallbackSpec::from_arg(py, fallback, false)?, Box::new(Ok))))
    }

    /// Reads a prompt by name and label or version (label `production` when neither), like the
    /// Langfuse SDK's `get_prompt`, with a fallback (a template string, a list of messages, or a
    /// function returning one) served when nothing is cached and the source cannot answer.
    #[pyo3(signature = (name, *, label = None, version = None, r#type = "text", fallback = None,
                        cache_ttl_seconds = None))]
    #[allow(clippy::too_many_arguments)]
    fn get_prompt(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        label: Option<&Bound<'_, PyAny>>,
        version: Option<&Bound<'_, PyAny>>,
        r#type: &str,
        fallback: Option<Py<PyAny>>,
        cache_ttl_seconds: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        // The front index is keyed by the label (or version, or None) object, then the name.
        let qualifier = match (label, version) {
            (Some(_), Some(_)) => None,
            (Some(l), None) => Some(l.clone()),
            (None, Some(v)) => Some(v.clone()),
            (None, None) => Some(py.None().into_bound(py)),
        };
        let front = match (&qualifier, cache_ttl_seconds) {
            (Some(q), None) => Some(q),
            _ => None,
        };
        if let Some(q) = front {
            if let Some(inner) = self.prompt_front.bind(py).get_item(q)? {
                if let Some(obj) = self.warm_front(py, inner.cast::<PyDict>()?, name)? {
                    return Ok(obj);
                }
            }
        }
        let text = key_text(name, "name")?;
        let label = label.map(|l| key_text(l, "label")).transpose()?;
        let version = match version {
            Some(v) => Some(v.extract::<u64>().map_err(|_| {
                to_pyerr(py, &Error::invalid_argument("version must be a non-negative int").with_key(&text))
            })?),
            None => None,
        };
        let key = prompt_key(&text, label.as_deref(), version).map_err(|e| to_pyerr(py, &e))?;
        let ttl = opt_seconds("cache_ttl_seconds", cache_ttl_seconds)?;
        let kind = PromptKind::parse(r#type).map_err(|e| to_pyerr(py, &e))?;
        let cell = self.cell(py, Kind::Prompt, &key)?;
        if let Some(q) = front {
            let outer = self.prompt_front.bind(py);
            let inner = match outer.get_item(q)? {
                Some(d) => d.cast_into::<PyDict>()?,
                None => {
                    let d = PyDict::new(py);
                    outer.set_item(q, &d)?;
                    d
                }
            };
            inner.set_item(name, &cell)?;
        }
        self.read(py, cell.get(), ttl, |py| {
            let spec =
                FallbackSpec::from_arg(py, fallback.map_or(FallbackArg::Missing, FallbackArg::Given), true)?;
            // A fallback value is checked before the read, so a bad one fails even when the
            // source answers (as the core's `PromptRequest` does); a function's result when served.
            let spec = match spec {
                FallbackSpec::Value(v) => {
                    FallbackSpec::Value(fallback_prompt(&text, v, Some(kind)).map_err(|e| to_pyerr(py, &e))?)
                }
                other => other,
            };
            let map: FallbackMap = match &spec {
                FallbackSpec::Lazy(_) => Box::new(move |v| fallback_prompt(&text, v, Some(kind))),
                _ => Box::new(Ok),
            };
            Ok((spec, map))
        })
    }

    /// The config value behind `failsoft.Client.get_or_create_config`: `fallback_fields` is a
    /// zero-argument function returning the fallback's fields as a JSON dict (called only when
    /// the cache cannot answer). Returns a `failsoft.Value`, the same object while the config's
    /// version is unchanged.
    #[pyo3(signature = (fallback_fields, env = None, version = None, ttl_seconds = None, create = true))]
    fn _read_config(
        &self,
        py: Python<'_>,
        fallback_fields: &Bound<'_, PyAny>,
        env: Option<&str>,
        version: Option<&Bound<'_, PyAny>>,
        ttl_seconds: Option<f64>,
        create: bool,
    ) -> PyResult<Py<PyAny>> {
        let version = match version.filter(|v| !v.is_none()) {
            None => None,
            Some(v) if v.is_instance_of::<PyString>() => Some(v.extract::<String>()?),
            Some(v) => Some(
                v.extract::<u64>()
                    .map_err(|_| PyTypeError::new_err("version must be a str or int"))?
                    .to_string(),
            ),
        };
        let key = config_key("", env, version.as_deref()).map_err(|e| to_pyerr(py, &e))?;
        let ttl = opt_seconds("ttl_seconds", ttl_seconds)?;
        let cell = self.cell(py, Kind::Config, &key)?;
        if let Some(v) = self.cached_read(cell.get(), ttl) {
            let slots = lock(&self.configs);
            if let Some(s) = slots.get(&key) {
                if s.version == v.payload.version && s.fetched_at == v.payload.fetched_at {
                    return Ok(s.obj.clone_ref(py));
                }
            }
        }
        let fields = match from_py(&fallback_fields.call0()?, "fallback")? {
            Json::Object(m) => m,
            _ => return Err(PyTypeError::new_err("the fallback's fields must be a dict")),
        };
        let opts = ConfigOptions { ttl, cold_deadline: None, create };
        let value = py
            .detach(|| get_or_create_config(self.core(), &key, &fields, opts))
            .map_err(|e| to_pyerr(py, &e))?;
        let data = to_frozen(py, value.data())?.unbind();
        let obj = Py::new(py, PyValue::new(data, &value))?.into_any();
        if !value.is_fallback() {
            let slot = ConfigSlot {
                version: value.payload.version,
                fetched_at: value.payload.fetched_at,
                obj: obj.clone_ref(py),
            };
            let old = lock(&self.configs).insert(key, slot);
            cell.get().warm.store(true, Ordering::Relaxed);
            drop(old);
        }
        Ok(obj)
    }

    /// Fetches `keys` in parallel, each bounded by `deadline_seconds` (default: the cold
    /// deadline). Raises `failsoft.PrefetchError` when any key failed (the others are cached):
    /// call it at start-up and exit on error to fail fast. Keys are text (`name`,
    /// `name@label:staging`, `name@version:3`, `project@env:prod`).
    #[pyo3(signature = (keys, deadline_seconds = None))]
    fn prefetch(&self, py: Python<'_>, keys: Vec<String>, deadline_seconds: Option<f64>) -> PyResult<()> {
        let deadline = opt_seconds("deadline_seconds", deadline_seconds)?;
        let keys: Vec<Key> = keys.iter().map(|k| Key::parse(k)).collect();
        match py.detach(|| self.core().prefetch(&keys, deadline)) {
            Ok(_) => Ok(()),
            Err(e) => Err(prefetch_error(py, &e)),
        }
    }

    /// The client's health: `state` (`starting`, `ready`, `stale`, `fatal`), `since`,
    /// `last_error`, `counters` and `keys`, as a plain dict.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_plain(py, &self.core().status().to_json())
    }

    /// Calls `callback(change)` on a library thread (with the GIL) after a key's value changes
    /// version. An exception it raises is logged (logger `failsoft`) and ignored. Returns an id
    /// for `remove_listener`.
    fn on_change(&self, callback: Py<PyAny>) -> u64 {
        // The one strong reference lives in the slot, where the GC can see (and clear) it.
        let slot: ListenerSlot = Arc::new(Mutex::new(Some(callback)));
        let shared = slot.clone();
        let id = self.core().on_change(move |change: &failsoft::Change| {
            with_python(|py| {
                let Some(callback) = lock(&shared).as_ref().map(|c| c.clone_ref(py)) else { return };
                let call = || -> PyResult<()> {
                    let data = to_frozen(py, change.value.data())?.unbind();
                    let value = Py::new(py, PyValue::new(data, &change.value))?;
                    let c =
                        PyChange::new(change.key.to_string(), change.old_version, change.new_version, value);
                    callback.bind(py).call1((c,))?;
                    Ok(())
                };
                if let Err(e) = call() {
                    log_callback_error(py, &change.key, e);
                }
            });
        });
        lock(&self.listeners).push((id, slot));
        id
    }

    /// Stops calling a callback registered with `on_change`.
    fn remove_listener(&self, id: u64) {
        self.core().remove_listener(id);
        let removed: Vec<_> = {
            let mut l = lock(&self.listeners);
            let (gone, kept): (Vec<_>, Vec<_>) =
                std::mem::take(&mut *l).into_iter().partition(|(i, _)| *i == id);
            *l = kept;
            gone
        };
        let callbacks: Vec<_> = removed.iter().map(|(_, slot)| lock(slot).take()).collect();
        drop(callbacks);
    }

    // A callback that refers to its client (a closure, a bound method) makes a cycle through the
    // core; the GC sees it through these two methods.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // `try_lock`: the lock is never held across an allocation, but never block inside the GC.
        if let Ok(listeners) = self.listeners.try_lock() {
            for (_, slot) in listeners.iter() {
                if let Ok(callback) = slot.try_lock() {
                    visit.call(callback.as_ref())?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let removed = std::mem::take(&mut *lock(&self.listeners));
        let mut callbacks = Vec::with_capacity(removed.len());
        for (id, slot) in &removed {
            self.core().remove_listener(*id);
            callbacks.push(lock(slot).take());
        }
        drop(callbacks);
    }

    /// Stops the background threads; cached values keep being served, nothing is fetched
    /// afterwards. Idempotent; returns within about a second even when a request hangs.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.core().close());
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core().is_closed()
    }

    /// The TTL in force for reads without their own, in seconds.
    #[getter]
    fn ttl_seconds(&self) -> f64 {
        self.core().ttl().as_secs_f64()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("Client({:?})", self.core().source().identity())
    }
}

fn log_callback_error(py: Python<'_>, key: &Key, e: PyErr) {
    let logged = (|| -> PyResult<()> {
        let logger = py.import("logging")?.call_method1("getLogger", ("failsoft",))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("exc_info", e.value(py))?;
        logger.call_method(
            "error",
            ("an on_change callback raised for %s; ignored", key.to_string()),
            Some(&kwargs),
        )?;
        Ok(())
    })();
    if let Err(log_failed) = logged {
        log_failed.write_unraisable(py, None);
    }
}
