//! The Opik source and the config facade, through `Client`, against the simulator.

mod common;

use common::poll_until;
use failsoft::config::{config_key, get_or_create_config, missing_fields, ConfigOptions};
use failsoft::prompt::Prompt;
use failsoft::sources::{OpikOptions, OpikSource};
use failsoft::{Client, ClientOptions, ErrorKind, Key, Qualifier, Source, ValueSource};
use failsoft_sim::{FaultMode, Simulator};
use serde_json::{json, Map, Value as Json};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const API_KEY: &str = "opik-key-SUPERSECRET-42";
const WORKSPACE: &str = "team-ws";
const RETRIEVE: &str = "/v1/private/projects/retrieve";
const BLUEPRINTS: &str = "/v1/private/agent-configs/blueprints";

fn fixture(auth: bool) -> Json {
    json!({
        "opik": {
            "api_key": if auth { json!(API_KEY) } else { Json::Null },
            "workspace": if auth { json!(WORKSPACE) } else { Json::Null },
            "projects": [
                {"name": "agent", "blueprints": [
                    {"name": "v1", "envs": ["prod"], "values": [
                        {"key": "model", "value": "gpt-4o-mini", "type": "string"},
                        {"key": "max_tokens", "value": "256", "type": "integer"},
                        {"key": "whole_float_int", "value": "3.0", "type": "integer"},
                        {"key": "temperature", "value": "0.2", "type": "float"},
                        {"key": "b_true", "value": "true", "type": "boolean"},
                        {"key": "b_one", "value": "1", "type": "boolean"},
                        {"key": "b_yes", "value": "YES", "type": "boolean"},
                        {"key": "b_false", "value": "False", "type": "boolean"},
                        {"key": "b_zero", "value": "0", "type": "boolean"},
                        {"key": "b_no", "value": "no", "type": "boolean"},
                        {"key": "nothing", "value": null, "type": "string"},
                        {"key": "system_prompt", "value": "abc123", "type": "prompt"},
                        {"key": "pinned_prompt", "value": "def456", "type": "prompt_commit"}
                    ]},
                    {"name": "v2", "envs": ["staging"], "values": [
                        {"key": "model", "value": "gpt-4o", "type": "string"},
                        {"key": "max_tokens", "value": "512", "type": "integer"}
                    ]}
                ]},
                {"name": "broken", "blueprints": [
                    {"name": "v1", "envs": ["prod"], "values": [{"key": "flag", "value": "maybe", "type": "boolean"}]}
                ]},
                {"name": "dangling", "blueprints": [
                    {"name": "v1", "envs": ["prod"], "values": [{"key": "p", "value": "no-such-commit", "type": "prompt"}]}
                ]},
                {"name": "untagged", "blueprints": [
                    {"name": "v1", "envs": ["staging"], "values": [{"key": "model", "value": "x", "type": "string"}]}
                ]},
                {"name": "empty-agent", "blueprints": []},
                {"name": "empty-many", "blueprints": []}
            ],
            "prompts": [
                {"commit": "abc123", "name": "system_prompt", "template": "You are {{role}}."},
                {"commit": "def456", "name": "pinned", "template": "Pinned {{x}}"}
            ]
        }
    })
}

fn source(sim: &Simulator, auth: bool) -> OpikSource {
    OpikSource::new(OpikOptions {
        base_url: Some(sim.url()),
        api_key: auth.then(|| API_KEY.to_string()),
        workspace: auth.then(|| WORKSPACE.to_string()),
        project_name: Some("agent".into()),
    })
    .unwrap()
}

fn options(ttl: Duration) -> ClientOptions {
    ClientOptions {
        ttl: Some(ttl),
        cold_deadline: Duration::from_secs(3),
        quick_retry_delay: Duration::from_millis(20),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        ..Default::default()
    }
}

fn client(sim: &Simulator) -> Client {
    Client::new(source(sim, true), options(Duration::from_secs(60))).unwrap()
}

