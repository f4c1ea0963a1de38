//! `failsoft.Prompt`: a prompt as read (Langfuse, an Opik config field, or a fallback), over the
//! core's `failsoft::Prompt`; compiling goes through the core's template module.

use crate::convert::{from_py, kwargs_object, to_frozen, to_plain};
use crate::errors::{invalid_argument, to_pyerr};
use crate::value::error_or_none;
use failsoft::langchain::{LangchainItem, LangchainPrompt};
use failsoft::prompt::fallback_prompt;
use failsoft::{Error, Payload, Prompt, PromptKind, ValueSource};
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde_json::{json, Map, Value as Json};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What `Prompt.__reduce__` returns: the rebuilding function and its arguments.
type Reduce<'py> = (Bound<'py, PyAny>, (Bound<'py, PyAny>, &'static str));

/// A prompt's fields, converted once per version and shared by every read of it.
pub struct PromptData {
    pub core: Prompt,
    name: Py<PyAny>,
    prompt: Py<PyAny>,
    config: Py<PyAny>,
    labels: Py<PyAny>,
    tags: Py<PyAny>,
    variables: Py<PyAny>,
}

impl PromptData {
    pub fn new(py: Python<'_>, core: Prompt) -> PyResult<Arc<PromptData>> {
        let labels = to_frozen(py, &json!(core.labels))?.unbind();
        let tags = to_frozen(py, &json!(core.tags))?.unbind();
        let variables = to_frozen(py, &json!(core.variables()))?.unbind();
        Ok(Arc::new(PromptData {
            name: PyString::new(py, &core.name).into_any().unbind(),
            prompt: to_frozen(py, &core.prompt)?.unbind(),
            config: to_frozen(py, &core.config)?.unbind(),
            labels,
            tags,
            variables,
            core,
        }))
    }
}

/// A text or chat prompt with its version, config, labels and tags, plus where it came from.
/// Immutable; a warm `get_prompt` returns the same object while the version is unchanged.
#[pyclass(frozen, module = "failsoft", name = "Prompt")]
pub struct PyPrompt {
    pub(crate) data: Arc<PromptData>,
    pub(crate) source: ValueSource,
    pub(crate) error: Option<Arc<Error>>,
    /// The cached payload, for a live `age_seconds`; `None` for fallbacks and hand-made prompts.
    pub(crate) payload: Option<Arc<Payload>>,
}

impl PyPrompt {
    pub fn from_read(data: Arc<PromptData>, value: &failsoft::Value) -> PyPrompt {
        PyPrompt {
            data,
            source: value.source,
            error: value.error.clone(),
            payload: (value.source != ValueSource::Fallback).then(|| value.payload.clone()),
        }
    }
}

fn source_from_str(s: &str) -> PyResult<ValueSource> {
    ValueSource::parse(s).ok_or_else(|| {
        let names: Vec<_> = ValueSource::ALL.iter().map(|s| s.as_str()).collect();
        invalid_argument(format!("source must be one of {}, got {s:?}", names.join(", ")))
    })
}

/// LangChain's `MessagesPlaceholder` class, or an `ImportError` naming the package to install.
fn messages_placeholder_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("langchain_core.prompts").and_then(|m| m.getattr("MessagesPlaceholder")).map_err(|cause| {
        let err = PyImportError::new_err(format!(
            "get_langchain_prompt(): placeholder {name:?} is not given, and LangChain's \
             MessagesPlaceholder needs the package langchain-core (pip install langchain-core); \
             or give {name}=[...] messages to fill it in"
        ));
        err.set_cause(py, Some(cause));
        err
    })
}

