//! `failsoft._native.Client`: the core's `failsoft::Client`, built from a `failsoft::ClientSpec`.
//!
//! # The warm path
//!
//! A read of a key that has a cached value stays attached to Python (releasing and re-taking
//! the GIL would cost more than the read, and much more when other threads want the GIL): it
//! finds the key's `Cell` with one or two dict lookups on the caller's own argument objects (no
//! string conversion, no key construction: the cell holds the core `Key`), asks the core whether
//! the read it kept is still the read (`Client::peek_same`, at the key's `Place`: no key lookup,
//! no `Value` built, no reference count touched) and returns the kept object; callgrind put
//! building and dropping the `Value` and the cell's `Mutex` at a third of the method. Otherwise
//! it reads the cached value (`Client::peek`: never fetches, never waits) and builds an object,
//! reusing the data converted last time while it is the same. The arguments are taken raw (see
//! `args.rs`). Anything that can wait (a cold read, TTL 0, prefetch, close) runs with the GIL
//! released.

use crate::args::{add_method, given, trampoline, Body, CallArgs, Params};
use crate::convert::{from_py, to_frozen, to_plain};
use crate::errors::{prefetch_error, to_pyerr};
use crate::lifecycle::{shutting_down, with_python};
use crate::prompt::{PromptData, PyPrompt};
use crate::value::{PyChange, PyValue};
use failsoft::client::Place;
use failsoft::config::{cached_config, config_key, get_or_create_config, ConfigOptions};
use failsoft::prompt::{prompt_key, PromptRequest};
use failsoft::spec::seconds;
use failsoft::{ClientSpec, Error, Fallback, Key, Prompt, PromptKind, ReadOptions, ValueSource};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyType};
use pyo3::{PyTraverseError, PyVisit};
use serde_json::{Map, Value as Json};
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::ffi::CStr;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What a read sends to the core: a JSON value, or a Python callable to call only when needed.
enum FallbackSpec {
    None,
    Value(Json),
    Lazy(Py<PyAny>),
}

impl FallbackSpec {
    /// The `fallback` argument (`None`: not given). An explicit Python `None` counts as "no
    /// fallback" when `none_is_missing` (prompts: a `None` prompt means nothing).
    fn from_arg(arg: Option<&Bound<'_, PyAny>>, none_is_missing: bool) -> PyResult<FallbackSpec> {
        match arg {
            None => Ok(FallbackSpec::None),
            Some(b) if b.is_none() && none_is_missing => Ok(FallbackSpec::None),
            Some(b) if b.is_callable() => Ok(FallbackSpec::Lazy(b.clone().unbind())),
            Some(b) => Ok(FallbackSpec::Value(from_py(b, "fallback")?)),
        }
    }

