//! A target: one OpenAI-compatible endpoint (base URL, key, model, timeout).

use crate::error::{Error, Result};
use crate::http::redact_url;
use std::fmt;
use std::time::Duration;

/// One OpenAI-compatible endpoint to call, in the order of [`LlmOptions::targets`](super::LlmOptions)
/// (primary first). `Debug` never shows the API key (nor credentials or a query in the URL).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The API root, usually ending in `/v1`; the call goes to `{base_url}/chat/completions`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`; `None` sends no `Authorization` header.
    pub api_key: Option<String>,
    /// Replaces the request's `model`; `None` keeps the request's model.
    pub model: Option<String>,
    /// Per-attempt timeout; `None` uses `LlmOptions::timeout`. For a stream, it is the idle
    /// timeout between reads (and the first-chunk timeout unless `first_chunk_timeout` is set).
    pub timeout: Option<Duration>,
}

impl Target {
    /// A target at `base_url` with no key, the request's model and the default timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        Target { base_url: base_url.into(), ..Target::default() }
    }

    /// The same target with an API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The same target with a model that replaces the request's.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The same target with its own per-attempt timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("base_url", &redact_url(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A validated target with what every call needs precomputed.
pub(crate) struct TargetRt {
    pub(crate) index: usize,
    /// `{base_url}/chat/completions`.
    pub(crate) url: String,
    /// The base URL without credentials or query, for messages and `served_by`.
    pub(crate) shown_base: String,
    /// The chat URL without credentials or query, for messages.
    pub(crate) shown_url: String,
    pub(crate) model: Option<String>,
    /// `Bearer <key>`.
    pub(crate) authorization: Option<String>,
    api_key: Option<String>,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for TargetRt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("index", &self.index)
            .field("base_url", &self.shown_base)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl TargetRt {
    pub(crate) fn new(index: usize, t: &Target, default_timeout: Duration) -> Result<Self> {
        let base = t.base_url.trim();
        let shown = redact_url(base);
        let lower = base.to_ascii_lowercase();
        let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') => {}
            _ => {
                return Err(Error::invalid_argument(format!(
                    "LLM target {index}: base_url {shown:?} is not an http(s) URL"
                )))
            }
        }
        if base.contains(char::is_whitespace) {
            return Err(Error::invalid_argument(format!(
                "LLM target {index}: base_url {shown:?} contains spaces"
            )));
        }
        if let Some(k) = &t.api_key {
            // Said without the key itself.
            if k.is_empty() || k.chars().any(|c| c.is_control()) {
                return Err(Error::invalid_argument(format!(
                    "LLM target {index}: api_key is empty or contains control characters"
                )));
            }
        }
        crate::logging::register_url_password(base);
        if let Some(k) = &t.api_key {
            crate::logging::register_header("Authorization", k);
        }
        let timeout = t.timeout.unwrap_or(default_timeout);
        if timeout.is_zero() {
            return Err(Error::invalid_argument(format!("LLM target {index}: timeout is zero")));
        }
        let root = base.trim_end_matches('/');
        let url = format!("{root}/chat/completions");
        Ok(TargetRt {
            index,
            shown_url: redact_url(&url),
            url,
            shown_base: shown,
            model: t.model.clone(),
            authorization: t.api_key.as_ref().map(|k| format!("Bearer {k}")),
            api_key: t.api_key.clone(),
            timeout,
        })
    }

    /// `message` with this target's key blotted out, in case a server echoed it.
    pub(crate) fn scrub(&self, message: String) -> String {
        scrub_with(self.api_key.as_deref(), message)
    }

    /// `e` with its message scrubbed of the key.
    pub(crate) fn scrub_error(&self, mut e: Error) -> Error {
        e.message = self.scrub(std::mem::take(&mut e.message));
        e
    }
}

fn scrub_with(key: Option<&str>, message: String) -> String {
    match key {
        // Very short "keys" (test placeholders) would mangle messages and protect nothing.
        Some(k) if k.len() >= 6 && message.contains(k) => message.replace(k, "<redacted>"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let t = Target::new("https://user:pw@api.example/v1?k=1").api_key("sk-secret-123").model("m");
        let s = format!("{t:?}");
        assert!(!s.contains("sk-secret-123") && !s.contains("pw"), "{s}");
        assert!(s.contains("<redacted>") && s.contains("api.example/v1"), "{s}");
    }

    #[test]
    fn validates_urls() {
        let ok = |u: &str| TargetRt::new(0, &Target::new(u), Duration::from_secs(1));
        assert!(ok("http://127.0.0.1:1/v1").is_ok());
        assert_eq!(ok("https://api.example/v1/").unwrap().url, "https://api.example/v1/chat/completions");
        for bad in ["", "ftp://x/v1", "api.openai.com/v1", "http://", "http:///v1", "http://a b/v1"] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }
}