/// The core's LangChain form as Python objects: a `str`, or a list of `(role, content)` tuples
/// and `MessagesPlaceholder`s.
fn langchain_to_py<'py>(py: Python<'py>, converted: LangchainPrompt) -> PyResult<Bound<'py, PyAny>> {
    let items = match converted {
        LangchainPrompt::Text(text) => return Ok(PyString::new(py, &text).into_any()),
        LangchainPrompt::Chat(items) => items,
    };
    let list = PyList::empty(py);
    let mut placeholder_class = None;
    for item in items {
        match item {
            LangchainItem::Message { role, content } => list.append((role, content))?,
            LangchainItem::Placeholder { name } => {
                let class = match &placeholder_class {
                    Some(class) => class,
                    None => placeholder_class.insert(messages_placeholder_class(py, &name)?),
                };
                let kwargs = PyDict::new(py);
                kwargs.set_item("variable_name", name)?;
                list.append(class.call((), Some(&kwargs))?)?;
            }
        }
    }
    Ok(list.into_any())
}

/// A prompt from prompt JSON (an Opik config field), as read with `source`.
#[pyfunction]
#[pyo3(signature = (data, source = "fresh"))]
pub fn _prompt_from_json(py: Python<'_>, data: &Bound<'_, PyAny>, source: &str) -> PyResult<PyPrompt> {
    let source = source_from_str(source)?;
    let json = from_py(data, "prompt")?;
    let core = Prompt::from_json(&json).map_err(|e| to_pyerr(py, &e))?;
    Ok(PyPrompt { data: PromptData::new(py, core)?, source, error: None, payload: None })
}

