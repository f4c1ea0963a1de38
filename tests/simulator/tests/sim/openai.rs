use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use failsoft_sim::{FaultMode, Simulator};
use serde_json::{json, Value};

use crate::support::{agent, send};

fn completion_url(sim: &Simulator, target: &str) -> String {
    format!("{}/chat/completions", sim.openai_base_url(target))
}

fn request_body(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}],
           "stream": stream, "temperature": 0.3, "custom_field": {"kept": [1, 2]}})
}

fn call(url: &str, body: &Value) -> crate::support::Resp {
    let headers = [("Authorization", "Bearer sk-test"), ("Content-Type", "application/json")];
    send("POST", url, &headers, Some(&body.to_string()))
}

/// Opens a streamed completion; returns the reader positioned at the body.
fn open_stream(url: &str) -> impl Read {
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(url)
        .header("Authorization", "Bearer sk-test")
        .header("Content-Type", "application/json")
        .body(request_body(true).to_string())
        .unwrap();
    let response = agent(Duration::from_secs(10)).run(request).expect("stream opens");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response.into_body().into_reader()
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines().filter_map(|l| l.strip_prefix("data: ")).collect()
}

#[test]
fn completion_names_the_target_and_echoes_the_model() {
    let sim = Simulator::start_default();
    let resp = call(&completion_url(&sim, "primary"), &request_body(false));
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello from the simulator [target=primary]");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let default = call(&format!("{}/v1/chat/completions", sim.url()), &request_body(false)).json();
    assert_eq!(default["choices"][0]["message"]["content"], "Hello from the simulator [target=default]");
}

#[test]
fn request_body_is_recorded_untouched() {
    let sim = Simulator::start_default();
    call(&completion_url(&sim, "fallback"), &request_body(false));
    assert_eq!(sim.last_openai_request("fallback"), Some(request_body(false)));
    assert_eq!(sim.last_openai_request("primary"), None);
}

#[test]
fn missing_bearer_is_401_in_openai_shape() {
    let sim = Simulator::start_default();
    let resp = send("POST", &completion_url(&sim, "primary"), &[], Some(&request_body(false).to_string()));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"]["code"], "invalid_api_key");
    assert!(resp.json()["error"]["message"].is_string());
}

#[test]
fn stream_arrives_chunk_by_chunk_and_ends_with_done() {
    let sim = Simulator::start_default();
    sim.set_chunk_delay(Duration::from_millis(40));
    let mut reader = BufReader::new(open_stream(&completion_url(&sim, "primary")));
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let first_at = Instant::now();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(first_at.elapsed() >= Duration::from_millis(200), "later chunks arrive later");
    let text = format!("{first}{rest}");
    let lines = data_lines(&text);
    assert_eq!(lines.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> =
        lines[..lines.len() - 1].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String =
        chunks.iter().filter_map(|c| c.pointer("/choices/0/delta/content").and_then(Value::as_str)).collect();
    assert_eq!(content, "Hello from the simulator [target=primary]");
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "stop");
}

#[test]
fn break_stream_sends_two_chunks_then_closes_without_done() {
    let sim = Simulator::start_default();
    sim.set_fault("/t/primary", FaultMode::BreakStream);
    let mut received = Vec::new();
    let result = open_stream(&completion_url(&sim, "primary")).read_to_end(&mut received);
    assert!(result.is_err(), "an incomplete chunked body is an error");
    let text = String::from_utf8_lossy(&received);
    assert_eq!(data_lines(&text).len(), 2, "{text}");
    assert!(!text.contains("[DONE]"));
    // The other target is untouched.
    assert_eq!(call(&completion_url(&sim, "fallback"), &request_body(false)).status, 200);
}

#[test]
fn hang_stream_sends_headers_and_no_chunk() {
    let sim = Simulator::start_default();
    sim.set_fault("/t/primary", FaultMode::HangStream);
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(completion_url(&sim, "primary"))
        .header("Authorization", "Bearer sk-test")
        .body(request_body(true).to_string())
        .unwrap();
    let response = agent(Duration::from_millis(400)).run(request).expect("headers arrive");
    assert_eq!(response.status().as_u16(), 200);
    let mut buf = [0u8; 64];
    assert!(response.into_body().into_reader().read(&mut buf).is_err(), "no chunk before the timeout");
}