    /// The core's fallback; a function is called (with the GIL) only when the core serves it.
    fn to_core<'a>(&'a self, stash: &'a Stash) -> Option<Fallback<'a>> {
        match self {
            FallbackSpec::None => None,
            FallbackSpec::Value(v) => Some(Fallback::Value(v.clone())),
            FallbackSpec::Lazy(f) => Some(Fallback::Lazy(Box::new(move || call_lazy(f, stash)))),
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn opt_seconds(name: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|s| seconds(name, s)).transpose().map_err(crate::errors::err)
}

/// The Python object last built for a key, handed out again while the core's read is the same,
/// and its data converted, reused while reads carry the same data. The kept `Value` holds the
/// compared pointers alive (no ABA).
struct Kept {
    read: failsoft::Value,
    obj: Py<PyAny>,
    converted: Converted,
    /// Where the core keeps the key, so the warm read skips the key lookup.
    place: Option<Place>,
}

/// What a read returns to Python: a `failsoft.Value` or a `failsoft.Prompt`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Value,
    Prompt,
}

/// A payload's data converted to Python once, shared by every object built from it.
enum Converted {
    Value(Py<PyAny>),
    Prompt(Arc<PromptData>),
}

impl Converted {
    /// `parsed`: the prompt the core already parsed from `value`, when it did.
    fn new(
        py: Python<'_>,
        kind: Kind,
        key: &Key,
        value: &failsoft::Value,
        parsed: Option<Prompt>,
    ) -> PyResult<Converted> {
        Ok(match kind {
            Kind::Value => Converted::Value(to_frozen(py, value.data())?.unbind()),
            Kind::Prompt => {
                let read = || {
                    Prompt::from_value(value).map_err(|e| if e.key.is_empty() { e.with_key(key) } else { e })
                };
                let core = parsed.map_or_else(read, Ok).map_err(|e| to_pyerr(py, &e))?;
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

/// One key's Python side: the core `Key` (built once), its converted data and last object.
/// The `front` dicts index cells by the caller's own argument objects, so a warm read finds its
/// key with one or two dict lookups and no string conversion.
#[pyclass(frozen, module = "failsoft._native")]
struct Cell {
    key: Key,
    kind: Kind,
    kept: GilCell<Option<Kept>>,
}

/// A `RefCell` that the GIL shares between threads: a `Mutex` without its two locked
/// instructions (a fifth of a warm read). Sound because it is only borrowed with the GIL held
/// (the `Python` token) and never across anything that can run Python code or release the GIL,
/// so no two threads borrow it at once; and an abi3 module always runs under a GIL (free-threaded
/// builds do not load abi3 extensions).
#[derive(Default)]
struct GilCell<T>(RefCell<T>);

// SAFETY: see above; `T: Send` because the GIL hands the contents from thread to thread.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    fn borrow_mut(&self, _py: Python<'_>) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }
}

/// A front dict holding more entries than this is emptied before it grows (callers building key
/// strings at run time must not grow it without bound; the cells themselves stay in `cells`).
const FRONT_CAP: usize = 4096;

/// An `on_change` callback, shared by the client and the core's listener: the GC sees the one
/// strong reference through the client and may clear it (`__clear__` cannot wait for a call under
/// way, so it empties the slot instead of removing the listener).
type ListenerSlot = Arc<Mutex<Option<Py<PyAny>>>>;

/// The `failsoft.Value` of a config's checked data (the core checks a version once and hands out
/// the same `data` for it).
struct ConfigSlot {
    data: Arc<Json>,
    obj: Py<PyAny>,
}

/// The core client, created from the options JSON every language shares.
#[pyclass(frozen, subclass, module = "failsoft._native", name = "Client")]
pub struct PyClient {
    core: ManuallyDrop<failsoft::Client>,
    /// Key text → `Cell`, for `get(key)`.
    value_front: Py<PyDict>,
    /// Prompt name → `Cell`, for `get_prompt(name)` (no label, no version).
    prompt_front: Py<PyDict>,
    /// Label or version → prompt name → `Cell`, for `get_prompt(name, label=)` / `(version=)`.
    prompt_front_by: Py<PyDict>,
    /// The name object last found in `prompt_front` and its cell (holding the name keeps its
    /// address from being reused).
    last_prompt: GilCell<Option<(Py<PyAny>, Py<Cell>)>>,
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
    /// The key's cell, created on first use.
    fn cell(&self, py: Python<'_>, kind: Kind, key: &Key) -> PyResult<Py<Cell>> {
        if let Some(c) = lock(&self.cells).get(&(kind, key.clone())) {
            return Ok(c.clone_ref(py));
        }
        let cell = Py::new(py, Cell { key: key.clone(), kind, kept: GilCell::default() })?;
        let mut cells = lock(&self.cells);
        Ok(cells.entry((kind, key.clone())).or_insert(cell).clone_ref(py))
    }

    /// The slow path: a read that may wait, with the GIL released. A fallback function is called
    /// with the GIL re-acquired, only when the core serves it.
    fn waiting_read(
        &self,
        py: Python<'_>,
        key: &Key,
        ttl: Option<Duration>,
        fallback: FallbackSpec,
    ) -> PyResult<failsoft::Value> {
        let stash: Stash = Mutex::new(None);
        let result = py.detach(|| {
            let opts = ReadOptions { ttl, fallback: fallback.to_core(&stash), ..Default::default() };
            self.core.get_with(key, opts)
        });
        result.map_err(|e| unstash(py, &stash, &e))
    }

    /// The cached read of `cell` as a Python object (never waits); `None` when nothing is cached.
    /// While the core's read is the one kept, the kept object is handed out without building a
    /// core `Value` ([`failsoft::Client::peek_same`]).
    fn cached(&self, py: Python<'_>, cell: &Cell, ttl: Option<Duration>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(k) = cell.kept.borrow_mut(py).as_ref() {
            if k.place.as_ref().is_some_and(|place| self.core.peek_same(place, ttl, &k.read)) {
                return Ok(Some(k.obj.clone_ref(py)));
            }
        }
        self.core.peek(&cell.key, ttl).map(|v| self.wrap(py, cell, &v, None)).transpose()
    }

    /// The Python object for `value` read through `cell`: the same object as last time while the
    /// read is the same ([`failsoft::Value::same_read`]); a fallback (the caller's data) is built
    /// anew. `parsed`: the prompt the core already parsed from `value`.
    fn wrap(
        &self,
        py: Python<'_>,
        cell: &Cell,
        value: &failsoft::Value,
        parsed: Option<Prompt>,
    ) -> PyResult<Py<PyAny>> {
        if value.source == ValueSource::Fallback {
            return Converted::new(py, cell.kind, &cell.key, value, parsed)?.build(py, value);
        }
        let known = match cell.kept.borrow_mut(py).as_ref() {
            Some(k) if k.read.same_read(value) => return Ok(k.obj.clone_ref(py)),
            Some(k) if k.read.same_payload(value) => Some(k.converted.clone_ref(py)),
            _ => None,
        };
        let converted = known.map_or_else(|| Converted::new(py, cell.kind, &cell.key, value, parsed), Ok)?;
        let obj = converted.clone_ref(py).build(py, value)?;
        let kept = Kept {
            read: value.clone(),
            obj: obj.clone_ref(py),
            converted,
            place: self.core.place(&cell.key),
        };
        let old = cell.kept.borrow_mut(py).replace(kept);
        drop(old); // outside the borrow: dropping Python objects may run arbitrary code
        Ok(obj)
    }

    /// A prompt read that may wait, through the core's `PromptRequest` (fallback checks and
    /// conversion to prompt JSON included), with the GIL released.
    fn prompt_read(
        &self,
        py: Python<'_>,
        cell: &Cell,
        request: PromptRequest<'static>,
        fallback: FallbackSpec,
    ) -> PyResult<Py<PyAny>> {
        let stash: Stash = Mutex::new(None);
        let result = py.detach(|| {
            let request = PromptRequest { fallback: fallback.to_core(&stash), ..request };
            request.get_value(&self.core)
        });
        let (value, prompt) = result.map_err(|e| unstash(py, &stash, &e))?;
        self.wrap(py, cell, &value, Some(prompt))
    }
}

/// The Python exception of a fallback function when it ended the read, else `e`.
fn unstash(py: Python<'_>, stash: &Stash, e: &Error) -> PyErr {
    match lock(stash).take() {
        Some(py_err) => py_err,
        None => to_pyerr(py, e),
    }
}

fn key_text(key: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match key.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!("{what} must be a str, not {}", key.get_type().name()?))),
    }
}

/// `get(key, fallback=<none>, ttl_seconds=None)`.
static GET: Params<3> = Params::new("get", ["key", "fallback", "ttl_seconds"], 3);
/// `get_prompt(name, *, label=None, version=None, type="text", fallback=None, cache_ttl_seconds=None)`.
static GET_PROMPT: Params<6> =
    Params::new("get_prompt", ["name", "label", "version", "type", "fallback", "cache_ttl_seconds"], 1);

const GET_DOC: &CStr = c"get($self, key, fallback=..., ttl_seconds=None)
--

Reads `key` (SPEC §2): never waits once the key has a value; with nothing cached, waits at most
the cold deadline, then serves the snapshot, the fallback (a value, `None` included, or a
zero-argument function called only when needed), or raises the typed error.";

const GET_PROMPT_DOC: &CStr = c"get_prompt($self, name, *, label=None, version=None, type='text', fallback=None, cache_ttl_seconds=None)
--

Reads a prompt by name and label or version (label `production` when neither), like the Langfuse
SDK's `get_prompt`, with a fallback (a template string, a list of messages, or a function
returning one) served when nothing is cached and the source cannot answer.";