fn obj(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

/// POSTs that created (or tried to create) a first version.
fn creates(sim: &Simulator) -> usize {
    sim.requests(BLUEPRINTS).iter().filter(|r| r["method"] == "POST").count()
}

fn writes(sim: &Simulator) -> usize {
    sim.requests(BLUEPRINTS).iter().filter(|r| r["method"] != "GET").count()
}

fn versions_of(sim: &Simulator, project: &str) -> Vec<Json> {
    let state = sim.state();
    state["opik"]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == project)
        .map(|p| p["blueprints"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[test]
fn typed_values_are_decoded() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    let v = c.get(&Key::new("agent")).unwrap();
    assert_eq!(v.version(), Some(1));
    assert_eq!(v.source, ValueSource::Fresh);
    let d = v.data();
    assert_eq!(d["model"], json!("gpt-4o-mini"));
    assert_eq!(d["max_tokens"], json!(256));
    assert!(d["max_tokens"].is_i64());
    assert_eq!(d["whole_float_int"], json!(3));
    assert_eq!(d["temperature"], json!(0.2));
    for t in ["b_true", "b_one", "b_yes"] {
        assert_eq!(d[t], json!(true), "{t}");
    }
    for f in ["b_false", "b_zero", "b_no"] {
        assert_eq!(d[f], json!(false), "{f}");
    }
    assert_eq!(d["nothing"], Json::Null);
    assert!(d.get("_blueprint").is_none(), "data holds only the fields");

    // Prompts are resolved by commit into prompt JSON the prompt facade reads.
    let sp = &d["system_prompt"];
    assert_eq!(sp["commit"], "abc123");
    assert_eq!(sp["type"], "text");
    assert_eq!(sp["prompt"], "You are {{role}}.");
    assert_eq!(sp["name"], "system_prompt");
    let p = Prompt::from_json(sp).unwrap();
    assert_eq!(p.commit.as_deref(), Some("abc123"));
    assert_eq!(p.compile(&obj(json!({"role": "a critic"})), true).unwrap(), "You are a critic.");
    assert_eq!(d["pinned_prompt"]["prompt"], "Pinned {{x}}");

    // Auth headers: the raw key and the workspace.
    let r = &sim.requests(RETRIEVE)[0];
    assert_eq!(r["headers"]["authorization"], API_KEY);
    assert_eq!(r["headers"]["comet-workspace"], WORKSPACE);
    assert_eq!(r["body"], json!({"name": "agent"}));
}

#[test]
fn env_version_and_latest_and_one_project_lookup() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    let staging = c.get(&config_key("agent", Some("staging"), None).unwrap()).unwrap();
    assert_eq!((staging.version(), staging.data()["model"].clone()), (Some(2), json!("gpt-4o")));
    let named = c.get(&config_key("agent", None, Some("1")).unwrap()).unwrap();
    assert_eq!(named.version(), Some(1));
    let latest = c.get(&config_key("agent", None, Some("latest")).unwrap()).unwrap();
    assert_eq!(latest.version(), Some(2));
    let prod_explicit = c.get(&config_key("agent", Some("prod"), None).unwrap()).unwrap();
    assert_eq!(prod_explicit.version(), Some(1));
    // The empty name is the source's project.
    let default = c.get(&Key::new("")).unwrap();
    assert_eq!(default.data()["model"], "gpt-4o-mini");
    assert_eq!(sim.request_count(RETRIEVE), 1, "the project id is resolved once");
    // Prompts are resolved once per commit too (commits are immutable).
    assert_eq!(sim.request_count("/v1/private/prompts/by-commit/abc123"), 1);
}

#[test]
fn errors_are_typed() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    for key in [
        config_key("agent", Some("nope"), None).unwrap(),
        config_key("agent", None, Some("v9")).unwrap(),
        Key::new("no-such-project"),
        Key::new("empty-agent"),
        Key::new("untagged"),
    ] {
        let e = c.get(&key).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{key}: {e}");
    }
    let e = c.get(&Key::new("broken")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("flag") && e.message.contains("maybe"), "{}", e.message);
    let e = c.get(&Key::new("dangling")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("no-such-commit"), "{}", e.message);

    sim.reset_counts();
    for key in [
        Key::with("agent", Qualifier::Label("x".into())),
        Key::with("agent", Qualifier::Version(3)),
        Key::with("agent", Qualifier::Env(String::new())),
    ] {
        assert_eq!(c.get(&key).unwrap_err().kind, ErrorKind::InvalidArgument, "{key}");
    }
    assert_eq!(config_key("agent", Some("prod"), Some("v1")).unwrap_err().kind, ErrorKind::InvalidArgument);
    let no_project = Client::new(
        OpikSource::new(OpikOptions { base_url: Some(sim.url()), ..Default::default() }).unwrap(),
        options(Duration::from_secs(60)),
    )
    .unwrap();
    if std::env::var_os("OPIK_PROJECT_NAME").is_none() {
        assert_eq!(no_project.get(&Key::new("")).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
    assert_eq!(sim.counts().total, 0, "no request for an invalid argument");

    sim.set_fault("/v1/private", FaultMode::Garbage);
    let fresh = client(&sim);
    assert_eq!(fresh.get(&Key::new("agent")).unwrap_err().kind, ErrorKind::InvalidResponse);
}

#[test]
fn unauthorized_never_shows_the_key() {
    let sim = Simulator::start(fixture(true));
    let wrong = "opik-WRONG-key-777";
    let src = OpikSource::new(OpikOptions {
        base_url: Some(sim.url()),
        api_key: Some(wrong.into()),
        workspace: Some(WORKSPACE.into()),
        project_name: None,
    })
    .unwrap();
    assert!(!format!("{src:?}").contains(wrong));
    assert!(!src.identity().contains(wrong));
    let c = Client::new(src, options(Duration::from_secs(60))).unwrap();
    let e = c.get(&Key::new("agent")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    for shown in [e.to_string(), format!("{e:?}"), format!("{:?}", c.status())] {
        assert!(!shown.contains(wrong) && !shown.contains(API_KEY), "{shown}");
    }
    // No key at all against a server that wants one.
    let c = Client::new(source(&sim, false), options(Duration::from_secs(60))).unwrap();
    assert_eq!(c.get(&Key::new("agent")).unwrap_err().kind, ErrorKind::Unauthorized);
    let r = sim.requests(RETRIEVE);
    assert!(r.last().unwrap()["headers"].get("authorization").is_none(), "no empty Authorization header");
}

fn seed() -> Map<String, Json> {
    obj(json!({
        "model": "gpt-4o-mini",
        "max_tokens": 128,
        "temperature": 0.7,
        "use_tools": true,
        "stop": ["\n\n", "END"],
        "extra": {"a": 1},
        "nothing": null,
        "system_prompt": {"commit": "abc123", "name": "system_prompt", "type": "text", "prompt": "local copy"}
    }))
}

#[test]
fn get_or_create_creates_exactly_one_version_under_16_callers() {
    let sim = Simulator::start(fixture(true));
    let c = Arc::new(client(&sim));
    let key = Key::new("empty-agent");
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (c, key, barrier) = (c.clone(), key.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                get_or_create_config(&c, &key, &seed(), ConfigOptions::default()).unwrap()
            })
        })
        .collect();
    let values: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(creates(&sim), 1, "exactly one POST");
    assert_eq!(versions_of(&sim, "empty-agent").len(), 1);
    for v in &values {
        assert!(!v.is_fallback());
        assert_eq!(
            v.source,
            ValueSource::Fresh,
            "the created config is read back, so the first read is fresh"
        );
        assert_eq!(v.version(), Some(1));
        assert_eq!(v.data(), values[0].data());
    }
    let d = values[0].data();
    assert_eq!(d["model"], "gpt-4o-mini");
    assert_eq!(d["max_tokens"], json!(128));
    assert_eq!(d["temperature"], json!(0.7));
    assert_eq!(d["use_tools"], json!(true));
    assert_eq!(d["stop"], json!(["\n\n", "END"]), "lists travel as JSON text and come back as lists");
    assert_eq!(d["extra"], json!({"a": 1}));
    assert_eq!(d["nothing"], Json::Null);
    assert_eq!(d["system_prompt"]["prompt"], "You are {{role}}.", "prompts are stored by commit");

    // What was stored: typed like Opik's SDK, tagged prod.
    let stored = &versions_of(&sim, "empty-agent")[0];
    assert_eq!(stored["envs"], json!(["prod"]));
    let types: Map<String, Json> = stored["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["key"].as_str().unwrap().to_string(), v["type"].clone()))
        .collect();
    assert_eq!(
        Json::Object(types),
        json!({"model": "string", "max_tokens": "integer", "temperature": "float", "use_tools": "boolean",
               "stop": "string", "extra": "string", "nothing": "string", "system_prompt": "prompt"})
    );

    // Reading again creates nothing.
    let again = get_or_create_config(&c, &key, &seed(), ConfigOptions::default()).unwrap();
    assert_eq!(again.data(), values[0].data());
    assert_eq!(creates(&sim), 1);
}

#[test]
fn get_or_create_with_16_separate_clients_keeps_one_version() {
    let sim = Arc::new(Simulator::start(fixture(true)));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (sim, barrier) = (sim.clone(), barrier.clone());
            std::thread::spawn(move || {
                let c = client(&sim);
                let mut fb = seed();
                fb.insert("who".into(), json!(i));
                barrier.wait();
                get_or_create_config(&c, &Key::new("empty-many"), &fb, ConfigOptions::default()).unwrap()
            })
        })
        .collect();
    let values: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(versions_of(&sim, "empty-many").len(), 1, "one version, whatever the race");
    for v in &values {
        assert!(!v.is_fallback());
        assert_eq!(v.data(), values[0].data(), "everyone reads the winner's copy");
    }
}

