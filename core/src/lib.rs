//! failsoft: remote prompts, configuration and LLM calls that stay available when the network or
//! a vendor fails. See `SPEC.md` for the behaviour contract; this crate is the one
//! implementation every language binding wraps.

pub mod error;
pub mod http;
pub mod key;
pub mod source;
pub mod sources;
pub mod value;

pub use error::{Error, ErrorKind, Result};
pub use key::{Key, Qualifier};
pub use source::{FetchRequest, Fetched, Source};
pub use value::{Payload, Value, ValueSource};
