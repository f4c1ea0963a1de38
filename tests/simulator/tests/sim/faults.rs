use std::io::ErrorKind;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use failsoft_sim::{Fault, FaultMode, Simulator};
use serde_json::{json, Value};

use crate::support::{addr_of, agent, get, raw_exchange, raw_get, read_until_closed, try_send};

fn kv_url(sim: &Simulator) -> String {
    format!("{}/kv/greeting", sim.url())
}

#[test]
fn refused_on_star_closes_the_port_and_healing_reopens_the_same_port() {
    let sim = Simulator::start_default();
    let url = sim.url();
    assert_eq!(get(&kv_url(&sim)).status, 200);
    sim.set_fault("*", FaultMode::Refused);
    let err = TcpStream::connect(addr_of(&url)).expect_err("the data port is closed");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // The control port keeps working, and still sees the data port as down.
    assert_eq!(crate::support::get(&format!("{}/_sim/health", sim.control_url())).status, 200);
    sim.heal("*");
    assert_eq!(sim.url(), url);
    assert_eq!(get(&kv_url(&sim)).status, 200);
}

#[test]
fn refused_on_star_closes_open_keep_alive_connections() {
    let sim = Simulator::start_default();
    let mut stream = TcpStream::connect(addr_of(&sim.url())).unwrap();
    std::io::Write::write_all(&mut stream, raw_get("/kv/greeting").as_bytes()).unwrap();
    let (mut answer, deadline) = (Vec::new(), Instant::now() + Duration::from_secs(5));
    while !String::from_utf8_lossy(&answer).ends_with("{\"text\":\"hello\"}") {
        assert!(Instant::now() < deadline, "the answer arrives");
        let (more, closed) = read_until_closed(&mut stream, Duration::from_millis(50));
        assert!(!closed, "the connection stays open until the port is refused");
        answer.extend(more);
    }
    sim.set_fault("*", FaultMode::Refused);
    let (bytes, closed) = read_until_closed(&mut stream, Duration::from_secs(2));
    assert!(closed && bytes.is_empty(), "closed without another byte");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[test]
fn refused_on_a_route_drops_the_connection_without_answer() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", FaultMode::Refused);
    let (bytes, closed) = raw_exchange(&sim.url(), &raw_get("/kv/greeting"), Duration::from_secs(2));
    assert!(closed && bytes.is_empty(), "got {:?}", String::from_utf8_lossy(&bytes));
    assert_eq!(get(&format!("{}/kv/plain", sim.url())).status, 200);
    assert_eq!(sim.request_count("/kv/greeting"), 1);
}

#[test]
fn error_statuses_use_each_backend_error_shape() {
    let sim = Simulator::start_default();
    for code in [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504] {
        sim.set_fault("/kv", Fault::status(code));
        let resp = get(&kv_url(&sim));
        assert_eq!(resp.status, code);
        assert_eq!(resp.json(), json!({"message": format!("simulated fault: HTTP {code}")}));
    }
    sim.set_fault("/v1/private", Fault::status(503));
    let resp =
        crate::support::post(&format!("{}/v1/private/projects/retrieve", sim.url()), &json!({"name": "x"}));
    assert_eq!(resp.json(), json!({"code": 503, "message": "simulated fault: HTTP 503"}));
    sim.set_fault("/t/primary", Fault::status(500));
    let resp =
        crate::support::post(&format!("{}/chat/completions", sim.openai_base_url("primary")), &json!({}));
    assert_eq!(resp.status, 500);
    assert_eq!(resp.json()["error"]["type"], "server_error");
}

#[test]
fn rate_limit_carries_retry_headers() {
    let sim = Simulator::start_default();
    sim.set_fault("*", Fault::status(429).with_retry_after("2").with_retry_after_ms(1500));
    let resp = get(&kv_url(&sim));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(resp.header("retry-after-ms"), Some("1500"));
}

#[test]
fn count_limited_fault_heals_after_n_requests() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", Fault::status(503).with_count(2));
    let statuses: Vec<u16> = (0..3).map(|_| get(&kv_url(&sim)).status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(sim.faults(), json!([]));
}