#[test]
fn a_project_that_does_not_exist_is_created_with_its_config() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    let v = get_or_create_config(
        &c,
        &config_key("brand-new", None, Some("latest")).unwrap(),
        &seed(),
        ConfigOptions::default(),
    )
    .unwrap();
    assert!(!v.is_fallback());
    assert_eq!(v.data()["max_tokens"], json!(128));
    assert_eq!(versions_of(&sim, "brand-new").len(), 1);
}

#[test]
fn existing_configs_are_authoritative_and_never_written() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    let fb = obj(json!({"model": "local-model", "max_tokens": 1}));
    let v = get_or_create_config(&c, &Key::new("agent"), &fb, ConfigOptions::default()).unwrap();
    assert_eq!(v.data()["model"], "gpt-4o-mini", "the remote copy wins");
    assert_eq!(v.data()["max_tokens"], json!(256));

    // Explicit env or version missing: NotFound, never created, even with a fallback.
    for key in
        [config_key("agent", Some("canary"), None).unwrap(), config_key("agent", None, Some("v7")).unwrap()]
    {
        let e = get_or_create_config(&c, &key, &fb, ConfigOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{key}");
    }
    let e = get_or_create_config(
        &c,
        &config_key("empty-agent", Some("prod"), None).unwrap(),
        &fb,
        ConfigOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "an explicit env=prod does not create");
    // A project with configs but no prod tag is not created over.
    let e = get_or_create_config(&c, &Key::new("untagged"), &fb, ConfigOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("other versions exist"), "{}", e.message);
    // create: false.
    let e = get_or_create_config(
        &c,
        &Key::new("empty-agent"),
        &fb,
        ConfigOptions { create: false, ..Default::default() },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(writes(&sim), 0, "nothing was ever pushed");
    assert!(versions_of(&sim, "empty-agent").is_empty());
}

#[test]
fn missing_fields_are_an_error_naming_every_one() {
    let sim = Simulator::start(fixture(true));
    let c = client(&sim);
    let fb = obj(json!({"model": "m", "zeta_missing": 1, "max_tokens": 1, "alpha_missing": "x"}));
    let e = get_or_create_config(&c, &Key::new("agent"), &fb, ConfigOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("zeta_missing") && e.message.contains("alpha_missing"), "{}", e.message);
    assert!(!e.message.contains("max_tokens"), "{}", e.message);
    assert_eq!(e.key, "agent");
    let v = c.get(&Key::new("agent")).unwrap();
    assert_eq!(missing_fields(&fb, v.data()), vec!["alpha_missing", "zeta_missing"]);
    assert_eq!(writes(&sim), 0);
}

#[test]
fn the_fallback_is_served_when_the_backend_is_down_and_nothing_is_created() {
    let sim = Simulator::start(fixture(true));
    sim.set_fault("*", FaultMode::Refused);
    let c = client(&sim);
    let v = get_or_create_config(&c, &Key::new("empty-agent"), &seed(), ConfigOptions::default()).unwrap();
    assert!(v.is_fallback());
    assert_eq!(v.data(), &Json::Object(seed()));
    assert_eq!(v.error.as_ref().unwrap().kind, ErrorKind::Unavailable);
    sim.heal("*");

    // A prompt without a commit cannot be stored by reference: nothing is created, the fallback
    // is served with the reason.
    let fb = obj(json!({"model": "m", "system_prompt": {"type": "text", "prompt": "local only"}}));
    let c = client(&sim);
    let v = get_or_create_config(&c, &Key::new("empty-agent"), &fb, ConfigOptions::default()).unwrap();
    assert!(v.is_fallback());
    let e = v.error.as_ref().unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("system_prompt"), "{}", e.message);
    assert_eq!(writes(&sim), 0);
}

