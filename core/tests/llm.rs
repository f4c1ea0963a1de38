//! LLM calls with fallback (SPEC §8) against a tiny scripted OpenAI-compatible server
//! (std-only, below), with tiny timeouts and poll-until instead of long sleeps.

use failsoft::llm::{ChatError, ChatResult, CircuitState, LlmClient, LlmOptions, Target};
use failsoft::ErrorKind;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// The test server: `POST /t/{name}/v1/chat/completions`, one scripted behaviour per target name.

#[derive(Clone, Debug)]
enum Behave {
    /// 200 with a completion.
    Ok,
    /// An error status with an OpenAI-style error body.
    Status(u16),
    /// An error status with one extra header (e.g. `retry-after-ms`).
    StatusWith(u16, &'static str, String),
    /// 401 whose message echoes the Authorization header (a careless server).
    EchoKey401,
    /// Read the request, never answer (until the client goes away).
    Hang,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 event stream: `chunks` events `gap` apart, then the end.
    Stream { chunks: usize, gap: Duration, end: End },
}

#[derive(Clone, Copy, Debug)]
enum End {
    Done,
    /// Close the connection without `[DONE]`.
    Break,
    /// Stop sending, keep the connection open.
    Hang,
}

#[derive(Clone, Debug)]
struct Seen {
    target: String,
    headers: HashMap<String, String>,
    body: Value,
}

#[derive(Default)]
struct State {
    defaults: HashMap<String, Behave>,
    queued: HashMap<String, VecDeque<Behave>>,
    seen: Vec<Seen>,
}

struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (st, sp) = (st.clone(), sp.clone());
                thread::spawn(move || serve(conn, &st, &sp));
            }
        });
        Server { addr, state, stop }
    }

    fn base(&self, name: &str) -> String {
        format!("http://{}/t/{name}/v1", self.addr)
    }

    fn target(&self, name: &str) -> Target {
        Target::new(self.base(name)).api_key(KEY)
    }

    /// Every request to `name` gets `b` (and queued one-offs are dropped).
    fn set(&self, name: &str, b: Behave) {
        let mut s = self.state.lock().unwrap();
        s.defaults.insert(name.into(), b);
        s.queued.remove(name);
    }

    /// The next request to `name` gets `b`, before the default.
    fn push(&self, name: &str, b: Behave) {
        self.state.lock().unwrap().queued.entry(name.into()).or_default().push_back(b);
    }

    fn seen(&self, name: &str) -> Vec<Seen> {
        self.state.lock().unwrap().seen.iter().filter(|s| s.target == name).cloned().collect()
    }

    fn hits(&self, name: &str) -> usize {
        self.seen(name).len()
    }
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    let Ok(clone) = conn.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let target = path.strip_prefix("/t/").and_then(|p| p.split('/').next()).unwrap_or("").to_string();
    let behave = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen { target: target.clone(), headers: headers.clone(), body: body.clone() });
        let queued = s.queued.get_mut(&target).and_then(VecDeque::pop_front);
        queued.or_else(|| s.defaults.get(&target).cloned()).unwrap_or(Behave::Ok)
    };
    let model = body.get("model").cloned().unwrap_or(Value::Null);
    let respond = |conn: &mut TcpStream, status: u16, extra: &str, body: &str| {
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(body.as_bytes());
        let _ = conn.flush();
    };
    let error_body =
        |status: u16, msg: &str| json!({"error": {"message": msg, "type": "x", "code": status}}).to_string();
    match behave {
        Behave::Ok => {
            let completion = json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                // A server may report any model name: failsoft must not read it.
                "model": "reported-by-server",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("from {target}")}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                "echo_model": model,
            });
            respond(&mut conn, 200, "", &completion.to_string());
        }
        Behave::Status(s) => respond(&mut conn, s, "", &error_body(s, "scripted failure")),
        Behave::StatusWith(s, h, v) => {
            respond(&mut conn, s, &format!("{h}: {v}\r\n"), &error_body(s, "slow down"))
        }
        Behave::EchoKey401 => {
            let auth = headers.get("authorization").cloned().unwrap_or_default();
            respond(&mut conn, 401, "", &error_body(401, &format!("bad key {auth}")));
        }
        Behave::Garbage => respond(&mut conn, 200, "", "<html>proxy error</html>"),
        Behave::Hang => hang(&mut conn, stop),
        Behave::Stream { chunks, gap, end } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            for i in 0..chunks {
                if i > 0 {
                    thread::sleep(gap);
                }
                let chunk = json!({
                    "id": "c", "object": "chat.completion.chunk", "model": "reported-by-server",
                    "choices": [{"index": 0, "delta": {"content": format!("{target}-{i}")}, "finish_reason": null}],
                });
                if conn.write_all(format!("data: {chunk}\n\n").as_bytes()).is_err() {
                    return;
                }
                let _ = conn.flush();
            }
            match end {
                End::Done => {
                    let _ = conn.write_all(b"data: [DONE]\n\n");
                }
                End::Break => {}
                End::Hang => hang(&mut conn, stop),
            }
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

