//! The core's `log` records, forwarded to Python's `logging` module, logger `failsoft` (SPEC §4).
//!
//! A small bridge rather than `pyo3-log`: records come from library threads, so each one must go
//! through [`with_python`] (never attach to a finalizing interpreter), and only the core's own
//! records are forwarded (the HTTP stack's debug chatter would take the GIL on every request).
//! Reads never log, so taking the GIL per record costs nothing on the read path.

use crate::lifecycle::with_python;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct Bridge;

/// Python `logging` levels.
fn py_level(level: log::Level) -> u32 {
    match level {
        log::Level::Error => 40,
        log::Level::Warn => 30,
        log::Level::Info => 20,
        log::Level::Debug | log::Level::Trace => 10,
    }
}

fn is_ours(target: &str) -> bool {
    target == "failsoft" || target.starts_with("failsoft::") || target.starts_with("_native")
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        is_ours(metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = py_level(record.level());
        let message = record.args().to_string();
        with_python(|py| {
            // A record must never raise into (or clobber an exception pending in) the caller.
            let pending = PyErr::take(py);
            let result = (|| -> PyResult<()> {
                let logger = LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import("logging")?.call_method1("getLogger", ("failsoft",))?.unbind())
                })?;
                let logger = logger.bind(py);
                if logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
                    logger.call_method1("log", (level, "%s", message))?;
                }
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

/// Installs the bridge as the `log` logger of this module (one per process: the extension has
/// its own copy of the `log` crate).
pub fn install() {
    static BRIDGE: Bridge = Bridge;
    if log::set_logger(&BRIDGE).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}