/// Adds the read methods to the class (see `args.rs` for why they are not `#[pymethods]`).
pub fn add_read_methods(cls: &Bound<'_, PyType>) -> PyResult<()> {
    add_method(cls, c"get", GET_DOC, read_fast::<false>)?;
    add_method(cls, c"get_prompt", GET_PROMPT_DOC, read_fast::<true>)
}

/// `get` (`PROMPT` false) or `get_prompt` as a `METH_FASTCALL | METH_KEYWORDS` method of `Client`.
unsafe extern "C" fn read_fast<const PROMPT: bool>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let body: Body =
        if PROMPT { |slf, a| client_of(slf).get_prompt(a) } else { |slf, a| client_of(slf).get(a) };
    // SAFETY: called by CPython with the vectorcall arguments of a method of `Client`.
    unsafe { trampoline(slf, args, nargs, kwnames, body) }
}

/// The client behind a method's `self`.
fn client_of<'a>(slf: &'a Bound<'_, PyAny>) -> &'a PyClient {
    // SAFETY: a method descriptor only calls its function with an instance of its class (or of
    // a subclass), which CPython checks before the call.
    unsafe { slf.cast_unchecked::<PyClient>() }.get()
}

impl PyClient {
    /// `get(key, fallback=<none>, ttl_seconds=None)`: see `GET_DOC`.
    fn get(&self, a: &CallArgs<'_, '_>) -> PyResult<Py<PyAny>> {
        let py = a.py();
        let [key, fallback, ttl_seconds] = GET.parse(a)?;
        let key = key.ok_or_else(|| GET.missing(0))?;
        let ttl = opt_seconds("ttl_seconds", GET.seconds(2, ttl_seconds)?)?;
        let front = self.value_front.bind(py);
        // Only exact str objects index the front dict (no user-defined `__eq__` / `__hash__`).
        let exact = key.is_exact_instance_of::<PyString>();
        let cell = match if exact { front_cell(front, &key)? } else { None } {
            Some(cell) => cell,
            None => {
                let cell = self.cell(py, Kind::Value, &Key::parse(&key_text(&key, "key")?))?;
                if exact {
                    remember(front, &key, &cell)?;
                }
                cell.into_bound(py)
            }
        };
        let cell = cell.get();
        if let Some(obj) = self.cached(py, cell, ttl)? {
            return Ok(obj);
        }
        let spec = FallbackSpec::from_arg(fallback.as_deref(), false)?;
        let value = self.waiting_read(py, &cell.key, ttl, spec)?;
        self.wrap(py, cell, &value, None)
    }

