//! The sources failsoft reads from.

pub mod file;
pub mod http;
pub mod langfuse;
pub mod opik;

pub use file::FileSource;
pub use http::HttpSource;
pub use langfuse::{LangfuseOptions, LangfuseSource};
pub use opik::{OpikOptions, OpikSource};

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

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(super::encode_path_segment("folder/x y ü"), "folder%2Fx%20y%20%C3%BC");
        assert_eq!(super::encode_path_segment("a-b.c_d~e"), "a-b.c_d~e");
    }
}
