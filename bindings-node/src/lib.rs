//! The native half of the `failsoft` npm package: napi-rs over the core crate.
//!
//! This layer only converts types. The public JavaScript API (`lib/*.js`, typed by
//! `index.d.ts`) wraps it; `binding.d.ts` is what `napi build` generates from this crate.
//!
//! Two things shape it:
//! - **Warm reads never leave the JS thread.** A client keeps one *slot* per key it was asked
//!   for (an index the JS side caches), so a read is one call with numbers in and a number out:
//!   where the value came from, whether it has an error, and a generation counter of the payload.
//!   The JS side converts a payload to JS once per generation and reuses it, so a warm read
//!   creates no JS object here.
//! - **Cold reads wait on a Rust thread**, never on libuv's 4-thread pool, and settle a Promise
//!   through a threadsafe function when the core answers (at most the cold deadline).

mod client;
mod convert;
mod fast;
mod llm;
mod logger;
mod prompt;
mod template;
mod waiters;

pub use client::*;
pub use convert::*;
pub use llm::*;
pub use logger::redact;
pub use prompt::*;
pub use template::*;