/// Keeps the connection open without answering until the client closes it (or 10 s).
fn hang(conn: &mut TcpStream, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(ms(20)));
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(10) {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

/// A base URL where nothing listens (connection refused).
fn refused_base() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/v1")
}

fn request() -> Value {
    json!({"model": "primary-model", "messages": [{"role": "user", "content": "count to 3"}]})
}

/// Fast options: tiny backoff, short timeouts; callers adjust.
fn options(targets: Vec<Target>) -> LlmOptions {
    LlmOptions {
        targets,
        timeout: Duration::from_secs(2),
        retry_backoff: ms(2),
        retry_backoff_max: ms(10),
        ..LlmOptions::default()
    }
}

fn client(opts: LlmOptions) -> LlmClient {
    LlmClient::new(opts).unwrap()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        thread::sleep(ms(5));
    }
    f()
}

fn content(r: &ChatResult) -> &str {
    r.completion["choices"][0]["message"]["content"].as_str().unwrap()
}

fn summary(attempts: &[failsoft::llm::Attempt]) -> Vec<(usize, Option<ErrorKind>, Option<u16>, bool)> {
    attempts.iter().map(|a| (a.target, a.error_kind, a.status, a.skipped)).collect()
}

fn assert_served_by_fallback(r: &ChatResult, server: &Server) {
    assert_eq!(r.served_by.index, 1);
    assert!(r.is_fallback);
    assert_eq!(r.served_by.base_url, server.base("fallback"));
    assert_eq!(content(r), "from fallback");
    assert_eq!(r.attempts.last().map(|a| (a.target, a.error_kind)), Some((1, None)));
}

// ---------------------------------------------------------------------------------------------
// Fallover triggers and non-triggers.

#[test]
fn every_fallover_status_falls_over_to_the_next_target() {
    let server = Server::start();
    for status in [401, 403, 404, 408, 409, 429, 500, 502, 503, 504] {
        server.set("primary", Behave::Status(status));
        let before = server.hits("primary");
        let c = client(options(vec![server.target("primary"), server.target("fallback")]));
        let r = c.chat(&request()).unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_served_by_fallback(&r, &server);
        // 408/409/429/5xx are retried once on the primary; 401/403/404 fall over at once.
        let primary_tries = if [401, 403, 404].contains(&status) { 1 } else { 2 };
        assert_eq!(server.hits("primary") - before, primary_tries, "{status}");
        assert_eq!(r.attempts.len(), primary_tries + 1, "{status}");
        for a in &r.attempts[..primary_tries] {
            assert_eq!((a.target, a.status), (0, Some(status)));
            assert!(a.error_kind.is_some() && !a.skipped);
        }
        assert_ne!(r.attempts[0].error_kind, Some(ErrorKind::InvalidArgument), "{status} blames the request");
    }
}

#[test]
fn a_refused_connection_falls_over() {
    let server = Server::start();
    let c = client(options(vec![Target::new(refused_base()).api_key(KEY), server.target("fallback")]));
    let started = Instant::now();
    let r = c.chat(&request()).unwrap();
    assert_served_by_fallback(&r, &server);
    // No retry of a dead endpoint while a fallback is left: the answer costs the fallback's time.
    assert_eq!(
        summary(&r.attempts),
        vec![(0, Some(ErrorKind::Unavailable), None, false), (1, None, None, false)]
    );
    assert!(started.elapsed() < ms(100), "{:?}", started.elapsed());
}

#[test]
fn the_last_target_retries_a_refused_connection_once() {
    let c = client(options(vec![Target::new(refused_base()).api_key(KEY)]));
    let e = c.chat(&request()).unwrap_err();
    assert_eq!(e.error.kind, ErrorKind::Unavailable);
    assert_eq!(
        summary(&e.attempts),
        vec![(0, Some(ErrorKind::Unavailable), None, false), (0, Some(ErrorKind::Unavailable), None, false)]
    );
}

