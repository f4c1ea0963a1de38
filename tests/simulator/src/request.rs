//! A data request as the route modules see it: parsed by tiny_http, body read, names lowercased.

use serde_json::{Map, Value};

use crate::util;

/// One request to the data port.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub method: String,
    /// The path as received (still percent-encoded), without the query string.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Incoming {
    /// Reads everything the handlers need from `request`, including its whole body.
    pub fn read(request: &mut tiny_http::Request) -> Incoming {
        let url = request.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let headers = request
            .headers()
            .iter()
            .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
            .collect();
        let mut body = Vec::new();
        let _ = request.as_reader().read_to_end(&mut body);
        Incoming {
            method: request.method().as_str().to_ascii_uppercase(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body,
        }
    }

    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The decoded query parameters.
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// The first decoded query parameter with this name.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The body as JSON, or a message saying why it is not.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("request body is not valid JSON: {e}"))
    }

    /// The request as `GET /_sim/requests` shows it.
    pub fn to_record(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            let merged = match headers.get(name).and_then(Value::as_str) {
                Some(old) => format!("{old}, {value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), Value::String(merged));
        }
        let params: Map<String, Value> =
            self.params().into_iter().map(|(n, v)| (n, Value::String(v))).collect();
        serde_json::json!({
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "params": params,
            "headers": headers,
            "body": body_value(&self.body),
        })
    }
}

/// Parses a query string into decoded `(name, value)` pairs.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (util::decode_query(name), util::decode_query(value))
        })
        .collect()
}

/// A body as JSON when it is JSON, else as (lossy) text; `null` when empty.
pub(crate) fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