#[test]
fn longest_route_wins_over_star() {
    let sim = Simulator::start_default();
    sim.set_fault("*", Fault::status(500));
    sim.set_fault("/kv/greeting", FaultMode::Healthy);
    sim.set_fault("/kv/greeting", Fault::new(FaultMode::Slow));
    assert_eq!(get(&kv_url(&sim)).status, 200);
    assert_eq!(get(&format!("{}/kv/plain", sim.url())).status, 500);
    sim.set_fault("/kv/greeting", FaultMode::Healthy);
    assert_eq!(get(&kv_url(&sim)).status, 500);
}

#[test]
fn hang_gives_no_answer_until_healed() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", FaultMode::Hang);
    let started = Instant::now();
    let err = try_send(&agent(Duration::from_millis(300)), "GET", &kv_url(&sim), &[], None);
    assert!(err.is_err(), "no answer within 300 ms");
    assert!(started.elapsed() >= Duration::from_millis(290));
    // Other routes are not blocked by hung ones.
    assert_eq!(get(&format!("{}/kv/plain", sim.url())).status, 200);

    let url = kv_url(&sim);
    let waiting = thread::spawn(move || get(&url));
    thread::sleep(Duration::from_millis(150));
    assert!(!waiting.is_finished());
    sim.heal("/kv/greeting");
    let resp = waiting.join().unwrap();
    assert_eq!(resp.status, 200, "a released request is answered normally");
}

#[test]
fn dropping_the_simulator_releases_hung_requests() {
    let sim = Simulator::start_default();
    sim.set_fault("*", FaultMode::Hang);
    let url = sim.url();
    let waiting = thread::spawn(move || raw_exchange(&url, &raw_get("/kv/greeting"), Duration::from_secs(5)));
    thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    drop(sim);
    let (bytes, closed) = waiting.join().unwrap();
    assert!(closed && bytes.is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn slow_answers_after_the_delay() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", Fault::new(FaultMode::Slow).with_delay(Duration::from_millis(200)));
    let started = Instant::now();
    assert_eq!(get(&kv_url(&sim)).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn garbage_is_200_and_not_json() {
    let sim = Simulator::start_default();
    sim.set_fault("*", FaultMode::Garbage);
    let resp = get(&kv_url(&sim));
    assert_eq!(resp.status, 200);
    assert!(serde_json::from_str::<Value>(&resp.body).is_err());
}

#[test]
fn oversized_is_valid_json_over_16_mib() {
    let sim = Simulator::start_default();
    sim.set_fault("*", FaultMode::Oversized);
    let resp = get(&kv_url(&sim));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 17 * 1024 * 1024);
    assert!(resp.body.len() > 16 * 1024 * 1024);
    assert!(resp.json()["padding"].is_string());
}

#[test]
fn truncated_sends_less_than_content_length_then_closes() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", FaultMode::Truncated);
    let (bytes, closed) = raw_exchange(&sim.url(), &raw_get("/kv/greeting"), Duration::from_secs(2));
    assert!(closed);
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("Content-Length: 16"), "{head}");
    assert_eq!(body, "{\"text\":");
    assert!(try_send(&agent(Duration::from_secs(2)), "GET", &kv_url(&sim), &[], None).is_err());
}

#[test]
fn hang_stream_sends_headers_then_nothing_until_healed() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", FaultMode::HangStream);
    let (bytes, closed) = raw_exchange(&sim.url(), &raw_get("/kv/greeting"), Duration::from_millis(300));
    let text = String::from_utf8_lossy(&bytes);
    assert!(!closed && text.starts_with("HTTP/1.1 200") && text.ends_with("\r\n\r\n"), "{text}");
    sim.heal("/kv/greeting");
    assert_eq!(get(&kv_url(&sim)).json(), json!({"text": "hello"}));
}

#[test]
fn faults_count_as_requests() {
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", Fault::status(500).with_count(1));
    get(&kv_url(&sim));
    get(&kv_url(&sim));
    assert_eq!(sim.request_count("/kv/greeting"), 2);
    assert_eq!(sim.counts().total, 2);
}
