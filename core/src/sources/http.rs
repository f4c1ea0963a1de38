//! Any HTTP endpoint that answers JSON: a URL template with `{key}`, custom headers,
//! ETag/If-None-Match, and an optional version from an `X-Version` header or a top-level
//! integer `version` field of the body.

use super::encode_path_segment;
use crate::error::{Error, Result};
use crate::http::{redact_url, Http};
use crate::source::{FetchRequest, Fetched, FetchedValue, Source};

/// The generic HTTP JSON source.
#[derive(Debug, Clone)]
pub struct HttpSource {
    url_template: String,
    headers: Vec<(String, String)>,
    version_field: Option<String>,
    http: Http,
}

impl HttpSource {
    /// `url_template` must be an http(s) URL containing `{key}`, replaced by the URL-encoded key.
    pub fn new(url_template: impl Into<String>) -> Result<Self> {
        let url_template = url_template.into();
        if !(url_template.starts_with("http://") || url_template.starts_with("https://")) {
            return Err(Error::invalid_argument(format!(
                "url must start with http:// or https://, got {:?}",
                redact_url(&url_template)
            )));
        }
        if !url_template.contains("{key}") {
            return Err(Error::invalid_argument("url must contain the {key} placeholder"));
        }
        crate::logging::register_url_password(&url_template);
        Ok(HttpSource {
            url_template,
            headers: Vec::new(),
            version_field: Some("version".into()),
            http: Http::default(),
        })
    }

    /// Adds a header sent with every request (e.g. `Authorization`). Never logged or snapshotted.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        crate::logging::register_header(&name, &value);
        self.headers.push((name, value));
        self
    }

    /// The top-level body field holding an integer version (default `version`; `None`: only the
    /// `X-Version` header counts).
    pub fn version_field(mut self, field: Option<String>) -> Self {
        self.version_field = field;
        self
    }

    /// Replaces the HTTP settings (timeouts, body cap).
    pub fn with_http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    pub fn url_for(&self, key: &str) -> String {
        self.url_template.replace("{key}", &encode_path_segment(key))
    }
}

impl Source for HttpSource {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn identity(&self) -> String {
        format!("http|{}", redact_url(&self.url_template))
    }

    fn validate_key(&self, key: &crate::Key) -> Result<()> {
        if key.qualifier != crate::Qualifier::Default {
            return Err(Error::invalid_argument(
                "the http source takes plain keys (no label, version or env)",
            ));
        }
        if key.name.is_empty() {
            return Err(Error::invalid_argument("key must not be empty"));
        }
        Ok(())
    }

    fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched> {
        let url = self.url_for(&req.key.name);
        let mut headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        headers.push(("Accept", "application/json"));
        if let Some(etag) = req.etag {
            headers.push(("If-None-Match", etag));
        }
        let resp = self.http.get(&url, &headers, req.deadline)?;
        match resp.status {
            304 => return Ok(Fetched::NotModified),
            200..=299 => {}
            _ => return Err(resp.status_error(&redact_url(&url))),
        }
        let data = resp.json()?;
        let version =
            match &resp.version_header {
                Some(h) => Some(h.trim().parse::<i64>().map_err(|_| {
                    Error::invalid_response(format!("X-Version header {h:?} is not an integer"))
                })?),
                None => self.version_field.as_deref().and_then(|f| data.get(f)).and_then(|v| v.as_i64()),
            };
        let bytes = resp.body.len() as u64;
        Ok(Fetched::Modified(FetchedValue { data, version, etag: resp.etag, bytes }))
    }
}