#[test]
fn a_hanging_primary_times_out_within_its_timeout_and_falls_over() {
    let server = Server::start();
    server.set("primary", Behave::Hang);
    // Default retries: a timed-out primary is not retried while a fallback is left.
    let opts = options(vec![server.target("primary").timeout(ms(150)), server.target("fallback")]);
    let start = Instant::now();
    let r = client(opts).chat(&request()).unwrap();
    assert_served_by_fallback(&r, &server);
    let a = &r.attempts[0];
    assert_eq!((a.target, a.error_kind), (0, Some(ErrorKind::Timeout)));
    assert_eq!(r.attempts.len(), 2, "one primary attempt, then the fallback");
    assert!(a.elapsed_ms >= 140.0 && a.elapsed_ms < 250.0, "primary attempt took {} ms", a.elapsed_ms);
    assert!(start.elapsed() < ms(350), "{:?}", start.elapsed());
}

#[test]
fn an_invalid_body_falls_over_without_retry() {
    let server = Server::start();
    server.set("primary", Behave::Garbage);
    let r =
        client(options(vec![server.target("primary"), server.target("fallback")])).chat(&request()).unwrap();
    assert_served_by_fallback(&r, &server);
    assert_eq!(summary(&r.attempts)[0], (0, Some(ErrorKind::InvalidResponse), Some(200), false));
    assert_eq!(server.hits("primary"), 1);
}

#[test]
fn request_errors_end_the_call_without_fallover() {
    let server = Server::start();
    for status in [400, 413, 422] {
        server.set("primary", Behave::Status(status));
        let before = server.hits("primary");
        let c = client(options(vec![server.target("primary"), server.target("fallback")]));
        let e = c.chat(&request()).unwrap_err();
        assert_eq!(e.error.kind, ErrorKind::InvalidArgument, "{status}");
        assert_eq!(e.error.status, Some(status));
        assert!(e.error.message.contains("scripted failure"), "{}", e.error.message);
        assert_eq!(summary(&e.attempts), vec![(0, Some(ErrorKind::InvalidArgument), Some(status), false)]);
        assert_eq!(server.hits("primary") - before, 1);
        assert_eq!(server.hits("fallback"), 0, "{status} must not reach the fallback");
        // The target answered, so its breaker does not count it.
        assert_eq!(c.circuit_states()[0], CircuitState::Closed);
    }
}