    /// `get_prompt(name, *, label=None, version=None, type="text", fallback=None,
    /// cache_ttl_seconds=None)`: see `GET_PROMPT_DOC`.
    fn get_prompt(&self, a: &CallArgs<'_, '_>) -> PyResult<Py<PyAny>> {
        let py = a.py();
        let [name, label, version, r#type, fallback, cache_ttl_seconds] = GET_PROMPT.parse(a)?;
        let name = name.ok_or_else(|| GET_PROMPT.missing(0))?;
        let (label, version) = (given(label), given(version));
        let ttl = opt_seconds("cache_ttl_seconds", GET_PROMPT.seconds(5, cache_ttl_seconds)?)?;
        // The front index: the name alone when neither label nor version is given, else the
        // label (or version) object, then the name. Only exact str and int objects are used as
        // keys (no user-defined `__eq__` / `__hash__`, no `3.0` standing for version 3).
        // `Some(qualifier)` when the read can be indexed: `Some(None)` for neither label nor version.
        let indexed = match (label, version) {
            _ if !name.is_exact_instance_of::<PyString>() => None,
            (None, None) => Some(None),
            (Some(q), None) if q.is_exact_instance_of::<PyString>() => Some(Some(q)),
            (None, Some(q)) if q.is_exact_instance_of::<PyInt>() => Some(Some(q)),
            _ => None,
        };
        if let Some(q) = indexed {
            // Neither label nor version, and the same name object as last time (an agent passes
            // one string constant): the last cell, without a dict lookup (a seventh of a read).
            let last = match (q, self.last_prompt.borrow_mut(py).as_ref()) {
                (None, Some((n, cell))) if n.as_ptr() == name.as_ptr() => Some(cell.bind(py).clone()),
                _ => None,
            };
            let found = match q {
                _ if last.is_some() => last,
                None => front_cell(self.prompt_front.bind(py), &name)?.inspect(|cell| {
                    let kept = (name.to_owned().unbind(), cell.clone().unbind());
                    let old = self.last_prompt.borrow_mut(py).replace(kept);
                    drop(old); // outside the borrow: dropping Python objects may run arbitrary code
                }),
                q => front_cell(&self.prompt_index(py, q)?, &name)?,
            };
            if let Some(cell) = found {
                if let Some(obj) = self.cached(py, cell.get(), ttl)? {
                    return Ok(obj);
                }
            }
        }
        // Not cached (or TTL 0): the core's `PromptRequest` reads it.
        let text = key_text(&name, "name")?;
        let label = label.map(|l| key_text(&l, "label")).transpose()?;
        let bad_version =
            || to_pyerr(py, &Error::invalid_argument("version must be a non-negative int").with_key(&text));
        let version = match version {
            Some(v) if v.is_instance_of::<PyBool>() => return Err(bad_version()),
            Some(v) => Some(v.extract::<u64>().map_err(|_| bad_version())?),
            None => None,
        };
        let kind = match r#type {
            None => PromptKind::Text,
            Some(t) => {
                let t = t.cast::<PyString>().map_err(|_| GET_PROMPT.wrong_type(3, "str", &t))?;
                PromptKind::parse(&t.to_cow()?).map_err(|e| to_pyerr(py, &e))?
            }
        };
        let key = prompt_key(&text, label.as_deref(), version).map_err(|e| to_pyerr(py, &e))?;
        let cell = self.cell(py, Kind::Prompt, &key)?;
        if let Some(q) = indexed {
            remember(&self.prompt_index(py, q)?, &name, &cell)?;
        }
        if let Some(obj) = self.cached(py, cell.get(), ttl)? {
            return Ok(obj);
        }
        let spec = FallbackSpec::from_arg(fallback.as_deref(), true)?;
        let request =
            PromptRequest { name: text, label, version, kind: Some(kind), ttl, ..PromptRequest::new("") };
        self.prompt_read(py, cell.get(), request, spec)
    }

