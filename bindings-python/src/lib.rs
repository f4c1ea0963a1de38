//! `failsoft._native`: the Python binding of the failsoft core. It converts types and nothing
//! more: every behaviour (cache, refresh, prompts, configs, templates) is the core's. The
//! pure-Python layer in `python/failsoft/` adds the source classes, typed configs and exceptions.

mod args;
mod client;
mod convert;
mod errors;
mod lifecycle;
mod llm;
mod logging;
mod prompt;
mod value;

use crate::convert::{from_py, kwargs_object as object, to_plain};
use crate::errors::to_pyerr;
use failsoft::template;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value as Json;

fn messages(list: &Bound<'_, PyAny>) -> PyResult<Vec<Json>> {
    match from_py(list, "messages")? {
        Json::Array(items) => Ok(items),
        _ => Err(errors::invalid_argument("messages must be a list of message dicts")),
    }
}

/// Substitutes `{{name}}` variables in a text template (SPEC §6): values inserted raw, `None`
/// as the empty string, a missing variable left verbatim or, with `strict=True`, a
/// `failsoft.InvalidArgument` naming every missing variable.
#[pyfunction]
#[pyo3(signature = (template, /, *, strict = false, **variables))]
fn compile(
    py: Python<'_>,
    template: &str,
    strict: bool,
    variables: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let vars = object(variables, "variables")?;
    template::compile(template, &vars, strict).map_err(|e| to_pyerr(py, &e))
}

/// The variable names a text template uses, in first-appearance order, without duplicates.
#[pyfunction]
#[pyo3(signature = (template, /))]
fn variables(template: &str) -> Vec<String> {
    template::variables(template)
}

/// `text` with credentials (URL passwords, API keys, `Authorization` values, configured secrets)
/// replaced by `<redacted>`, for the reprs the Python layer builds itself.
#[pyfunction]
#[pyo3(signature = (text, /))]
fn _redact(text: &str) -> String {
    failsoft::logging::redact(text).into_owned()
}

/// Compiles a chat prompt: each message's string `content` gets the variables, each
/// `{"type": "placeholder", "name": N}` item is replaced by the messages in `placeholders[N]`.
/// Returns a new list of plain dicts.
#[pyfunction]
#[pyo3(signature = (messages, /, *, placeholders = None, strict = false, **variables))]
fn compile_chat<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyAny>,
    placeholders: Option<&Bound<'py, PyDict>>,
    strict: bool,
    variables: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let items = self::messages(messages)?;
    let vars = object(variables, "variables")?;
    let ph = object(placeholders, "placeholders")?;
    let out = template::compile_chat(&items, &vars, &ph, strict).map_err(|e| to_pyerr(py, &e))?;
    to_plain(py, &Json::Array(out))
}

/// The variable names used across a chat prompt's message contents, in first-appearance order.
#[pyfunction]
#[pyo3(signature = (messages, /))]
fn chat_variables<'py>(py: Python<'py>, messages: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, template::chat_variables(&self::messages(messages)?))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    m.add_class::<client::PyClient>()?;
    client::add_read_methods(&m.py().get_type::<client::PyClient>())?;
    m.add_class::<value::PyValue>()?;
    m.add_class::<value::PyChange>()?;
    m.add_class::<prompt::PyPrompt>()?;
    m.add_class::<llm::PyFront>()?;
    m.add_class::<llm::PyChatStream>()?;
    m.add_function(wrap_pyfunction!(llm::_llm_api, m)?)?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(_redact, m)?)?;
    m.add_function(wrap_pyfunction!(variables, m)?)?;
    m.add_function(wrap_pyfunction!(compile_chat, m)?)?;
    m.add_function(wrap_pyfunction!(chat_variables, m)?)?;
    m.add_function(wrap_pyfunction!(prompt::_prompt_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_shutdown, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The core's error kinds: `failsoft._errors` has one class named after each.
    m.add("ERROR_KINDS", failsoft::ErrorKind::ALL.map(failsoft::ErrorKind::as_str).to_vec())?;
    Ok(())
}