#[test]
fn a_new_version_is_served_after_the_ttl() {
    let sim = Simulator::start(fixture(true));
    let c = Client::new(source(&sim, true), options(Duration::from_millis(150))).unwrap();
    assert_eq!(c.get(&Key::new("agent")).unwrap().version(), Some(1));
    sim.publish_blueprint("agent", json!([{"key": "model", "value": "gpt-5", "type": "string"}]), &["prod"]);
    let served = poll_until(Duration::from_secs(5), || {
        let v = c.get(&Key::new("agent")).expect("no read fails");
        assert!(v.error.is_none(), "{:?}", v.error);
        v.version() == Some(3)
    });
    assert!(served);
    assert_eq!(c.get(&Key::new("agent")).unwrap().data(), &json!({"model": "gpt-5"}));
}

#[test]
fn the_opik_ttl_variable_sets_the_default_ttl() {
    if std::env::var_os("FAILSOFT_TTL_SECONDS").is_some() {
        eprintln!("skipped: FAILSOFT_TTL_SECONDS is set in this environment");
        return;
    }
    let sim = Simulator::start(fixture(true));
    assert_eq!(source(&sim, true).ttl_env(), Some("OPIK_CONFIG_TTL_SECONDS"));
    // Only this test touches the variable, and only clients without their own TTL read it.
    std::env::set_var("OPIK_CONFIG_TTL_SECONDS", "9");
    let c = Client::new(source(&sim, true), ClientOptions::default()).unwrap();
    std::env::remove_var("OPIK_CONFIG_TTL_SECONDS");
    assert_eq!(c.ttl(), Duration::from_secs(9));
}

