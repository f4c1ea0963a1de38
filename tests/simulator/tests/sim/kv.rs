use failsoft_sim::Simulator;
use serde_json::json;

use crate::support::{get, raw_exchange, raw_get, send};

#[test]
fn kv_serves_value_with_etag_and_version() {
    let sim = Simulator::start_default();
    let resp = get(&format!("{}/kv/greeting", sim.url()));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"text": "hello"}));
    assert_eq!(resp.header("etag"), Some("\"1\""));
    assert_eq!(resp.header("x-version"), Some("1"));
}

#[test]
fn kv_answers_304_when_etag_matches() {
    let sim = Simulator::start_default();
    let url = format!("{}/kv/greeting", sim.url());
    let resp = send("GET", &url, &[("If-None-Match", "\"1\"")], None);
    assert_eq!(resp.status, 304);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("etag"), Some("\"1\""));
    sim.set_value("greeting", json!({"text": "hi"}));
    let resp = send("GET", &url, &[("If-None-Match", "\"1\"")], None);
    assert_eq!((resp.status, resp.header("etag")), (200, Some("\"2\"")));
    assert_eq!(resp.json(), json!({"text": "hi"}));
}

#[test]
fn kv_missing_key_is_404_with_message() {
    let sim = Simulator::start_default();
    let resp = get(&format!("{}/kv/nope", sim.url()));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json(), json!({"message": "key not found: 'nope'"}));
}

#[test]
fn kv_keys_are_percent_decoded_and_deletable() {
    let sim = Simulator::start_default();
    sim.set_value("a b/c", json!(1));
    let url = format!("{}/kv/a%20b%2Fc", sim.url());
    assert_eq!(get(&url).json(), json!(1));
    assert!(sim.delete_value("a b/c"));
    assert_eq!(get(&url).status, 404);
}

#[test]
fn kv_keeps_the_connection_alive_between_answers() {
    let sim = Simulator::start_default();
    let two = format!("{}{}", raw_get("/kv/greeting"), raw_get("/kv/plain"));
    let (bytes, closed) = raw_exchange(&sim.url(), &two, std::time::Duration::from_millis(300));
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(text.contains("{\"text\":\"hello\"}") && text.contains("\"just a string\""));
    assert!(!closed, "a keep-alive connection stays open");
}
