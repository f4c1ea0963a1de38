//! The core's `log` records, forwarded to Python's `logging` module, logger `failsoft` (SPEC §4).
//!
//! A small sink rather than `pyo3-log`: records come from library threads, so each one must go
//! through [`with_python`] (never attach to a finalizing interpreter). It sits behind the core's
//! bridge (`failsoft::logging`), which passes third-party crates only at `warn` or above (the HTTP
//! stack's debug chatter would take the GIL on every request) and redacts credentials first.
//! Reads never log, so taking the GIL per record costs nothing on the read path.

use crate::lifecycle::with_python;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct Sink;

/// The Python `logging` level of a record: `log` numbers its levels from `Error` = 1 to `Trace` =
/// 5, Python from `ERROR` = 40 down to `DEBUG` = 10 (a trace record is a debug one).
fn py_level(level: log::Level) -> u32 {
    50 - 10 * (level as u32).min(4)
}

impl log::Log for Sink {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = py_level(record.level());
        let message = record.args().to_string();
        with_python(|py| {
            // A record must never raise into (or clobber an exception pending in) the caller.
            let pending = PyErr::take(py);
            let result = (|| -> PyResult<()> {
                let logger = LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import("logging")?.call_method1("getLogger", ("failsoft",))?.unbind())
                })?;
                // `Logger.log` drops the record itself when the level is not enabled.
                logger.bind(py).call_method1("log", (level, "%s", message))?;
                Ok(())
            })();
            if let Err(e) = result {
                e.write_unraisable(py, None);
            }
            if let Some(e) = pending {
                e.restore(py);
            }
        });
    }

    fn flush(&self) {}
}

/// Installs the sink behind the core's bridge as the `log` logger of this module (one per
/// process: the extension has its own copy of the `log` crate). Every level is passed on;
/// Python's `logging` configuration decides what is shown.
pub fn install() {
    let _ = failsoft::logging::install(Box::new(Sink), log::LevelFilter::Trace);
}