    /// The front dict of prompts read with label (or version) `q` (created on first use), or
    /// with neither.
    fn prompt_index<'py>(
        &self,
        py: Python<'py>,
        q: Option<Borrowed<'_, 'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Some(q) = q else { return Ok(self.prompt_front.bind(py).clone()) };
        let outer = self.prompt_front_by.bind(py);
        if let Some(inner) = outer.get_item(q)? {
            // SAFETY: only dicts are stored in `prompt_front_by`.
            return Ok(unsafe { inner.cast_into_unchecked::<PyDict>() });
        }
        let inner = PyDict::new(py);
        remember(outer, &q, &inner)?;
        Ok(inner)
    }
}

/// The cell indexed under `name` in `front`, if any.
fn front_cell<'py>(
    front: &Bound<'py, PyDict>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, Cell>>> {
    // SAFETY: only cells are stored in the front dicts.
    Ok(front.get_item(name)?.map(|found| unsafe { found.cast_into_unchecked::<Cell>() }))
}

/// Indexes `item` under `name` in `front`.
fn remember<'py>(
    front: &Bound<'py, PyDict>,
    name: &Bound<'py, PyAny>,
    item: impl IntoPyObject<'py>,
) -> PyResult<()> {
    if front.len() >= FRONT_CAP {
        front.clear();
    }
    front.set_item(name, item)
}

