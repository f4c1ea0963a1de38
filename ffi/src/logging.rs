//! The core logs through the `log` crate (SPEC §4: each language's own logger); C has no standard
//! logger, so a host hands failsoft a callback. Without one, failsoft logs nothing. The callback
//! is the sink behind the core's bridge (`failsoft::logging`), which filters third-party records
//! and redacts credentials before a message reaches it.

use crate::error::{landing_pad, lossy_cstring, Status};
use std::ffi::{c_char, c_void};
use std::sync::{Once, RwLock};

/// A log callback: `level` (1 error, 2 warn, 3 info, 4 debug, 5 trace), the Rust module that
/// logged (`failsoft::client`, ...), the message (both borrowed for the call), and the
/// `user_data` given to `failsoft_set_log_callback`.
pub type LogCallback = Option<
    unsafe extern "C" fn(level: i32, target: *const c_char, message: *const c_char, user_data: *mut c_void),
>;

type Callback = unsafe extern "C" fn(i32, *const c_char, *const c_char, *mut c_void);

struct Sink {
    callback: Callback,
    user_data: *mut c_void,
}

// SAFETY: the host promises (in `failsoft_set_log_callback`'s contract) that the callback may be
// called with `user_data` from any thread.
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static INSTALL: Once = Once::new();

/// The sink: hands each record the bridge lets through to the registered callback.
struct Forward;

impl log::Log for Forward {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let sink = SINK.read().unwrap_or_else(|p| p.into_inner());
        if let Some(sink) = sink.as_ref() {
            let target = lossy_cstring(record.target().to_string());
            let message = lossy_cstring(record.args().to_string());
            // SAFETY: a C function pointer and the user data it was registered with; the strings
            // live until it returns.
            unsafe {
                (sink.callback)(record.level() as i32, target.as_ptr(), message.as_ptr(), sink.user_data)
            };
        }
    }

    fn flush(&self) {}
}

/// Sends failsoft's log records at `max_level` or more severe (1 error ... 5 trace; 2, warnings,
/// is a good default) to `callback`, or turns logging off when `callback` is NULL or `max_level`
/// is 0. Without a callback failsoft logs nothing. Reads never log; messages never contain a
/// secret.
///
/// The callback may run on any thread, including library threads and threads inside a failsoft
/// call; it must not unwind and must not call `failsoft_set_log_callback`. Replacing or removing
/// it waits for calls in progress, after which the previous `user_data` may be freed.
///
/// Errors: `FAILSOFT_INVALID_ARGUMENT` for a level outside 0..=5. Ownership: failsoft keeps
/// `callback` and `user_data` (never freeing `user_data`) until replaced. Thread-safety: any
/// thread; one callback per process.
///
/// # Safety
/// `callback` is NULL or safe to call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn failsoft_set_log_callback(
    callback: LogCallback,
    max_level: i32,
    user_data: *mut c_void,
) -> Status {
    landing_pad(|| {
        let level = match max_level {
            0 => log::LevelFilter::Off,
            1 => log::LevelFilter::Error,
            2 => log::LevelFilter::Warn,
            3 => log::LevelFilter::Info,
            4 => log::LevelFilter::Debug,
            5 => log::LevelFilter::Trace,
            other => {
                return Err(failsoft::Error::invalid_argument(format!(
                    "max_level must be 0 (off) to 5 (trace), got {other}"
                )))
            }
        };
        INSTALL.call_once(|| {
            if failsoft::logging::install(Box::new(Forward), log::LevelFilter::Off).is_err() {
                // Another Rust library in this library's copy of `log` got there first; the
                // callback then receives nothing, which the next line makes visible.
                eprintln!("failsoft: a logger is already installed; failsoft_set_log_callback has no effect");
            }
        });
        let sink = callback.map(|callback| Sink { callback, user_data });
        let on = sink.is_some() && level != log::LevelFilter::Off;
        *SINK.write().unwrap_or_else(|p| p.into_inner()) = sink;
        log::set_max_level(if on { level } else { log::LevelFilter::Off });
        Ok(())
    })
}
