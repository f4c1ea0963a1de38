//! failsoft: remote prompts, configuration and LLM calls that stay available when the network or
//! a vendor fails. See `SPEC.md` for the behaviour contract; this crate is the one
//! implementation every language binding wraps.

pub mod client;
mod clock;
pub mod config;
mod entry;
pub mod error;
pub mod fleet;
mod fork;
pub mod http;
pub mod key;
pub mod langchain;
pub(crate) mod listeners;
pub mod llm;
pub mod logging;
pub mod options;
pub mod prompt;
mod runtime;
mod serial;
pub mod snapshot;
pub mod source;
pub mod sources;
pub mod spec;
mod stats;
pub mod status;
pub mod template;
mod thread_slot;
pub mod value;

pub use client::{Change, Client, PrefetchError};
pub use error::{Error, ErrorKind, Result};
pub use key::{Key, Qualifier};
pub use options::{ClientOptions, Fallback, ReadOptions};
pub use prompt::{Prompt, PromptKind, PromptRequest};
pub use source::{FetchRequest, Fetched, FetchedValue, Source};
pub use spec::{ClientSpec, FleetSpec, SourceSpec};
pub use status::{State, Status};
pub use value::{Payload, Value, ValueSource};