#[pymethods]
impl PyClient {
    /// `source` is a source object (`failsoft.Http`, `File`, `Langfuse`, `Opik`) or its options
    /// dict (`{"kind": "http", "url": ...}`). Options left as `None` take their defaults (and
    /// environment variables). Never touches the network.
    #[new]
    #[pyo3(signature = (source, *, ttl_seconds = None, cold_deadline_seconds = None, snapshot_dir = None,
                        request_timeout_seconds = None, refresh_workers = None, keep_on_not_found = None,
                        fleet = None))]
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
        fleet: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let source =
            if source.is_instance_of::<PyDict>() { source.clone() } else { source.call_method0("_spec")? };
        let mut spec = Map::new();
        spec.insert("source".into(), from_py(&source, "source")?);
        let options = [
            ("ttl_seconds", ttl_seconds.map(Json::from)),
            ("cold_deadline_seconds", cold_deadline_seconds.map(Json::from)),
            ("request_timeout_seconds", request_timeout_seconds.map(Json::from)),
            ("refresh_workers", refresh_workers.map(Json::from)),
            ("keep_on_not_found", keep_on_not_found.map(Json::from)),
        ];
        spec.extend(options.into_iter().filter_map(|(name, v)| Some((name.to_string(), v?))));
        if let Some(f) = fleet.filter(|f| !f.is_none()) {
            spec.insert("fleet".into(), from_py(f, "fleet")?);
        }
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
            prompt_front_by: PyDict::new(py).unbind(),
            last_prompt: GilCell::default(),
            cells: Mutex::new(HashMap::new()),
            configs: Mutex::new(HashMap::new()),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// The config value behind `failsoft.Client.get_or_create_config`: `fallback_fields` is a
    /// zero-argument function returning the fallback's fields as a JSON dict (called only when
    /// the cache cannot answer). Returns a `failsoft.Value`, the same object while the config's
    /// version is unchanged, and the key's text (for errors).
    #[pyo3(signature = (fallback_fields, env = None, version = None, ttl_seconds = None, create = true))]
    fn _read_config(
        &self,
        py: Python<'_>,
        fallback_fields: &Bound<'_, PyAny>,
        env: Option<&str>,
        version: Option<&Bound<'_, PyAny>>,
        ttl_seconds: Option<f64>,
        create: bool,
    ) -> PyResult<(Py<PyAny>, String)> {
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
        if let Some(v) = cached_config(&self.core, &key, ttl, None) {
            if let Some(s) = lock(&self.configs).get(&key).filter(|s| Arc::ptr_eq(&s.data, &v.payload.data)) {
                return Ok((s.obj.clone_ref(py), key.to_string()));
            }
        }
        let fields = match from_py(&fallback_fields.call0()?, "fallback")? {
            Json::Object(m) => m,
            _ => return Err(PyTypeError::new_err("the fallback's fields must be a dict")),
        };
        let opts = ConfigOptions { ttl, cold_deadline: None, create };
        let value = py
            .detach(|| get_or_create_config(&self.core, &key, &fields, opts))
            .map_err(|e| to_pyerr(py, &e))?;
        let data = to_frozen(py, value.data())?.unbind();
        let obj = Py::new(py, PyValue::new(data, &value))?.into_any();
        if !value.is_fallback() {
            let slot = ConfigSlot { data: value.payload.data.clone(), obj: obj.clone_ref(py) };
            let old = lock(&self.configs).insert(key.clone(), slot);
            drop(old);
        }
        Ok((obj, key.to_string()))
    }

    /// Fetches `keys` in parallel, each bounded by `deadline_seconds` (default: the cold
    /// deadline). Raises `failsoft.PrefetchError` when any key failed (the others are cached):
    /// call it at start-up and exit on error to fail fast. Keys are text (`name`,
    /// `name@label:staging`, `name@version:3`, `project@env:prod`).
    #[pyo3(signature = (keys, deadline_seconds = None))]
    fn prefetch(&self, py: Python<'_>, keys: Vec<String>, deadline_seconds: Option<f64>) -> PyResult<()> {
        let deadline = opt_seconds("deadline_seconds", deadline_seconds)?;
        let keys: Vec<Key> = keys.iter().map(|k| Key::parse(k)).collect();
        py.detach(|| self.core.prefetch(&keys, deadline)).map(drop).map_err(|e| prefetch_error(py, &e))
    }

    /// The client's health: `state` (`starting`, `ready`, `stale`, `fatal`), `since`,
    /// `last_error`, `counters` and `keys`, as a plain dict.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_plain(py, &self.core.status().to_json())
    }

    /// Calls `callback(change)` on a library thread (with the GIL) after a key's value changes
    /// version. An exception it raises is logged (logger `failsoft`) and ignored. Returns an id
    /// for `remove_listener`.
    fn on_change(&self, callback: Py<PyAny>) -> u64 {
        // The one strong reference lives in the slot, where the GC can see (and clear) it.
        let slot: ListenerSlot = Arc::new(Mutex::new(Some(callback)));
        let shared = slot.clone();
        let id = self.core.on_change(move |change: &failsoft::Change| {
            with_python(|py| {
                let Some(callback) = lock(&shared).as_ref().map(|c| c.clone_ref(py)) else { return };
                let call = || -> PyResult<()> {
                    let data = to_frozen(py, change.value.data())?.unbind();
                    let value = Py::new(py, PyValue::new(data, &change.value))?;
                    let c = PyChange {
                        key: change.key.to_string(),
                        old_version: change.old_version,
                        new_version: change.new_version,
                        value,
                    };
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

    /// Stops calling a callback registered with `on_change`: once this returns it is not running
    /// on another thread and is never called again (the core's listener registry).
    fn remove_listener(&self, py: Python<'_>, id: u64) {
        // Without the GIL: a call under way on another thread needs it to finish.
        py.detach(|| self.core.remove_listener(id));
        let removed: Vec<_> = {
            let mut l = lock(&self.listeners);
            l.iter().position(|(i, _)| *i == id).map(|at| l.remove(at)).into_iter().collect()
        };
        drop(removed); // outside the lock: dropping a callable may run arbitrary code
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
        // The core's listeners stay registered (removing waits for calls under way, which need
        // the GIL the GC holds); with their slots empty they do nothing until the client closes.
        let removed = std::mem::take(&mut *lock(&self.listeners));
        let callbacks: Vec<_> = removed.iter().map(|(_, slot)| lock(slot).take()).collect();
        drop(callbacks);
    }

    /// Stops the background threads; cached values keep being served, nothing is fetched
    /// afterwards. Idempotent; returns within about a second even when a request hangs.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.core.close());
    }

    /// Forces a refresh of `key`: fleet-wide in fleet mode, else in this process.
    fn invalidate(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        let key = Key::parse(key);
        py.detach(|| self.core.invalidate(&key)).map_err(|e| to_pyerr(py, &e))
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The TTL in force for reads without their own, in seconds.
    #[getter]
    fn ttl_seconds(&self) -> f64 {
        self.core.ttl().as_secs_f64()
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
        format!("Client({:?})", self.core.source().identity())
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
