//! The read methods (`get`, `get_prompt`) as `METH_FASTCALL | METH_KEYWORDS` methods.
//!
//! PyO3 gives an abi3-py39 module the tuple-and-dict convention: every call allocates an argument
//! tuple (and a dict for keywords) and converts each keyword name to a new UTF-8 `bytes` object;
//! callgrind put that at about 40 % of a warm `get_prompt(name, fallback=...)`. These descriptors
//! (`PyDescr_NewMethod`) take the arguments as an array and the call site's keyword-name tuple,
//! matched by identity with interned names first, allocating nothing. The convention is stable
//! ABI since 3.10 (same flag and signature) and public API in 3.9, so one abi3 wheel serves 3.9+.

use crate::errors::invalid_argument;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple, PyType};
use std::ffi::{c_int, CStr};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// `METH_FASTCALL` (CPython's `methodobject.h`; PyO3 exposes it only for abi3-py310+).
const METH_FASTCALL: c_int = 0x0080;

/// The arguments of one vectorcall: positional ones, then the keywords' values, named by
/// `kwnames`. Borrowed from the caller for the duration of the call.
pub struct CallArgs<'a, 'py> {
    py: Python<'py>,
    positional: &'a [*mut ffi::PyObject],
    keywords: &'a [*mut ffi::PyObject],
    kwnames: Option<Borrowed<'a, 'py, PyTuple>>,
}

impl<'py> CallArgs<'_, 'py> {
    pub fn py(&self) -> Python<'py> {
        self.py
    }
}

/// The parameters of one method: names in order, how many may be given by position.
pub struct Params<const N: usize> {
    func: &'static str,
    names: [&'static str; N],
    positional: usize,
    interned: PyOnceLock<[Py<PyString>; N]>,
}

impl<const N: usize> Params<N> {
    /// `positional`: the first so many parameters may also be given by position.
    pub const fn new(func: &'static str, names: [&'static str; N], positional: usize) -> Self {
        Params { func, names, positional, interned: PyOnceLock::new() }
    }

    fn interned(&self, py: Python<'_>) -> &[Py<PyString>; N] {
        self.interned.get_or_init(py, || self.names.map(|n| PyString::intern(py, n).unbind()))
    }

    /// Each parameter's argument, `None` when not given. Unknown keywords, too many positional
    /// arguments and a parameter given twice are `TypeError`s, as for a Python function.
    pub fn parse<'a, 'py>(
        &self,
        args: &CallArgs<'a, 'py>,
    ) -> PyResult<[Option<Borrowed<'a, 'py, PyAny>>; N]> {
        let py = args.py;
        let mut out: [Option<Borrowed<'a, 'py, PyAny>>; N] = [None; N];
        let n = args.positional.len();
        if n > self.positional {
            return Err(PyTypeError::new_err(format!(
                "{}() takes {} positional argument{} but {n} were given",
                self.func,
                self.positional,
                if self.positional == 1 { "" } else { "s" }
            )));
        }
        for (slot, &item) in out.iter_mut().zip(args.positional) {
            // SAFETY: the caller's arguments are valid object pointers for the whole call.
            *slot = Some(unsafe { Borrowed::from_ptr(py, item) });
        }
        let Some(kwnames) = args.kwnames else { return Ok(out) };
        let interned = self.interned(py);
        for (k, &value) in args.keywords.iter().enumerate() {
            let name = kwnames.get_borrowed_item(k)?;
            let found = interned
                .iter()
                .position(|s| s.as_ptr() == name.as_ptr())
                // A name built at run time (`**options`): the same text in another object.
                .or_else(|| interned.iter().position(|s| name.eq(s.bind(py)).unwrap_or(false)));
            let Some(i) = found else {
                let repr = name.repr()?;
                return Err(PyTypeError::new_err(format!(
                    "{}() got an unexpected keyword argument {repr}",
                    self.func
                )));
            };
            // SAFETY: as above.
            let value = unsafe { Borrowed::from_ptr(py, value) };
            if out[i].replace(value).is_some() {
                return Err(PyTypeError::new_err(format!(
                    "{}() got multiple values for argument '{}'",
                    self.func, self.names[i]
                )));
            }
        }
        Ok(out)
    }

    /// The `TypeError` of a missing required argument.
    pub fn missing(&self, i: usize) -> PyErr {
        PyTypeError::new_err(format!("{}() missing required argument: '{}'", self.func, self.names[i]))
    }

