//! The C ABI of failsoft: `include/failsoft.h` over the core crate. Every export converts C types
//! to the core's and back and nothing more; the behaviour lives in `failsoft` once.
//!
//! Conventions (the getsentry/symbolic and apache/opendal models):
//! - typed opaque handles (`failsoft_client`, `failsoft_value`, `failsoft_llm`,
//!   `failsoft_chat_result`) with NULL-safe `*_free`;
//! - every fallible function returns a `failsoft_status`, with the message in a thread-local
//!   last error; NULL or invalid UTF-8 in any argument is `FAILSOFT_INVALID_ARGUMENT`;
//! - every export runs inside one landing pad (`error::landing_pad`) so a panic never unwinds
//!   into the host;
//! - strings handed out through `char **` are freed with `failsoft_string_free`; `const char *`
//!   results are borrowed from their handle (or static) and documented as such.

#![allow(clippy::missing_safety_doc)] // every unsafe export documents its contract under "# Safety"

// Declaration order is the header's order (cbindgen reads the modules in turn); each `mod`
// stands alone so that rustfmt keeps it.
mod error;

mod args;

mod client;

mod value;

mod prompt;

mod config;

mod template;

mod logging;

mod listener;

mod llm;

// The landing pad's panic path is proven by Rust tests: the library exports nothing for a test to
// make it panic with.
/// cbindgen:ignore
#[cfg(test)]
#[path = "../tests/unit/panics.rs"]
mod panics;

pub use args::failsoft_string_free;
pub use client::Client;
pub use error::Status;
pub use listener::ChangeCallback;
pub use llm::{ChatResult, ChunkCallback, Llm};
pub use logging::LogCallback;
pub use value::{Value, NO_VERSION};

use std::ffi::c_char;

/// The ABI version this header describes. Bumped on any incompatible change of a signature,
/// a struct layout or a meaning; compare it with `failsoft_abi_version()` at start-up to catch a
/// program built against one header and run with another library.
pub const ABI_VERSION: u32 = 1;

/// The library's version, such as `"0.1.0"`: the workspace version, the same as the Python and
/// Node packages built from the same sources.
///
/// Ownership: a static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn failsoft_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of the loaded library (see `FAILSOFT_ABI_VERSION`).
///
/// Ownership: nothing to free. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn failsoft_abi_version() -> u32 {
    ABI_VERSION
}