#[test]
fn every_target_failing_returns_the_last_error_and_all_attempts() {
    let server = Server::start();
    server.set("primary", Behave::Status(503));
    server.set("fallback", Behave::Status(401));
    let e = client(options(vec![server.target("primary"), server.target("fallback")]))
        .chat(&request())
        .unwrap_err();
    assert_eq!(e.error.kind, ErrorKind::Unauthorized);
    assert_eq!(e.error.status, Some(401));
    assert_eq!(
        summary(&e.attempts),
        vec![
            (0, Some(ErrorKind::Unavailable), Some(503), false),
            (0, Some(ErrorKind::Unavailable), Some(503), false),
            (1, Some(ErrorKind::Unauthorized), Some(401), false)
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Timeouts, deadline, retries.

#[test]
fn the_overall_deadline_bounds_the_whole_call() {
    let server = Server::start();
    server.set("primary", Behave::Hang);
    server.set("fallback", Behave::Hang);
    let opts = LlmOptions {
        deadline: Some(ms(250)),
        ..options(vec![
            server.target("primary").timeout(ms(150)),
            server.target("fallback").timeout(ms(1000)),
        ])
    };
    let start = Instant::now();
    let e = client(opts).chat(&request()).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.error.kind, ErrorKind::Timeout);
    assert!(e.error.message.contains("deadline"), "{}", e.error.message);
    assert!(took >= ms(250) && took < ms(350), "{took:?}");
    // The primary timed out; a retry would not fit before the deadline, so the fallback got the
    // rest of the time.
    assert_eq!(
        summary(&e.attempts),
        vec![(0, Some(ErrorKind::Timeout), None, false), (1, Some(ErrorKind::Timeout), None, false)]
    );
}

#[test]
fn one_retry_on_503_then_fallover() {
    let server = Server::start();
    server.set("primary", Behave::Status(503));
    let r =
        client(options(vec![server.target("primary"), server.target("fallback")])).chat(&request()).unwrap();
    assert_eq!(
        summary(&r.attempts),
        vec![
            (0, Some(ErrorKind::Unavailable), Some(503), false),
            (0, Some(ErrorKind::Unavailable), Some(503), false),
            (1, None, None, false)
        ]
    );
    assert_eq!(server.hits("primary"), 2);
    assert_eq!(server.hits("fallback"), 1);
}

#[test]
fn a_retry_that_succeeds_stays_on_the_primary() {
    let server = Server::start();
    server.push("primary", Behave::Status(502));
    let r =
        client(options(vec![server.target("primary"), server.target("fallback")])).chat(&request()).unwrap();
    assert_eq!(r.served_by.index, 0);
    assert!(!r.is_fallback);
    assert_eq!(
        summary(&r.attempts),
        vec![(0, Some(ErrorKind::Unavailable), Some(502), false), (0, None, None, false)]
    );
}

#[test]
fn retry_after_under_the_cap_is_waited_for() {
    let server = Server::start();
    server.push("primary", Behave::StatusWith(429, "retry-after-ms", "200".into()));
    let opts = LlmOptions {
        retry_after_cap: ms(1000),
        ..options(vec![server.target("primary"), server.target("fallback")])
    };
    let start = Instant::now();
    let r = client(opts).chat(&request()).unwrap();
    let took = start.elapsed();
    assert_eq!(r.served_by.index, 0);
    assert_eq!(server.hits("primary"), 2);
    assert!(took >= ms(200) && took < ms(400), "{took:?}");
}

#[test]
fn retry_after_in_seconds_is_understood() {
    let server = Server::start();
    server.push("primary", Behave::StatusWith(503, "Retry-After", "0".into()));
    let opts = LlmOptions {
        retry_backoff: ms(1000),
        ..options(vec![server.target("primary"), server.target("fallback")])
    };
    let start = Instant::now();
    let r = client(opts).chat(&request()).unwrap();
    assert_eq!(r.served_by.index, 0);
    // Retry-After: 0 replaces the (here long) backoff.
    assert!(start.elapsed() < ms(300), "{:?}", start.elapsed());
}

#[test]
fn retry_after_over_the_cap_falls_over_at_once() {
    let server = Server::start();
    server.set("primary", Behave::StatusWith(429, "Retry-After", "5".into()));
    let opts = LlmOptions {
        retry_after_cap: ms(1000),
        ..options(vec![server.target("primary"), server.target("fallback")])
    };
    let start = Instant::now();
    let r = client(opts).chat(&request()).unwrap();
    assert_served_by_fallback(&r, &server);
    assert_eq!(server.hits("primary"), 1);
    assert!(start.elapsed() < ms(100), "{:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker.

fn breaker_options(server: &Server) -> LlmOptions {
    LlmOptions {
        max_retries: 0,
        breaker_threshold: 3,
        breaker_cooldown: ms(200),
        ..options(vec![server.target("primary"), server.target("fallback")])
    }
}

#[test]
fn an_open_breaker_skips_the_primary_then_one_probe_closes_it() {
    let server = Server::start();
    server.set("primary", Behave::Status(500));
    let c = client(breaker_options(&server));
    for i in 0..3 {
        assert_eq!(c.circuit_states()[0], CircuitState::Closed, "call {i}");
        let r = c.chat(&request()).unwrap();
        assert_served_by_fallback(&r, &server);
    }
    assert_eq!(server.hits("primary"), 3);
    assert_eq!(c.circuit_states(), vec![CircuitState::Open, CircuitState::Closed]);

    // During the outage: no request to the primary, and almost nothing added to the fallback's time.
    let start = Instant::now();
    let r = c.chat(&request()).unwrap();
    let took = start.elapsed().as_secs_f64() * 1000.0;
    assert_served_by_fallback(&r, &server);
    assert_eq!(server.hits("primary"), 3);
    assert_eq!(
        summary(&r.attempts),
        vec![(0, Some(ErrorKind::Unavailable), None, true), (1, None, None, false)]
    );
    assert_eq!(r.attempts[0].elapsed_ms, 0.0);
    assert!(r.attempts[0].message.as_deref().unwrap_or("").contains("circuit"));
    let overhead = took - r.attempts[1].elapsed_ms;
    assert!(overhead < 5.0, "skipping cost {overhead:.2} ms");

    // After the cooldown, the primary is back: one probe goes to it and closes the breaker.
    server.set("primary", Behave::Ok);
    assert!(wait_until(Duration::from_secs(2), || c.circuit_states()[0] == CircuitState::HalfOpen));
    let r = c.chat(&request()).unwrap();
    assert_eq!(r.served_by.index, 0);
    assert_eq!(server.hits("primary"), 4);
    assert_eq!(c.circuit_states()[0], CircuitState::Closed);
}

#[test]
fn a_failed_probe_reopens_the_breaker_for_another_cooldown() {
    let server = Server::start();
    server.set("primary", Behave::Status(503));
    let c = client(LlmOptions { max_retries: 1, ..breaker_options(&server) });
    for _ in 0..3 {
        c.chat(&request()).unwrap();
    }
    // Retries count once per call: 3 calls × 2 attempts.
    assert_eq!(server.hits("primary"), 6);
    assert_eq!(c.circuit_states()[0], CircuitState::Open);
    assert!(wait_until(Duration::from_secs(2), || c.circuit_states()[0] == CircuitState::HalfOpen));
    let r = c.chat(&request()).unwrap();
    // The probe is a single attempt, without retry.
    assert_eq!(
        summary(&r.attempts),
        vec![(0, Some(ErrorKind::Unavailable), Some(503), false), (1, None, None, false)]
    );
    assert_eq!(server.hits("primary"), 7);
    assert_eq!(c.circuit_states()[0], CircuitState::Open);
    let r = c.chat(&request()).unwrap();
    assert!(r.attempts[0].skipped);
    assert_eq!(server.hits("primary"), 7);
}

#[test]
fn only_one_call_probes_while_the_probe_is_in_flight() {
    let server = Server::start();
    server.set("primary", Behave::Status(500));
    let opts = LlmOptions {
        targets: vec![server.target("primary").timeout(ms(400)), server.target("fallback")],
        ..breaker_options(&server)
    };
    let c = client(opts);
    for _ in 0..3 {
        c.chat(&request()).unwrap();
    }
    server.set("primary", Behave::Hang);
    assert!(wait_until(Duration::from_secs(2), || c.circuit_states()[0] == CircuitState::HalfOpen));
    let prober = {
        let c = c.clone();
        thread::spawn(move || c.chat(&request()).unwrap())
    };
    assert!(wait_until(Duration::from_secs(2), || server.hits("primary") == 4));
    // While the probe hangs, other calls skip the primary.
    for _ in 0..3 {
        let r = c.chat(&request()).unwrap();
        assert!(r.attempts[0].skipped);
        assert_served_by_fallback(&r, &server);
    }
    assert_eq!(server.hits("primary"), 4);
    let probed = prober.join().unwrap();
    assert_eq!(probed.attempts[0].error_kind, Some(ErrorKind::Timeout));
    assert_eq!(c.circuit_states()[0], CircuitState::Open);
}

#[test]
fn when_every_breaker_is_open_the_last_target_is_still_tried() {
    let server = Server::start();
    server.set("primary", Behave::Status(500));
    server.set("fallback", Behave::Status(500));
    let opts = LlmOptions {
        breaker_threshold: 1,
        breaker_cooldown: Duration::from_secs(60),
        ..breaker_options(&server)
    };
    let c = client(opts);
    assert!(c.chat(&request()).is_err());
    assert_eq!(c.circuit_states(), vec![CircuitState::Open, CircuitState::Open]);
    server.set("fallback", Behave::Ok);
    let r = c.chat(&request()).unwrap();
    assert_eq!(
        summary(&r.attempts),
        vec![(0, Some(ErrorKind::Unavailable), None, true), (1, None, None, false)]
    );
    assert_eq!(r.served_by.index, 1);
    assert_eq!(c.circuit_states(), vec![CircuitState::Open, CircuitState::Closed]);
}

// ---------------------------------------------------------------------------------------------
// Streaming.

fn stream_options(server: &Server) -> LlmOptions {
    LlmOptions { max_retries: 0, ..options(vec![server.target("primary"), server.target("fallback")]) }
}

fn delta(v: &Value) -> &str {
    v["choices"][0]["delta"]["content"].as_str().unwrap()
}

#[test]
fn stream_chunks_arrive_incrementally() {
    let server = Server::start();
    server.set("primary", Behave::Stream { chunks: 3, gap: ms(150), end: End::Done });
    let start = Instant::now();
    let mut s = client(stream_options(&server)).chat_stream(&request()).unwrap();
    let opened = start.elapsed();
    assert!(opened < ms(120), "opening waited for more than the first chunk: {opened:?}");
    assert_eq!(s.served_by().index, 0);
    assert!(!s.is_fallback());
    let mut got = Vec::new();
    for item in s.by_ref() {
        got.push((delta(&item.unwrap()).to_string(), start.elapsed()));
    }
    let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, ["primary-0", "primary-1", "primary-2"]);
    // Each chunk was yielded when it arrived, not after the whole answer.
    assert!(got[0].1 < ms(120), "{:?}", got[0].1);
    assert!(got[1].1 >= ms(140) && got[1].1 < ms(280), "{:?}", got[1].1);
    assert!(got[2].1 >= ms(290), "{:?}", got[2].1);
    assert!(s.done() && !s.incomplete());
    assert_eq!(s.chunks(), 3);
    assert!(s.next().is_none());
}

#[test]
fn stream_falls_over_before_the_first_chunk_on_500_and_hangs() {
    let server = Server::start();
    server.set("fallback", Behave::Stream { chunks: 2, gap: ms(1), end: End::Done });
    let cases = [
        ("500", Behave::Status(500)),
        ("hang before headers", Behave::Hang),
        ("headers then nothing", Behave::Stream { chunks: 0, gap: ms(0), end: End::Hang }),
        ("closed before the first chunk", Behave::Stream { chunks: 0, gap: ms(0), end: End::Break }),
    ];
    for (what, behave) in cases {
        server.set("primary", behave);
        let opts = LlmOptions { first_chunk_timeout: Some(ms(150)), ..stream_options(&server) };
        let start = Instant::now();
        let s = client(opts).chat_stream(&request()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(start.elapsed() < ms(300), "{what}: {:?}", start.elapsed());
        assert_eq!(s.served_by().index, 1, "{what}");
        assert!(s.is_fallback());
        assert_eq!(s.attempts().len(), 2);
        assert!(s.attempts()[0].error_kind.is_some());
        let texts: Vec<String> = s.map(|c| delta(&c.unwrap()).to_string()).collect();
        assert_eq!(texts, ["fallback-0", "fallback-1"], "{what}");
    }
}

#[test]
fn a_broken_stream_ends_with_an_incomplete_error() {
    let server = Server::start();
    server.set("primary", Behave::Stream { chunks: 2, gap: ms(5), end: End::Break });
    let mut s = client(stream_options(&server)).chat_stream(&request()).unwrap();
    assert!(s.next().unwrap().is_ok());
    assert!(s.next().unwrap().is_ok());
    let e = s.next().unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.message.contains("incomplete"), "{}", e.message);
    assert!(s.next().is_none());
    assert!(s.incomplete() && !s.done());
    // A stream never falls over once it started.
    assert_eq!(server.hits("fallback"), 0);
}

#[test]
fn a_stalled_stream_ends_with_an_incomplete_timeout() {
    let server = Server::start();
    server.set("primary", Behave::Stream { chunks: 1, gap: ms(0), end: End::Hang });
    let opts = LlmOptions {
        targets: vec![server.target("primary").timeout(ms(200)), server.target("fallback")],
        ..stream_options(&server)
    };
    let mut s = client(opts).chat_stream(&request()).unwrap();
    assert!(s.next().unwrap().is_ok());
    let start = Instant::now();
    let e = s.next().unwrap().unwrap_err();
    assert!(start.elapsed() >= ms(150) && start.elapsed() < ms(400), "{:?}", start.elapsed());
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("incomplete"), "{}", e.message);
    assert!(s.incomplete());
}

#[test]
fn the_deadline_also_bounds_a_stream() {
    let server = Server::start();
    server.set("primary", Behave::Stream { chunks: 100, gap: ms(20), end: End::Done });
    let opts = LlmOptions { deadline: Some(ms(200)), ..stream_options(&server) };
    let start = Instant::now();
    let s = client(opts).chat_stream(&request()).unwrap();
    let items: Vec<_> = s.collect();
    assert!(start.elapsed() < ms(350), "{:?}", start.elapsed());
    let e = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("incomplete") && e.message.contains("deadline"), "{}", e.message);
    assert!(items.len() > 3);
}

// ---------------------------------------------------------------------------------------------
// What goes on the wire, and what never shows.

#[test]
fn the_request_body_passes_through_untouched_except_model() {
    let server = Server::start();
    server.set("primary", Behave::Status(500));
    let req = json!({
        "model": "openpipe:my-ft-model",
        "messages": [{"role": "system", "content": "count to 10 — ünïcode \"quoted\""}],
        "temperature": 0.25,
        "max_tokens": 7,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "metadata": {"nested": [1, 2.5, null, true]},
        "openpipe": {"tags": {"a": "b"}}
    });
    let opts = LlmOptions {
        max_retries: 0,
        ..options(vec![server.target("primary"), server.target("fallback").model("gpt-4-turbo")])
    };
    let r = client(opts).chat(&req).unwrap();
    assert_eq!(server.seen("primary")[0].body, req);
    let mut expected = req.clone();
    expected["model"] = json!("gpt-4-turbo");
    let seen = &server.seen("fallback")[0];
    assert_eq!(seen.body, expected);
    assert_eq!(seen.headers.get("authorization").map(String::as_str), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(seen.headers.get("content-type").map(String::as_str), Some("application/json"));
    // served_by.model is what was sent, never what the server reported.
    assert_eq!(r.served_by.model.as_deref(), Some("gpt-4-turbo"));
    assert_eq!(r.attempts[0].model.as_deref(), Some("openpipe:my-ft-model"));
    assert_eq!(r.completion["model"], "reported-by-server");
}

#[test]
fn a_stream_request_forces_stream_true_and_keeps_the_rest() {
    let server = Server::start();
    server.set("primary", Behave::Stream { chunks: 1, gap: ms(0), end: End::Done });
    let req =
        json!({"model": "m", "messages": [], "stream": false, "stream_options": {"include_usage": true}});
    let s = client(stream_options(&server)).chat_stream(&req).unwrap();
    assert_eq!(s.count(), 1);
    let mut expected = req.clone();
    expected["stream"] = json!(true);
    assert_eq!(server.seen("primary")[0].body, expected);
    assert_eq!(
        server.seen("primary")[0].headers.get("accept").map(String::as_str),
        Some("text/event-stream")
    );
}

#[test]
fn no_api_key_in_errors_or_debug_output() {
    let server = Server::start();
    server.set("primary", Behave::EchoKey401);
    server.set("fallback", Behave::Status(500));
    let opts = LlmOptions {
        max_retries: 0,
        ..options(vec![
            server.target("primary"),
            server.target("fallback"),
            Target::new(refused_base()).api_key(KEY).model("m"),
        ])
    };
    let c = client(opts.clone());
    let e: ChatError = c.chat(&request()).unwrap_err();
    let stream_err = c.chat_stream(&request()).unwrap_err();
    let texts = [
        format!("{e}"),
        format!("{e:?}"),
        format!("{stream_err:?}"),
        format!("{c:?}"),
        format!("{opts:?}"),
        format!("{:?}", opts.targets),
    ];
    for t in &texts {
        assert!(!t.contains(KEY) && !t.contains("SECRET"), "key leaked: {t}");
    }
    // The server's echo is still useful, with the key blotted out.
    assert!(e.attempts[0].message.as_deref().unwrap().contains("bad key Bearer <redacted>"));
}

#[test]
fn bad_options_and_requests_are_invalid_arguments() {
    assert_eq!(LlmClient::new(LlmOptions::default()).unwrap_err().kind, ErrorKind::InvalidArgument);
    let bad = LlmClient::new(LlmOptions::new(vec![Target::new("ftp://x/v1").api_key(KEY)])).unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidArgument);
    let zero =
        LlmOptions { deadline: Some(Duration::ZERO), ..LlmOptions::new(vec![Target::new("http://x/v1")]) };
    assert_eq!(LlmClient::new(zero).unwrap_err().kind, ErrorKind::InvalidArgument);

    let c = client(LlmOptions::new(vec![Target::new(refused_base())]));
    let e = c.chat(&json!(["not", "an", "object"])).unwrap_err();
    assert_eq!((e.error.kind, e.attempts.len()), (ErrorKind::InvalidArgument, 0));
    let e = c.chat(&json!({"model": "m", "messages": [], "stream": true})).unwrap_err();
    assert_eq!((e.error.kind, e.attempts.len()), (ErrorKind::InvalidArgument, 0));
}

#[test]
fn the_client_is_send_sync_and_the_stream_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<LlmClient>();
    send::<failsoft::llm::ChatStream>();
    send_sync::<ChatError>();
}
