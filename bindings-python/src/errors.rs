//! The core's one error type, mapped once to the exception classes of `failsoft/_errors.py`: the
//! class of a kind is named `kind.as_str()` (the spelling rule of `failsoft::error`).

use failsoft::{Error, PrefetchError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception class `name` of `failsoft._errors`.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let m = MODULE.get_or_try_init(py, || PyResult::Ok(py.import("failsoft._errors")?.unbind()))?;
    m.bind(py).getattr(name)
}

/// The exception instance for `e` (not raised), e.g. a value's `.error`.
pub fn error_object<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("key", &e.key)?;
    kwargs.set_item("status", e.status)?;
    class(py, e.kind.as_str())?.call((&e.message,), Some(&kwargs))
}

/// `e` as a Python exception to raise.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    error_object(py, e).map_or_else(|import_failed| import_failed, PyErr::from_value)
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
        let kwargs = PyDict::new(py);
        kwargs.set_item("failures", failures)?;
        kwargs.set_item("succeeded", e.succeeded.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let obj = class(py, "PrefetchError")?.call((e.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(obj))
    };
    build().unwrap_or_else(|failed| failed)
}

/// An `InvalidArgument` raised by the binding itself (a Python value the core cannot take).
pub fn invalid_argument(message: impl Into<String>) -> PyErr {
    err(Error::invalid_argument(message))
}
