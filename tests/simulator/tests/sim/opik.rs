use failsoft_sim::Simulator;
use serde_json::{json, Value};

use crate::support::{get, post, send, Resp};

fn private(sim: &Simulator, path: &str) -> String {
    format!("{}/v1/private/{path}", sim.url())
}

fn project_id(sim: &Simulator, name: &str) -> String {
    let resp = post(&private(sim, "projects/retrieve"), &json!({ "name": name }));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["id"].as_str().unwrap().to_owned()
}

fn value_of(blueprint: &Value, key: &str) -> Value {
    blueprint["values"].as_array().unwrap().iter().find(|v| v["key"] == key).unwrap()["value"].clone()
}

#[test]
fn project_ids_are_stable_and_unknown_projects_404() {
    let sim = Simulator::start_default();
    let id = project_id(&sim, "my-agent");
    assert_eq!(id, project_id(&Simulator::start_default(), "my-agent"));
    assert_eq!(id.len(), 36);
    assert_eq!(post(&private(&sim, "projects/retrieve"), &json!({"name": "nope"})).status, 404);
}

#[test]
fn blueprints_by_env_latest_name_and_id() {
    let sim = Simulator::start_default();
    let id = project_id(&sim, "my-agent");
    let prod =
        get(&private(&sim, &format!("agent-configs/blueprints/environments/prod/projects/{id}"))).json();
    assert_eq!((prod["name"].as_str(), prod["type"].as_str()), (Some("v1"), Some("blueprint")));
    assert_eq!(prod["envs"], json!(["prod"]));
    assert_eq!(value_of(&prod, "max_tokens"), "256");
    let types: Vec<&str> =
        prod["values"].as_array().unwrap().iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["string", "integer", "float", "boolean", "prompt"]);
    let latest = get(&private(&sim, &format!("agent-configs/blueprints/latest/projects/{id}"))).json();
    assert_eq!(latest["name"], "v2");
    let named = get(&private(&sim, &format!("agent-configs/blueprints/projects/{id}/names/v2"))).json();
    assert_eq!(named["id"], latest["id"]);
    let by_id = get(&private(&sim, &format!("agent-configs/blueprints/{}", prod["id"].as_str().unwrap())));
    assert_eq!(by_id.json()["name"], "v1");
    for missing in [
        format!("agent-configs/blueprints/environments/dev/projects/{id}"),
        format!("agent-configs/blueprints/projects/{id}/names/v9"),
        "agent-configs/blueprints/no-such-id".to_owned(),
        "agent-configs/blueprints/latest/projects/no-such-project".to_owned(),
    ] {
        assert_eq!(get(&private(&sim, &missing)).status, 404, "{missing}");
    }
}

#[test]
fn prompt_values_resolve_by_commit() {
    let sim = Simulator::start_default();
    let resp = get(&private(&sim, "prompts/by-commit/abc123")).json();
    assert_eq!(resp["template"], "You are {{role}}.");
    assert_eq!((resp["commit"].as_str(), resp["type"].as_str()), (Some("abc123"), Some("mustache")));
    assert_eq!(resp["name"], "system_prompt");
    assert_eq!(get(&private(&sim, "prompts/by-commit/zzz")).status, 404);
}

fn create(sim: &Simulator, method: &str, body: &Value) -> Resp {
    send(
        method,
        &private(sim, "agent-configs/blueprints"),
        &[("Content-Type", "application/json")],
        Some(&body.to_string()),
    )
}

#[test]
fn create_then_conflict_then_new_version_then_tag() {
    let sim = Simulator::start_default();
    let values = json!([{"key": "model", "value": "m1", "type": "string"}]);
    let body = json!({"project_name": "empty-agent",
                      "blueprint": {"id": "11111111-2222-7333-8444-555555555555", "type": "blueprint", "values": values}});
    let created = create(&sim, "POST", &body);
    assert_eq!(created.status, 201);
    assert!(created.body.is_empty());
    let read = get(&private(&sim, "agent-configs/blueprints/11111111-2222-7333-8444-555555555555")).json();
    assert_eq!((read["name"].as_str(), read["envs"].clone()), (Some("v1"), json!(["prod"])));

    let again =
        create(&sim, "POST", &json!({"project_name": "empty-agent", "blueprint": {"values": values}}));
    assert_eq!(again.status, 409);
    assert!(again.json()["errors"].is_array());

    let id = project_id(&sim, "empty-agent");
    let patched =
        create(&sim, "PATCH", &json!({"project_id": id, "blueprint": {"id": "v2-id", "values": values}}));
    assert_eq!(patched.status, 201);
    let latest = get(&private(&sim, &format!("agent-configs/blueprints/latest/projects/{id}"))).json();
    assert_eq!((latest["name"].as_str(), latest["envs"].clone()), (Some("v2"), json!([])));

    let tag = json!({"project_id": id, "envs": [{"env_name": "prod", "blueprint_id": "v2-id"}]});
    assert_eq!(post(&private(&sim, "agent-configs/blueprints/environments"), &tag).status, 204);
    let prod =
        get(&private(&sim, &format!("agent-configs/blueprints/environments/prod/projects/{id}"))).json();
    assert_eq!(prod["id"], "v2-id");
}

#[test]
fn control_publish_moves_envs() {
    let sim = Simulator::start_default();
    let v3 = sim.publish_blueprint(
        "my-agent",
        json!([{"key": "model", "value": "m3", "type": "string"}]),
        &["prod"],
    );
    assert_eq!(v3["name"], "v3");
    let id = project_id(&sim, "my-agent");
    let prod =
        get(&private(&sim, &format!("agent-configs/blueprints/environments/prod/projects/{id}"))).json();
    assert_eq!(value_of(&prod, "model"), "m3");
}

#[test]
fn api_key_and_workspace_are_required_when_configured() {
    let sim = Simulator::start(json!({"opik": {"api_key": "key-1", "workspace": "ws",
                                               "projects": [{"name": "p", "blueprints": []}]}}));
    let url = private(&sim, "projects/retrieve");
    let body = json!({"name": "p"}).to_string();
    let json_ct = ("Content-Type", "application/json");
    assert_eq!(send("POST", &url, &[json_ct], Some(&body)).status, 401);
    let bearer = [json_ct, ("Authorization", "Bearer key-1"), ("Comet-Workspace", "ws")];
    assert_eq!(send("POST", &url, &bearer, Some(&body)).status, 401);
    let wrong_ws = [json_ct, ("Authorization", "key-1"), ("Comet-Workspace", "other")];
    assert_eq!(send("POST", &url, &wrong_ws, Some(&body)).status, 401);
    let good = [json_ct, ("Authorization", "key-1"), ("Comet-Workspace", "ws")];
    assert_eq!(send("POST", &url, &good, Some(&body)).status, 200);
}
