//! A tiny HTTP client for the tests: ureq with statuses as values, plus raw sockets where a test
//! needs to see exactly what reached the wire.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

/// A finished exchange.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build().into()
}

/// Sends one request; transport errors (refused, reset, timeout, short body) are `Err`.
pub fn try_send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Resp, ureq::Error> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.unwrap_or_default().to_owned()).expect("valid request");
    let response = agent.run(request)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let mut bytes = Vec::new();
    response.into_body().into_reader().read_to_end(&mut bytes)?;
    Ok(Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() })
}

pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
    try_send(&agent(Duration::from_secs(10)), method, url, headers, body)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

pub fn get(url: &str) -> Resp {
    send("GET", url, &[], None)
}

pub fn post(url: &str, body: &Value) -> Resp {
    send("POST", url, &[("Content-Type", "application/json")], Some(&body.to_string()))
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().expect("an ip:port URL")
}

/// Writes a raw request and reads until the server closes the connection or `timeout` passes.
/// Returns what arrived and whether the connection was closed (false: still open at the timeout).
pub fn raw_exchange(url: &str, request: &str, timeout: Duration) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr_of(url)).expect("connect");
    stream.write_all(request.as_bytes()).expect("write");
    read_until_closed(&mut stream, timeout)
}

pub fn read_until_closed(stream: &mut TcpStream, timeout: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, false);
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (received, false)
            }
            Err(_) => return (received, true),
        }
    }
}

/// `GET path` as raw HTTP/1.1 text.
pub fn raw_get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: sim\r\n\r\n")
}
