//! The sources failsoft reads from.

pub mod file;
pub mod http;
pub mod langfuse;
pub mod opik;

pub use file::FileSource;
pub use http::HttpSource;
pub use langfuse::{LangfuseOptions, LangfuseSource};
pub use opik::{OpikOptions, OpikSource};

use crate::error::{Error, Result};
use crate::http::redact_url;

/// Percent-encodes `s` for a URL path segment, leaving only RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`): `folder/x` becomes `folder%2Fx`, as the Langfuse SDKs do.
pub fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An environment variable's value, trimmed; `None` when unset or blank.
pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Checks an http(s) base URL and drops trailing slashes.
pub(crate) fn normalize_base_url(raw: &str, option: &str) -> Result<String> {
    let url = raw.trim().trim_end_matches('/');
    let host = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    if host.is_none_or(str::is_empty) {
        return Err(Error::invalid_argument(format!(
            "{option} must be an http:// or https:// URL, got {:?}",
            redact_url(url)
        )));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(super::encode_path_segment("folder/x y ü"), "folder%2Fx%20y%20%C3%BC");
        assert_eq!(super::encode_path_segment("a-b.c_d~e"), "a-b.c_d~e");
    }
}
