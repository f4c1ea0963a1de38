use failsoft_sim::Simulator;
use serde_json::{json, Value};

use crate::support::{basic, send, Resp};

const AUTH: (&str, &str) = ("pk-lf-test", "sk-lf-test");

fn prompt(sim: &Simulator, name_and_query: &str) -> Resp {
    let auth = basic(AUTH.0, AUTH.1);
    send(
        "GET",
        &format!("{}/api/public/v2/prompts/{name_and_query}", sim.url()),
        &[("Authorization", &auth)],
        None,
    )
}

#[test]
fn default_label_is_production() {
    let sim = Simulator::start_default();
    let body = prompt(&sim, "movie-critic").json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["type"], "text");
    assert_eq!(body["prompt"], "Do you like {{movie}}?");
    assert_eq!(body["labels"], json!(["production"]));
    for field in ["id", "projectId", "config", "tags", "commitMessage", "createdAt", "updatedAt", "createdBy"]
    {
        assert!(body.get(field).is_some(), "missing {field}");
    }
    assert_eq!(body["resolutionGraph"], Value::Null);
}

#[test]
fn label_and_version_select_a_version() {
    let sim = Simulator::start_default();
    assert_eq!(prompt(&sim, "movie-critic?label=latest").json()["version"], 2);
    assert_eq!(prompt(&sim, "movie-critic?label=staging").json()["version"], 2);
    assert_eq!(prompt(&sim, "movie-critic?version=1").json()["labels"], json!(["production"]));
    let both = prompt(&sim, "movie-critic?version=1&label=production");
    assert_eq!(both.status, 400);
    assert_eq!(both.json(), json!({"message": "Cannot specify both version and label"}));
}

#[test]
fn missing_prompt_or_label_is_404() {
    let sim = Simulator::start_default();
    let resp = prompt(&sim, "nope");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json(), json!({"message": "Prompt not found: 'nope' with label 'production'"}));
    assert_eq!(prompt(&sim, "movie-critic?label=gone").status, 404);
    assert_eq!(prompt(&sim, "movie-critic?version=9").status, 404);
}

#[test]
fn names_are_percent_decoded() {
    let sim = Simulator::start_default();
    let body = prompt(&sim, "folder%2Fx%20y%20%C3%BC").json();
    assert_eq!(body["name"], "folder/x y ü");
    let chat = prompt(&sim, "chat-agent").json();
    assert_eq!(chat["type"], "chat");
    assert_eq!(chat["prompt"][1], json!({"type": "placeholder", "name": "history"}));
    assert_eq!(chat["prompt"][0]["type"], "chatmessage");
}

#[test]
fn auth_is_checked_401_and_403() {
    let sim = Simulator::start_default();
    let url = format!("{}/api/public/v2/prompts/movie-critic", sim.url());
    assert_eq!(send("GET", &url, &[], None).status, 401);
    assert_eq!(send("GET", &url, &[("Authorization", &basic("pk-lf-test", "wrong"))], None).status, 401);
    assert_eq!(send("GET", &url, &[("Authorization", &basic("pk-other", "sk-lf-test"))], None).status, 401);
    let public_only = send("GET", &url, &[("Authorization", &basic("pk-lf-test", ""))], None);
    assert_eq!(public_only.status, 403);
    assert!(public_only.json()["message"].is_string());
    assert_eq!(send("GET", &url, &[("X-Langfuse-Public-Key", "pk-lf-test")], None).status, 403);
}

#[test]
fn create_api_adds_a_version_and_moves_labels() {
    let sim = Simulator::start_default();
    let auth = basic(AUTH.0, AUTH.1);
    let body = json!({"name": "movie-critic", "type": "text", "prompt": "v3 {{movie}}",
                      "config": {}, "labels": ["production"], "tags": [], "commitMessage": "three"});
    let created = send(
        "POST",
        &format!("{}/api/public/v2/prompts", sim.url()),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(&body.to_string()),
    );
    assert_eq!(created.status, 201);
    assert_eq!(created.json()["version"], 3);
    assert_eq!(created.json()["labels"], json!(["production", "latest"]));
    assert_eq!(prompt(&sim, "movie-critic").json()["version"], 3);
    assert_eq!(prompt(&sim, "movie-critic?version=1").json()["labels"], json!([]));
}

#[test]
fn control_publish_and_delete() {
    let sim = Simulator::start_default();
    let v =
        sim.publish_prompt(json!({"name": "new", "type": "text", "prompt": "hi", "labels": ["production"]}));
    assert_eq!(v["version"], 1);
    assert_eq!(prompt(&sim, "new").json()["prompt"], "hi");
    assert!(sim.delete_prompt_label("new", "production"));
    assert_eq!(prompt(&sim, "new").status, 404);
    assert_eq!(prompt(&sim, "new?label=latest").status, 200);
    assert!(sim.delete_prompt("new"));
    assert_eq!(prompt(&sim, "new?label=latest").status, 404);
}

#[test]
fn null_public_key_turns_auth_off() {
    let sim = Simulator::start(json!({"langfuse": {"public_key": null, "prompts": [
        {"name": "p", "type": "text", "prompt": "x", "labels": ["production"]}]}}));
    assert_eq!(send("GET", &format!("{}/api/public/v2/prompts/p", sim.url()), &[], None).status, 200);
}
