//! The control port over HTTP, as the other languages' tests use it.

use failsoft_sim::Simulator;
use serde_json::json;

use crate::support::{basic, get, post, send};

#[test]
fn fault_switch_over_http() {
    let sim = Simulator::start_default();
    let control = sim.control_url();
    let resp =
        post(&format!("{control}/_sim/fault"), &json!({"route": "/kv/greeting", "mode": "503", "count": 1}));
    assert_eq!(resp.status, 200);
    assert_eq!(get(&format!("{control}/_sim/faults")).json()[0]["mode"], "503");
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).status, 503);
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).status, 200);
    let bad = post(&format!("{control}/_sim/fault"), &json!({"route": "/kv", "mode": "explode"}));
    assert_eq!(bad.status, 400);
    let refused_count =
        post(&format!("{control}/_sim/fault"), &json!({"route": "*", "mode": "refused", "count": 1}));
    assert_eq!(refused_count.status, 400);
}

#[test]
fn refused_and_healed_over_http() {
    let sim = Simulator::start_default();
    let control = sim.control_url();
    post(&format!("{control}/_sim/fault"), &json!({"route": "*", "mode": "refused"}));
    let down = crate::support::try_send(
        &crate::support::agent(std::time::Duration::from_secs(2)),
        "GET",
        &format!("{}/kv/greeting", sim.url()),
        &[],
        None,
    );
    assert!(down.is_err());
    post(&format!("{control}/_sim/fault"), &json!({"route": "*", "mode": "healthy"}));
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).status, 200);
}

#[test]
fn data_changes_over_http() {
    let sim = Simulator::start_default();
    let control = sim.control_url();
    let set = post(&format!("{control}/_sim/kv"), &json!({"key": "greeting", "value": {"text": "new"}}));
    assert_eq!(set.json(), json!({"key": "greeting", "version": 2}));
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).json(), json!({"text": "new"}));
    assert_eq!(send("DELETE", &format!("{control}/_sim/kv/greeting"), &[], None).status, 200);
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).status, 404);
    assert_eq!(send("DELETE", &format!("{control}/_sim/kv/greeting"), &[], None).status, 404);

    let published = post(
        &format!("{control}/_sim/langfuse/prompts"),
        &json!({"name": "movie-critic", "type": "text", "prompt": "v3", "labels": ["production"]}),
    );
    assert_eq!(published.json()["version"], 3);
    let deleted =
        send("DELETE", &format!("{control}/_sim/langfuse/prompts/movie-critic?version=3"), &[], None);
    assert_eq!(deleted.status, 200);
    let auth = basic("pk-lf-test", "sk-lf-test");
    let prompt = send(
        "GET",
        &format!("{}/api/public/v2/prompts/movie-critic", sim.url()),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(prompt.status, 404, "production went away with version 3");

    let blueprint = post(
        &format!("{control}/_sim/opik/blueprints"),
        &json!({"project": "my-agent", "values": [{"key": "model", "value": "x", "type": "string"}]}),
    );
    assert_eq!(
        (blueprint.json()["name"].as_str(), blueprint.json()["envs"].clone()),
        (Some("v3"), json!(["prod"]))
    );

    let openai = post(&format!("{control}/_sim/openai"), &json!({"reply": "Bonjour", "chunk_delay_ms": 0}));
    assert_eq!(openai.json()["reply"], "Bonjour");

    post(&format!("{control}/_sim/reset"), &json!({}));
    assert_eq!(get(&format!("{control}/_sim/counts")).json(), json!({"total": 0, "paths": {}}));
    assert_eq!(get(&format!("{}/kv/greeting", sim.url())).json(), json!({"text": "hello"}));
}

#[test]
fn counts_and_requests_over_http() {
    let sim = Simulator::start_default();
    let control = sim.control_url();
    send("GET", &format!("{}/kv/greeting?x=1", sim.url()), &[("If-None-Match", "\"1\"")], None);
    send("GET", &format!("{}/kv/greeting", sim.url()), &[], None);
    get(&format!("{}/kv/plain", sim.url()));
    let counts = get(&format!("{control}/_sim/counts")).json();
    assert_eq!(counts, json!({"total": 3, "paths": {"/kv/greeting": 2, "/kv/plain": 1}}));
    let requests = get(&format!("{control}/_sim/requests?path=/kv/greeting")).json();
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert_eq!(requests[0]["method"], "GET");
    assert_eq!(requests[0]["query"], "x=1");
    assert_eq!(requests[0]["headers"]["if-none-match"], "\"1\"");
    assert_eq!(requests[1]["body"], serde_json::Value::Null);
    post(&format!("{control}/_sim/counts/reset"), &json!({}));
    assert_eq!(sim.counts().total, 0);
}

#[test]
fn openai_last_request_over_http() {
    let sim = Simulator::start_default();
    let body = json!({"model": "m", "messages": [], "extra": true});
    send(
        "POST",
        &format!("{}/chat/completions", sim.openai_base_url("primary")),
        &[("Authorization", "Bearer k")],
        Some(&body.to_string()),
    );
    let control = sim.control_url();
    assert_eq!(get(&format!("{control}/_sim/openai/last?target=primary")).json(), body);
    assert_eq!(get(&format!("{control}/_sim/openai/last?target=fallback")).status, 404);
}

#[test]
fn requests_record_post_bodies_as_json() {
    let sim = Simulator::start_default();
    post(&format!("{}/v1/private/projects/retrieve", sim.url()), &json!({"name": "my-agent"}));
    let recorded = sim.requests("/v1/private/projects/retrieve");
    assert_eq!(recorded[0]["body"], json!({"name": "my-agent"}));
    assert_eq!(recorded[0]["headers"]["content-type"], "application/json");
}