#[test]
fn a_config_is_checked_once_per_version_and_every_read_of_it_shares_the_checked_data() {
    let sim = Simulator::start(fixture(true));
    let c = Client::new(source(&sim, true), options(Duration::from_millis(150))).unwrap();
    let key = Key::new("agent");
    sim.publish_blueprint(
        "agent",
        json!([{"key": "stops", "value": "[\"a\"]", "type": "string"}]),
        &["prod"],
    );
    // JSON text parsed into a list: the checked data differs from the fetched data, yet two reads
    // of one version share it (bindings convert it once, comparing the `data` pointer).
    let fb = obj(json!({"stops": []}));
    let read = || get_or_create_config(&c, &key, &fb, ConfigOptions::default()).unwrap();
    let first = read();
    assert_eq!(first.data(), &json!({"stops": ["a"]}));
    let again = read();
    assert!(Arc::ptr_eq(&first.payload.data, &again.payload.data), "checked once for one version");
    let warm =
        failsoft::config::cached_config(&c, &key, None, Some(&fb)).expect("the checked config is cached");
    assert!(Arc::ptr_eq(&first.payload.data, &warm.payload.data));
    sim.publish_blueprint(
        "agent",
        json!([{"key": "stops", "value": "[\"b\"]", "type": "string"}]),
        &["prod"],
    );
    assert!(poll_until(Duration::from_secs(5), || read().data() == &json!({"stops": ["b"]})));
    assert!(!Arc::ptr_eq(&first.payload.data, &read().payload.data), "a new version is checked anew");
}
