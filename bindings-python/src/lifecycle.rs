//! When a library thread may touch Python (SPEC §9).
//!
//! The core's threads (refresh workers, fetch threads) call into Python for two things only:
//! `on_change` callbacks and log records. They must never attach to an interpreter that is
//! shutting down: on Python < 3.14 a thread that attaches then is killed with `pthread_exit`,
//! which unwinds through Rust frames, and `Py_Finalize` may have freed what it touches.
//!
//! `failsoft/__init__.py` registers [`shutdown`] with `atexit`; atexit handlers run before the
//! interpreter starts finalizing, while everything is still alive. It raises a flag that stops
//! every later attach, then waits (with the GIL released, bounded) for the calls already inside
//! Python to leave. `Py_IsFinalizing` is checked as well, for interpreters torn down without
//! running atexit handlers (embedders, `os._exit` does not matter: no thread survives it).

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Library threads currently attached (or attaching) to Python.
static IN_PYTHON: AtomicUsize = AtomicUsize::new(0);

/// How long `shutdown` waits for callbacks in progress.
const DRAIN_BOUND: Duration = Duration::from_millis(300);

type IsFinalizing = unsafe extern "C" fn() -> libc::c_int;

/// `Py_IsFinalizing` (3.13+) or `_Py_IsFinalizing` (3.9–3.12), looked up at run time: neither is
/// part of the abi3 surface this module is built against.
fn is_finalizing_fn() -> Option<IsFinalizing> {
    static FN: OnceLock<Option<IsFinalizing>> = OnceLock::new();
    *FN.get_or_init(|| {
        for name in [c"Py_IsFinalizing", c"_Py_IsFinalizing"] {
            // SAFETY: dlsym with RTLD_DEFAULT only looks a symbol up; both symbols, when present,
            // have the signature `int (void)`.
            let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            if !sym.is_null() {
                return Some(unsafe { std::mem::transmute::<*mut libc::c_void, IsFinalizing>(sym) });
            }
        }
        None
    })
}

/// Whether Python must not be touched from a library thread any more.
pub fn python_unavailable() -> bool {
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return true;
    }
    // SAFETY: both functions only read the runtime state and are safe without the GIL.
    is_finalizing_fn().is_some_and(|f| unsafe { f() } != 0)
}

/// Runs `f` attached to Python from a library thread, unless the interpreter is shutting down
/// (then returns `None` without touching Python).
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if python_unavailable() {
        return None;
    }
    IN_PYTHON.fetch_add(1, Ordering::SeqCst);
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _leave = Leave;
    // Re-checked after announcing ourselves: `shutdown` raises the flag before it counts.
    if python_unavailable() {
        return None;
    }
    Python::try_attach(f)
}

/// Whether the interpreter is going away (checked by `Drop` impls that run during finalization).
pub fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

/// The atexit hook: no library thread attaches to Python from now on.
#[pyfunction]
pub fn _shutdown(py: Python<'_>) {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    // Threads already waiting for the GIL need it to finish; give it up while they drain.
    py.detach(|| {
        let until = Instant::now() + DRAIN_BOUND;
        while IN_PYTHON.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
