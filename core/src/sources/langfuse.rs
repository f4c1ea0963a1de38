//! Langfuse prompt management: `GET {base}/api/public/v2/prompts/{name}?label=…|version=…`.
//!
//! # Keys
//!
//! The key's name is the prompt name (any text: it is percent-encoded with no safe characters,
//! so `folder/x` is requested as `folder%2Fx`). Qualifiers:
//!
//! - [`Qualifier::Default`]: the `production` label (no query, the server's default);
//! - [`Qualifier::Label`]: a label matching `^[a-z0-9_\-.]+$` (`latest` included);
//! - [`Qualifier::Version`]: a version number.
//!
//! Anything else is `InvalidArgument` before any I/O. Build keys with
//! [`crate::prompt::prompt_key`], which maps label `production` to `Default` so that "no label"
//! and "production" share one cache entry (and one request), as the official SDKs do.
//!
//! # Credentials
//!
//! HTTP Basic with the public key as user and the secret key as password, plus the headers the
//! SDKs send (`X-Langfuse-Sdk-Name: failsoft`, `X-Langfuse-Sdk-Version`,
//! `X-Langfuse-Public-Key`). Missing keys do not fail the construction (creating a source never
//! does I/O and never fails on the environment): every fetch then fails with `Unauthorized`
//! naming the missing variable, so a fallback is served and the client status turns `fatal`.
//! The secret key never appears in an error, a log, `Debug` or [`Source::identity`].
//!
//! # Data
//!
//! The value's data is the server's body as the prompt JSON, by
//! [`crate::prompt::normalize_prompt`] (the prompt data model lives there); a body of any other
//! shape is `InvalidResponse`. The value's version is the prompt's version.

use super::{encode_path_segment, env_nonempty, normalize_base_url};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Http, DEFAULT_MAX_BYTES};
use crate::key::{Key, Qualifier};
use crate::options::env_seconds;
use crate::prompt::{normalize_prompt, validate_label};
use crate::source::{FetchRequest, Fetched, FetchedValue, Source};
use std::time::Duration;

/// The Langfuse cloud, used when neither the option nor `LANGFUSE_BASE_URL`/`LANGFUSE_HOST` is set.
pub const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";
/// The environment variable of the source's default TTL.
pub const TTL_ENV: &str = "LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS";

