//! `failsoft.Value` (what `Client.get` returns) and `failsoft.Change` (what `on_change` passes).

use crate::errors::error_object;
use failsoft::Error;
use pyo3::prelude::*;
use std::sync::Arc;

/// A read's value: the data plus where it came from. Immutable; a warm read returns the same
/// object while the key's value is unchanged.
#[pyclass(frozen, module = "failsoft", name = "Value")]
pub struct PyValue {
    pub(crate) data: Py<PyAny>,
    /// The core's read: its source, version, age and error answer the getters.
    pub(crate) read: failsoft::Value,
}

impl PyValue {
    pub fn new(data: Py<PyAny>, value: &failsoft::Value) -> Self {
        PyValue { data, read: value.clone() }
    }
}

pub fn error_or_none(py: Python<'_>, error: Option<&Arc<Error>>) -> PyResult<Py<PyAny>> {
    match error {
        Some(e) => Ok(error_object(py, e)?.unbind()),
        None => Ok(py.None()),
    }
}

#[pymethods]
impl PyValue {
    /// The data: a str, int, float, bool, None, or a read-only dict / list of them.
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.clone_ref(py)
    }

    /// `"fresh"`, `"stale"`, `"snapshot"` or `"fallback"`.
    #[getter]
    fn source(&self) -> &'static str {
        self.read.source.as_str()
    }

    /// Whether this is the caller's fallback rather than data from the source or a snapshot.
    #[getter]
    fn is_fallback(&self) -> bool {
        self.read.is_fallback()
    }

    /// The source's version number, when it has one.
    #[getter]
    fn version(&self) -> Option<i64> {
        self.read.version().filter(|_| !self.read.is_fallback())
    }

    /// Seconds since the data was fetched (now, not at the read); `None` for a fallback.
    #[getter]
    fn age_seconds(&self) -> Option<f64> {
        self.read.age_seconds()
    }

    /// Why the value is not fresh from the source (a `failsoft.Error`), or `None`.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        error_or_none(py, self.read.error.as_ref())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let data = self.data.bind(py).repr()?;
        let error = match &self.read.error {
            Some(e) => format!(", error={:?}", e.to_string()),
            None => String::new(),
        };
        Ok(format!("Value({data}, source={:?}, version={:?}{error})", self.source(), self.version()))
    }
}

/// A key's value changed version (hot reload); passed to `Client.on_change` callbacks.
#[pyclass(frozen, module = "failsoft", name = "Change")]
pub struct PyChange {
    /// The key, in its canonical text form (`name`, `name@label:staging`, ...).
    #[pyo3(get)]
    pub(crate) key: String,
    #[pyo3(get)]
    pub(crate) old_version: Option<i64>,
    #[pyo3(get)]
    pub(crate) new_version: Option<i64>,
    /// The new value (a `failsoft.Value`).
    #[pyo3(get)]
    pub(crate) value: Py<PyValue>,
}

#[pymethods]
impl PyChange {
    fn __repr__(&self) -> String {
        format!(
            "Change(key={:?}, old_version={:?}, new_version={:?})",
            self.key, self.old_version, self.new_version
        )
    }
}
