//! The core logs through the `log` crate; in Node it is a debug-style switch, silent by default
//! (a library must not write to a service's stderr on its own):
//! `NODE_DEBUG=failsoft` shows everything down to `debug`, `FAILSOFT_LOG=warn|info|debug|trace`
//! picks a level. Lines look like `util.debuglog`'s: `FAILSOFT 1234: WARN message`.
//! This is only the sink: the core's bridge (`failsoft::logging`) decides which records pass
//! (third-party crates at most `warn`) and redacts credentials before a line is written.

use log::{LevelFilter, Log, Metadata, Record};
use napi_derive::napi;
use std::sync::Once;

/// `text` with credentials (URL passwords, API keys, `Authorization` values, configured secrets)
/// replaced by `<redacted>`: the core's redaction, for what the JavaScript layer shows itself.
#[napi]
pub fn redact(text: String) -> String {
    failsoft::logging::redact(&text).into_owned()
}

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        eprintln!("FAILSOFT {}: {} {}", std::process::id(), record.level(), record.args());
    }

    fn flush(&self) {}
}

static INIT: Once = Once::new();

fn level_from_env() -> LevelFilter {
    if let Ok(v) = std::env::var("FAILSOFT_LOG") {
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "off" | "0" | "false" => {}
            "error" => return LevelFilter::Error,
            "warn" | "warning" => return LevelFilter::Warn,
            "info" => return LevelFilter::Info,
            "debug" | "1" | "true" => return LevelFilter::Debug,
            "trace" => return LevelFilter::Trace,
            other => eprintln!("FAILSOFT {}: WARN ignoring FAILSOFT_LOG={other:?}", std::process::id()),
        }
    }
    let node_debug = std::env::var("NODE_DEBUG").unwrap_or_default();
    if node_debug.split([',', ' ']).any(|s| s.eq_ignore_ascii_case("failsoft") || s == "*") {
        return LevelFilter::Debug;
    }
    LevelFilter::Off
}

/// Installs the logger once per process (unless the host process already has one).
pub(crate) fn init() {
    INIT.call_once(|| {
        let level = level_from_env();
        if level != LevelFilter::Off {
            // Fails only when the host process already installed a logger; that one wins.
            let _ = failsoft::logging::install(Box::new(StderrLogger), level);
        }
    });
}