/// Settings of a [`LangfuseSource`]; `None` takes the environment variable named on each field.
#[derive(Clone, Default)]
pub struct LangfuseOptions {
    /// `LANGFUSE_BASE_URL`, else `LANGFUSE_HOST`, else `https://cloud.langfuse.com`.
    pub base_url: Option<String>,
    /// `LANGFUSE_PUBLIC_KEY` (`pk-lf-…`).
    pub public_key: Option<String>,
    /// `LANGFUSE_SECRET_KEY` (`sk-lf-…`). Never shown anywhere.
    pub secret_key: Option<String>,
    /// Bound on one request, `LANGFUSE_TIMEOUT` (seconds), else 10 s. The read's own deadline
    /// (the cold deadline) still applies when shorter.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for LangfuseOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseOptions")
            .field("base_url", &self.base_url)
            .field("public_key", &self.public_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Reads Langfuse prompts. See the [module documentation](self).
#[derive(Clone)]
pub struct LangfuseSource {
    base_url: String,
    public_key: Option<String>,
    /// `Basic base64(pk:sk)`, when both keys are known.
    authorization: Option<String>,
    /// Kept only to scrub it from server messages.
    secret_key: Option<String>,
    http: Http,
}

impl std::fmt::Debug for LangfuseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseSource")
            .field("base_url", &self.base_url)
            .field("public_key", &self.public_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl LangfuseSource {
    /// A source from `options`, each `None` taken from the environment. No I/O. Fails only on a
    /// base URL that is not http(s) (`InvalidArgument`); missing keys fail each fetch instead.
    pub fn new(options: LangfuseOptions) -> Result<LangfuseSource> {
        let base_raw = options
            .base_url
            .filter(|u| !u.trim().is_empty())
            .or_else(|| env_nonempty("LANGFUSE_BASE_URL"))
            .or_else(|| env_nonempty("LANGFUSE_HOST"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let base_url = normalize_base_url(&base_raw, "the Langfuse base URL")?;
        let public_key =
            options.public_key.filter(|k| !k.is_empty()).or_else(|| env_nonempty("LANGFUSE_PUBLIC_KEY"));
        let secret_key =
            options.secret_key.filter(|k| !k.is_empty()).or_else(|| env_nonempty("LANGFUSE_SECRET_KEY"));
        let timeout = match options.timeout {
            Some(t) if t.is_zero() => {
                return Err(Error::invalid_argument("the Langfuse timeout must be greater than zero"))
            }
            Some(t) => t,
            None => {
                env_seconds("LANGFUSE_TIMEOUT").filter(|t| !t.is_zero()).unwrap_or(Duration::from_secs(10))
            }
        };
        let authorization = match (&public_key, &secret_key) {
            (Some(pk), Some(sk)) => Some(format!("Basic {}", base64(format!("{pk}:{sk}").as_bytes()))),
            _ => None,
        };
        crate::logging::register_url_password(&base_raw);
        for secret in [secret_key.as_deref(), authorization.as_deref()].into_iter().flatten() {
            crate::logging::register_header("Authorization", secret);
        }
        let http = Http::new(timeout, timeout.min(Duration::from_secs(3)), DEFAULT_MAX_BYTES);
        Ok(LangfuseSource { base_url, public_key, authorization, secret_key, http })
    }

    /// From the environment only.
    pub fn from_env() -> Result<LangfuseSource> {
        LangfuseSource::new(LangfuseOptions::default())
    }

    /// Replaces the HTTP settings (timeouts, body cap).
    pub fn with_http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn public_key(&self) -> Option<&str> {
        self.public_key.as_deref()
    }

    /// The URL a key is read from.
    pub fn url_for(&self, key: &Key) -> String {
        let base = format!("{}/api/public/v2/prompts/{}", self.base_url, encode_path_segment(&key.name));
        match &key.qualifier {
            Qualifier::Label(l) => format!("{base}?label={}", encode_path_segment(l)),
            Qualifier::Version(v) => format!("{base}?version={v}"),
            _ => base,
        }
    }

    /// `text` with the secret key blanked out (server messages are echoed in errors).
    fn scrub(&self, mut e: Error) -> Error {
        if let Some(sk) = &self.secret_key {
            if e.message.contains(sk.as_str()) {
                e.message = e.message.replace(sk.as_str(), "<redacted>");
            }
        }
        e
    }
}

impl Source for LangfuseSource {
    fn kind(&self) -> &'static str {
        "langfuse"
    }

    fn identity(&self) -> String {
        format!("langfuse|{}|{}", self.base_url, self.public_key.as_deref().unwrap_or(""))
    }

    fn ttl_env(&self) -> Option<&'static str> {
        Some(TTL_ENV)
    }

    fn validate_key(&self, key: &Key) -> Result<()> {
        if key.name.is_empty() {
            return Err(Error::invalid_argument("the prompt name must not be empty"));
        }
        match &key.qualifier {
            Qualifier::Default | Qualifier::Version(_) => Ok(()),
            Qualifier::Label(l) => validate_label(l),
            other => Err(Error::invalid_argument(format!(
                "Langfuse prompts are read by label or version, not {}",
                match other {
                    Qualifier::Env(_) => "env",
                    Qualifier::Named(_) => "version name",
                    _ => "latest (use the label \"latest\")",
                }
            ))),
        }
    }

    fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched> {
        let (Some(public_key), Some(authorization)) = (&self.public_key, &self.authorization) else {
            let missing = match (&self.public_key, &self.secret_key) {
                (None, None) => "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are",
                (None, _) => "LANGFUSE_PUBLIC_KEY is",
                _ => "LANGFUSE_SECRET_KEY is",
            };
            return Err(Error::unauthorized(format!(
                "{missing} not set (pass public_key/secret_key or set the environment variables)"
            )));
        };
        let url = self.url_for(req.key);
        let mut headers: Vec<(&str, &str)> = vec![
            ("Authorization", authorization.as_str()),
            ("Accept", "application/json"),
            ("X-Langfuse-Sdk-Name", "failsoft"),
            ("X-Langfuse-Sdk-Version", env!("CARGO_PKG_VERSION")),
            ("X-Langfuse-Public-Key", public_key.as_str()),
        ];
        if let Some(etag) = req.etag {
            headers.push(("If-None-Match", etag));
        }
        let resp = self.http.get(&url, &headers, req.deadline).map_err(|e| self.scrub(e))?;
        match resp.status {
            200..=299 => {}
            304 if req.etag.is_some() => return Ok(Fetched::NotModified),
            _ => {
                let mut e = resp.status_error(&format!("Langfuse ({})", redact_url(&url)));
                if e.kind == ErrorKind::Unauthorized {
                    e.message.push_str(" (check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and the base URL)");
                }
                return Err(self.scrub(e));
            }
        }
        let body = resp.json()?;
        let data = normalize_prompt(&body, &req.key.name).map_err(|e| self.scrub(e))?;
        let version = data["version"].as_i64();
        Ok(Fetched::Modified(FetchedValue { data, version, etag: resp.etag, bytes: resp.body.len() as u64 }))
    }
}

/// Standard base64 with padding (RFC 4648), for the Basic auth header.
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { ALPHABET[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { ALPHABET[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("pk-lf-1:sk-lf-ü", "cGstbGYtMTpzay1sZi3DvA=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn urls_encode_the_name_and_qualifier() {
        let s = LangfuseSource::new(LangfuseOptions {
            base_url: Some("http://h:1/".into()),
            public_key: Some("pk".into()),
            secret_key: Some("sk".into()),
            timeout: None,
        })
        .unwrap();
        assert_eq!(s.url_for(&Key::new("a/b c")), "http://h:1/api/public/v2/prompts/a%2Fb%20c");
        assert_eq!(
            s.url_for(&Key::with("x", Qualifier::Label("staging".into()))),
            "http://h:1/api/public/v2/prompts/x?label=staging"
        );
        assert_eq!(
            s.url_for(&Key::with("x", Qualifier::Version(3))),
            "http://h:1/api/public/v2/prompts/x?version=3"
        );
        assert_eq!(s.identity(), "langfuse|http://h:1|pk");
        assert!(!format!("{s:?}").contains("\"sk\""));
    }

    #[test]
    fn bad_base_url_is_invalid_argument() {
        let e =
            LangfuseSource::new(LangfuseOptions { base_url: Some("ftp://x".into()), ..Default::default() })
                .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }
}
