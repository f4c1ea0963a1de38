//! Test helpers: a simulator with its control calls, a scripted in-memory source, poll-until.
#![allow(dead_code)]

pub mod redis_server;

use failsoft::{Error, FetchRequest, Fetched, FetchedValue, Source};
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use failsoft_sim::Simulator;

/// A simulator plus its control calls, made over HTTP like every other language's tests do.
pub struct Sim {
    pub sim: Simulator,
    agent: ureq::Agent,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::with_fixture(json!({
            "kv": {
                "greeting": {"value": {"text": "hello"}, "version": 1},
                "a": {"value": {"n": 1}, "version": 1},
                "b": {"value": {"n": 2}, "version": 1}
            }
        }))
    }

    pub fn with_fixture(fixture: Json) -> Sim {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        Sim { sim: Simulator::start(fixture), agent }
    }

    pub fn url(&self) -> String {
        self.sim.url().to_string()
    }

    /// The `http` source's URL template for the kv routes.
    pub fn kv_template(&self) -> String {
        format!("{}/kv/{{key}}", self.url())
    }

    fn control(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let url = format!("{}{}", self.sim.control_url(), path);
        let mut resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(b)) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.to_string().as_bytes()),
            (_, None) => self.agent.post(&url).send(&[][..]),
        }
        .expect("control call");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        assert!(status < 300, "control {method} {path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Json::Null)
    }

    /// Switches a fault on a route prefix (`*` for every data route).
    pub fn fault(&self, route: &str, mode: &str) {
        self.control("POST", "/_sim/fault", Some(json!({"route": route, "mode": mode})));
    }

    pub fn fault_with(&self, route: &str, mode: &str, extra: Json) {
        let mut body = json!({"route": route, "mode": mode});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        self.control("POST", "/_sim/fault", Some(body));
    }

    /// Removes the fault on `route`.
    pub fn heal(&self, route: &str) {
        self.fault(route, "healthy");
    }

    pub fn set_kv(&self, key: &str, value: Json, version: Option<i64>) {
        let mut body = json!({"key": key, "value": value});
        if let Some(v) = version {
            body["version"] = json!(v);
        }
        self.control("POST", "/_sim/kv", Some(body));
    }

    pub fn delete_kv(&self, key: &str) {
        self.control("DELETE", &format!("/_sim/kv/{key}"), None);
    }

    /// Requests the data port received for `path` (without query), faulted ones included.
    pub fn count(&self, path: &str) -> u64 {
        let c = self.control("GET", "/_sim/counts", None);
        c["paths"][path].as_u64().unwrap_or(0)
    }

    pub fn requests(&self, path: &str) -> Vec<Json> {
        let r = self.control("GET", &format!("/_sim/requests?path={path}"), None);
        r.as_array().cloned().unwrap_or_default()
    }
}

/// Polls `cond` every 5 ms until it holds or `within` passes.
pub fn poll_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a scripted fetch answers: data and version, or an error.
pub type Answer = Result<(Json, Option<i64>), Error>;

/// A source answering from a script, counting calls: for cache logic that needs no network.
#[derive(Clone, Default)]
pub struct Scripted {
    pub calls: Arc<AtomicU64>,
    pub answer: Arc<Mutex<Option<Answer>>>,
    pub delay: Arc<Mutex<Duration>>,
}

impl Scripted {
    pub fn ok(data: Json, version: Option<i64>) -> Scripted {
        let s = Scripted::default();
        s.set(Ok((data, version)));
        s
    }
    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = Some(answer);
    }
    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().unwrap() = d;
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Source for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    fn identity(&self) -> String {
        "scripted|test".into()
    }
    fn fetch(&self, _req: &FetchRequest<'_>) -> failsoft::Result<Fetched> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        std::thread::sleep(delay);
        match self.answer.lock().unwrap().clone().expect("scripted answer") {
            Ok((data, version)) => {
                Ok(Fetched::Modified(FetchedValue { data, version, etag: None, bytes: 1 }))
            }
            Err(e) => Err(e),
        }
    }
}

/// The `cases` of a shared vector file in `tests/scenarios/` (format in its README).
pub fn vector_cases(file: &str) -> Vec<Json> {
    let path = format!("{}/../tests/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let doc: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    doc["cases"].as_array().expect("`cases` is an array").clone()
}

/// A case's object under `key`; empty when absent or null.
pub fn case_object(case: &Json, key: &str) -> serde_json::Map<String, Json> {
    match case.get(key) {
        None | Some(Json::Null) => serde_json::Map::new(),
        Some(v) => v.as_object().unwrap_or_else(|| panic!("{key} must be an object")).clone(),
    }
}

/// A vector's expected failure (`{"kind", "contains"}`): the kind, and every string of
/// `contains` in the message.
pub fn check_vector_error(name: &str, err: &Error, expected: &Json) {
    let kind = expected["kind"].as_str().expect("error.kind");
    assert_eq!(err.kind.as_str(), kind, "case {name:?}: kind of {err:?}");
    for needle in expected["contains"].as_array().expect("error.contains") {
        let needle = needle.as_str().expect("error.contains holds strings");
        assert!(err.message.contains(needle), "case {name:?}: message {:?} lacks {needle:?}", err.message);
    }
}