    /// The `TypeError` of an argument of the wrong type.
    pub fn wrong_type(&self, i: usize, expected: &str, got: &Bound<'_, PyAny>) -> PyErr {
        let type_name = got.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!(
            "{}() argument '{}' must be {expected}, not {type_name}",
            self.func, self.names[i]
        ))
    }

    /// An optional number of seconds (`None` and absent are the same): whatever `float()` takes
    /// without parsing text (int, float, numpy scalars, Decimal). A negative or non-finite one is
    /// refused by the core, naming the option.
    pub fn seconds(&self, i: usize, v: Option<Borrowed<'_, '_, PyAny>>) -> PyResult<Option<f64>> {
        match v {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) if !v.is_instance_of::<PyString>() => {
                v.extract::<f64>().map(Some).map_err(|_| self.wrong_type(i, "a number", &v))
            }
            Some(v) => Err(self.wrong_type(i, "a number", &v)),
        }
    }
}

/// `v`, unless it is absent or `None`.
pub fn given<'a, 'py>(v: Option<Borrowed<'a, 'py, PyAny>>) -> Option<Borrowed<'a, 'py, PyAny>> {
    v.filter(|v| !v.is_none())
}

/// The body of a fast method: the instance (already type-checked) and the call's arguments.
pub type Body = for<'a, 'py> fn(&Bound<'py, PyAny>, &CallArgs<'a, 'py>) -> PyResult<Py<PyAny>>;

/// Runs `body` for a vectorcall: Python errors are set and `NULL` returned, a panic becomes
/// `pyo3_runtime.PanicException`, as PyO3's own trampolines do.
///
/// # Safety
/// Called by CPython for a `METH_FASTCALL | METH_KEYWORDS` method: the GIL is held, `slf` is an
/// instance of the descriptor's type, `args` holds `nargs` positional arguments followed by one
/// value per name in `kwnames` (a tuple, or `NULL`).
pub unsafe fn trampoline(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    body: Body,
) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held during a method call.
    let py = unsafe { Python::assume_attached() };
    let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<Py<PyAny>> {
        let nargs = usize::try_from(nargs).unwrap_or(0);
        let kwnames = if kwnames.is_null() {
            None
        } else {
            // SAFETY: a non-NULL `kwnames` is a tuple of str, borrowed for the call.
            Some(unsafe { Borrowed::from_ptr(py, kwnames).cast_unchecked::<PyTuple>() })
        };
        let nkw = kwnames.as_ref().map_or(0, |t| t.len());
        // SAFETY: `args` holds `nargs + len(kwnames)` valid pointers (none when both are 0).
        let all =
            if nargs + nkw == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(args, nargs + nkw) } };
        let (positional, keywords) = all.split_at(nargs);
        // SAFETY: `slf` is a valid object for the call.
        let slf = unsafe { Borrowed::from_ptr(py, slf) };
        body(&slf, &CallArgs { py, positional, keywords, kwnames })
    }));
    let err = match outcome {
        Ok(Ok(obj)) => return obj.into_ptr(),
        Ok(Err(e)) => e,
        Err(payload) => {
            let message = if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else {
                "panic from Rust code".to_string()
            };
            PanicException::new_err((message,))
        }
    };
    err.restore(py);
    std::ptr::null_mut()
}

/// `fn(slf, args, nargs, kwnames)`: CPython's `PyCFunctionFastWithKeywords`.
pub type FastFn = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// Adds `name` to `cls` as a `METH_FASTCALL | METH_KEYWORDS` method. `doc` starts with the
/// signature line (`name($self, ...)\n--\n\n`), which gives the method its `__text_signature__`.
pub fn add_method(
    cls: &Bound<'_, PyType>,
    name: &'static CStr,
    doc: &'static CStr,
    f: FastFn,
) -> PyResult<()> {
    let py = cls.py();
    // SAFETY: only the stored pointer's type differs; CPython calls it by `ml_flags`, with the
    // `PyCFunctionFastWithKeywords` signature of `f`.
    let meth = ffi::PyMethodDefPointer {
        PyCFunctionWithKeywords: unsafe { std::mem::transmute::<FastFn, ffi::PyCFunctionWithKeywords>(f) },
    };
    // The descriptor keeps a pointer to its definition: it lives as long as the process.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: meth,
        ml_flags: METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.as_ptr() as *const c_char,
    }));
    // SAFETY: `cls` is a type object and `def` is 'static.
    let descr = unsafe { ffi::PyDescr_NewMethod(cls.as_ptr().cast::<ffi::PyTypeObject>(), def) };
    if descr.is_null() {
        return Err(PyErr::take(py).unwrap_or_else(|| PyValueError::new_err("PyDescr_NewMethod failed")));
    }
    // SAFETY: a new reference, checked above.
    let descr = unsafe { Bound::from_owned_ptr(py, descr) };
    cls.setattr(name.to_str().map_err(|_| invalid_argument("method name"))?, descr)
}