#[pymethods]
impl PyPrompt {
    /// A prompt made by hand, e.g. a field of a `failsoft.Config` fallback. `prompt` is a template
    /// string (text prompt) or a list of `{role, content}` messages and
    /// `{"type": "placeholder", "name"}` items (chat prompt). It counts as a fallback.
    #[new]
    #[pyo3(signature = (name, prompt, *, r#type = None, config = None, version = 0, labels = None, tags = None, commit_message = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &str,
        prompt: &Bound<'_, PyAny>,
        r#type: Option<&str>,
        config: Option<&Bound<'_, PyAny>>,
        version: i64,
        labels: Option<Vec<String>>,
        tags: Option<Vec<String>>,
        commit_message: Option<String>,
    ) -> PyResult<Self> {
        let err = |e: Error| to_pyerr(py, &e);
        let kind = r#type.map(PromptKind::parse).transpose().map_err(err)?;
        let mut spec = Map::new();
        spec.insert("prompt".into(), from_py(prompt, "prompt")?);
        if let Some(c) = config {
            spec.insert("config".into(), from_py(c, "config")?);
        }
        let mut data = fallback_prompt(name, Json::Object(spec), kind).map_err(err)?;
        data["version"] = json!(version);
        data["labels"] = json!(labels.unwrap_or_default());
        data["tags"] = json!(tags.unwrap_or_default());
        data["commit_message"] = json!(commit_message);
        let core = Prompt::from_json(&data).map_err(err)?;
        Ok(PyPrompt {
            data: PromptData::new(py, core)?,
            source: ValueSource::Fallback,
            error: None,
            payload: None,
        })
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.name.clone_ref(py)
    }

    /// The prompt's version; 0 for a fallback.
    #[getter]
    fn version(&self) -> i64 {
        self.data.core.version
    }

    /// `"text"` or `"chat"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        self.data.core.kind.as_str()
    }

    /// The template string (text) or the read-only list of messages (chat).
    #[getter]
    fn prompt(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.prompt.clone_ref(py)
    }

    /// The prompt's config (read-only dict).
    #[getter]
    fn config(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.config.clone_ref(py)
    }

    #[getter]
    fn labels(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.labels.clone_ref(py)
    }

    #[getter]
    fn tags(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.tags.clone_ref(py)
    }

    #[getter]
    fn commit_message(&self) -> Option<&str> {
        self.data.core.commit_message.as_deref()
    }

    /// The prompt commit, for prompts referenced by an Opik config.
    #[getter]
    fn commit(&self) -> Option<&str> {
        self.data.core.commit.as_deref()
    }

    /// The variable names the prompt uses, in first-appearance order.
    #[getter]
    fn variables(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.variables.clone_ref(py)
    }

    /// `"fresh"`, `"stale"`, `"snapshot"` or `"fallback"`.
    #[getter]
    fn source(&self) -> &'static str {
        self.source.as_str()
    }

    #[getter]
    fn is_fallback(&self) -> bool {
        self.source == ValueSource::Fallback
    }

    /// Seconds since the prompt was fetched (now, not at the read); `None` for a fallback.
    #[getter]
    fn age_seconds(&self) -> Option<f64> {
        // A fallback (or a prompt made by hand) has no payload, so no age.
        self.payload.as_ref().map(|p| p.age().as_secs_f64())
    }

    /// Why the prompt is not fresh from the source (a `failsoft.Error`), or `None`.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        error_or_none(py, self.error.as_ref())
    }

    /// Substitutes `{{name}}` variables (SPEC §6). A text prompt gives a string; a chat prompt a
    /// new list of message dicts, each `placeholders[name]` (a list of messages) replacing its
    /// placeholder. `strict=True` raises `failsoft.InvalidArgument` naming every missing
    /// variable (and placeholder).
    #[pyo3(signature = (*, strict = false, placeholders = None, **variables))]
    fn compile<'py>(
        &self,
        py: Python<'py>,
        strict: bool,
        placeholders: Option<&Bound<'py, PyDict>>,
        variables: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let vars = kwargs_object(variables, "variables")?;
        let core = &self.data.core;
        match core.kind {
            PromptKind::Text => {
                if placeholders.is_some_and(|p| !p.is_empty()) {
                    return Err(invalid_argument(format!(
                        "prompt {:?} is a text prompt: it has no placeholders",
                        core.name
                    )));
                }
                let text = core.compile(&vars, strict).map_err(|e| to_pyerr(py, &e))?;
                Ok(PyString::new(py, &text).into_any())
            }
            PromptKind::Chat => {
                let ph = kwargs_object(placeholders, "placeholders")?;
                let messages = core.compile_chat(&vars, &ph, strict).map_err(|e| to_pyerr(py, &e))?;
                to_plain(py, &Json::Array(messages))
            }
        }
    }

    /// The prompt for LangChain (Langfuse's `get_langchain_prompt`): a text prompt gives a
    /// string for `PromptTemplate.from_template`, a chat prompt a list of `(role, content)`
    /// tuples for `ChatPromptTemplate.from_messages`. Every `{{name}}` becomes `{name}` unless
    /// given here (then it is filled in), and every other brace is doubled. A keyword named after
    /// a placeholder (a list of messages) expands it; a placeholder not given becomes a
    /// `langchain_core` `MessagesPlaceholder` (`ImportError` when langchain-core is missing).
    #[pyo3(signature = (**variables))]
    fn get_langchain_prompt<'py>(
        &self,
        py: Python<'py>,
        variables: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arguments = kwargs_object(variables, "variables")?;
        let converted = self.data.core.langchain_from_arguments(&arguments).map_err(|e| to_pyerr(py, &e))?;
        langchain_to_py(py, converted)
    }

    /// The prompt JSON: `{name, version, type, prompt, config, labels, tags, commit_message}`
    /// (plus `commit` when known), as a plain dict.
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_plain(py, &self.data.core.data_json())
    }

    /// Pickles as its prompt JSON and source (error and age are not kept).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduce<'py>> {
        let rebuild = py.import("failsoft._native")?.getattr("_prompt_from_json")?;
        Ok((rebuild, (self.to_json(py)?, self.source.as_str())))
    }

    fn __str__(&self) -> String {
        match &self.data.core.prompt {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn __repr__(&self) -> String {
        let c = &self.data.core;
        format!(
            "Prompt(name={:?}, version={}, type={:?}, source={:?})",
            c.name,
            c.version,
            c.kind.as_str(),
            self.source.as_str()
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyPrompt>() {
            Ok(o) => o.get().data.core.data_json() == self.data.core.data_json(),
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        let c = &self.data.core;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&c.name, c.version, c.kind.as_str(), c.prompt.to_string()).hash(&mut h);
        h.finish()
    }
}
