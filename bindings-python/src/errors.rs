//! The core's one error type, mapped once to the exception classes of `failsoft/_errors.py`.

use failsoft::{Error, ErrorKind, PrefetchError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

struct Classes {
    /// The class of each kind, in `ErrorKind::ALL` order: named `kind.as_str()` (the spelling
    /// rule of `failsoft::error`).
    by_kind: Vec<Py<PyAny>>,
    prefetch: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let m = py.import("failsoft._errors")?;
        let get = |name: &str| -> PyResult<Py<PyAny>> { Ok(m.getattr(name)?.unbind()) };
        Ok(Classes {
            by_kind: ErrorKind::ALL.iter().map(|k| get(k.as_str())).collect::<PyResult<_>>()?,
            prefetch: get("PrefetchError")?,
        })
    })
}

/// The exception instance for `e` (not raised), e.g. a value's `.error`.
pub fn error_object<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let at = ErrorKind::ALL.iter().position(|k| *k == e.kind).unwrap_or_default();
    let cls = classes(py)?.by_kind[at].bind(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item("key", &e.key)?;
    kwargs.set_item("status", e.status)?;
    cls.call((&e.message,), Some(&kwargs))
}

/// `e` as a Python exception to raise.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    match error_object(py, e) {
        Ok(obj) => PyErr::from_value(obj),
        Err(import_failed) => import_failed,
    }
}

/// For `map_err` where no `Python` token is at hand (the caller is attached).
pub fn err(e: Error) -> PyErr {
    Python::attach(|py| to_pyerr(py, &e))
}

/// A failed prefetch as `failsoft.PrefetchError`, with every failure as its own exception.
pub fn prefetch_error(py: Python<'_>, e: &PrefetchError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let failures = PyDict::new(py);
        for (key, err) in &e.failures {
            failures.set_item(key.to_string(), error_object(py, err)?)?;
        }
        let succeeded = PyList::new(py, e.succeeded.iter().map(|k| k.to_string()))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("failures", failures)?;
        kwargs.set_item("succeeded", succeeded)?;
        let obj = classes(py)?.prefetch.bind(py).call((e.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(obj))
    };
    build().unwrap_or_else(|failed| failed)
}

/// An `InvalidArgument` raised by the binding itself (a Python value the core cannot take).
pub fn invalid_argument(message: impl Into<String>) -> PyErr {
    err(Error::invalid_argument(message))
}
