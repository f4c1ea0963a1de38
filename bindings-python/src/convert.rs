//! JSON values to Python objects and back.
//!
//! Values read from the cache are shared: a warm read hands every caller the same object, so they
//! are converted once per version into read-only containers (`failsoft.FrozenDict`, a `dict`
//! subclass, and `failsoft.FrozenList`, a `list` subclass: `json.dumps`, `==` with plain
//! containers and `isinstance(x, dict)` keep working; mutation raises `TypeError`).

use crate::errors::invalid_argument;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused (a self-referencing container would never end).
const MAX_DEPTH: usize = 512;

struct Frozen {
    dict: Py<PyAny>,
    list: Py<PyAny>,
}

static FROZEN: PyOnceLock<Frozen> = PyOnceLock::new();

fn frozen(py: Python<'_>) -> PyResult<&Frozen> {
    FROZEN.get_or_try_init(py, || {
        let m = py.import("failsoft._frozen")?;
        Ok(Frozen { dict: m.getattr("FrozenDict")?.unbind(), list: m.getattr("FrozenList")?.unbind() })
    })
}

fn number<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    Ok(if let Some(i) = n.as_i64() {
        i.into_pyobject(py)?.into_any()
    } else if let Some(u) = n.as_u64() {
        u.into_pyobject(py)?.into_any()
    } else {
        n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
    })
}

/// A shared, read-only Python copy of `v`.
pub fn to_frozen<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, v, Some(frozen(py)?))
}

/// A plain, mutable Python copy of `v` (results the caller owns: `status()`, compiled chats).
pub fn to_plain<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, v, None)
}

/// `v` with read-only containers when `frozen` is given, else plain ones. The items go in
/// through `PyDict_SetItem` / `PyList_Append`, which bypass the frozen types' refusing methods.
fn to_py<'py>(py: Python<'py>, v: &Value, frozen: Option<&Frozen>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Object(map) => {
            let d = match frozen {
                Some(f) => f.dict.bind(py).call0()?.cast_into::<PyDict>()?,
                None => PyDict::new(py),
            };
            for (k, item) in map {
                d.set_item(k, to_py(py, item, frozen)?)?;
            }
            d.into_any()
        }
        Value::Array(items) => {
            let l = match frozen {
                Some(f) => f.list.bind(py).call0()?.cast_into::<PyList>()?,
                None => PyList::empty(py),
            };
            for item in items {
                l.append(to_py(py, item, frozen)?)?;
            }
            l.into_any()
        }
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => number(py, n)?,
        Value::String(s) => PyString::new(py, s).into_any(),
    })
}

/// `obj` as JSON; `what` names the argument in the error (`fallback`, `variables`, ...).
pub fn from_py(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    from_py_rec(obj, 0).map_err(|bad| match bad {
        Bad::Py(e) => e,
        Bad::At(path, why) => invalid_argument(format!("{what}{path}: {why}")),
    })
}

/// A `**kwargs` dict (absent: empty) as a JSON object.
pub fn kwargs_object(d: Option<&Bound<'_, PyDict>>, what: &str) -> PyResult<Map<String, Value>> {
    match d.map(|d| from_py(d.as_any(), what)).transpose()? {
        Some(Value::Object(m)) => Ok(m),
        _ => Ok(Map::new()),
    }
}

enum Bad {
    /// A Python exception raised while reading the object.
    Py(PyErr),
    /// Where (`["a"][0]`) and why the value is not JSON.
    At(String, String),
}

impl From<PyErr> for Bad {
    fn from(e: PyErr) -> Self {
        Bad::Py(e)
    }
}

fn prefix(seg: String, bad: Bad) -> Bad {
    match bad {
        Bad::At(path, why) => Bad::At(seg + &path, why),
        other => other,
    }
}

fn from_py_rec(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Bad> {
    if depth > MAX_DEPTH {
        return Err(Bad::At(String::new(), format!("nested deeper than {MAX_DEPTH} levels")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(Bad::At(String::new(), "integer out of the 64-bit range".into()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| Bad::At(String::new(), format!("{v} is not a JSON number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    // Dicts (their own items, whatever a subclass overrides), and other mappings
    // (MappingProxyType, user classes): anything with `items()` and `keys()`.
    let items = match obj.cast::<PyDict>() {
        Ok(d) => Some(d.items().into_any()),
        Err(_) if obj.hasattr("keys")? && obj.hasattr("items")? => Some(obj.call_method0("items")?),
        Err(_) => None,
    };
    if let Some(items) = items {
        let mut map = Map::new();
        for pair in items.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            let key = dict_key(&k)?;
            let item = from_py_rec(&v, depth + 1).map_err(|b| prefix(format!("[{key:?}]"), b))?;
            map.insert(key, item);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(from_py_rec(&item?, depth + 1).map_err(|b| prefix(format!("[{i}]"), b))?);
        }
        return Ok(Value::Array(items));
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(Bad::At(
        String::new(),
        format!("{type_name} is not a JSON value (use dict, list, str, int, float, bool or None)"),
    ))
}

fn dict_key(k: &Bound<'_, PyAny>) -> Result<String, Bad> {
    match k.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(Bad::At(String::new(), "object keys must be strings".into())),
    }
}
