//! Runs tests/scenarios/cache.json: the scenarios every language runs step by step.

mod common;

use common::Sim;
use failsoft::config::{config_key, get_or_create_config, ConfigOptions};
use failsoft::sources::HttpSource;
use failsoft::{Client, ClientOptions, Error, Key, ReadOptions, Value};
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

fn load() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/cache.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn secs(v: &Json) -> Option<Duration> {
    v.as_f64().map(Duration::from_secs_f64)
}

fn read(client: &Client, step: &Json) -> Result<Value, Error> {
    let key = Key::new(step["key"].as_str().unwrap());
    let opts = match step.get("fallback") {
        Some(fb) => ReadOptions::with_fallback(fb.clone()),
        None => ReadOptions::default(),
    };
    client.get_with(&key, opts)
}

/// `None` when `v` meets every expectation, else why not.
fn mismatch(client: &Client, v: Option<&Value>, expect: &Json) -> Option<String> {
    for (k, want) in expect.as_object().unwrap() {
        let got = match (k.as_str(), v) {
            ("source", Some(v)) => json!(v.source.as_str()),
            ("is_fallback", Some(v)) => json!(v.is_fallback()),
            ("version", Some(v)) => json!(v.version()),
            ("value", Some(v)) => v.data().clone(),
            ("error", Some(v)) => json!(v.error.as_ref().map(|e| e.kind.as_str())),
            ("status_state", _) => json!(client.status().state.as_str()),
            ("status_error", _) => json!(client.status().last_error.map(|e| e.kind.as_str())),
            (other, None) => return Some(format!("{other} needs a read")),
            (other, _) => panic!("unknown expectation {other}"),
        };
        if &got != want {
            return Some(format!("{k}: got {got}, want {want}"));
        }
    }
    None
}

fn run_step(name: &str, i: usize, sim: &Sim, client: &Client, step: &Json) {
    let ctx = format!("{name} step {i} {step}");
    match step["op"].as_str().unwrap() {
        "get" => {
            for _ in 0..step.get("repeat").and_then(Json::as_u64).unwrap_or(1) {
                let t = Instant::now();
                let r = read(client, step);
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if let Some(max) = step.get("max_ms").and_then(Json::as_f64) {
                    assert!(ms <= max, "{ctx}: took {ms:.1} ms");
                }
                if let Some(min) = step.get("min_ms").and_then(Json::as_f64) {
                    assert!(ms >= min, "{ctx}: took {ms:.1} ms");
                }
                match (r, step.get("expect_error").and_then(Json::as_str)) {
                    (Err(e), Some(kind)) => assert_eq!(e.kind.as_str(), kind, "{ctx}: {e}"),
                    (Ok(v), Some(_)) => panic!("{ctx}: expected an error, got {:?}", v.to_json()),
                    (Err(e), None) => panic!("{ctx}: {e}"),
                    (Ok(v), None) => {
                        if let Some(why) = step.get("expect").and_then(|e| mismatch(client, Some(&v), e)) {
                            panic!("{ctx}: {why}");
                        }
                    }
                }
            }
        }
        "poll" => {
            let until = Instant::now() + Duration::from_millis(step["timeout_ms"].as_u64().unwrap());
            loop {
                let v = step.get("key").map(|_| read(client, step));
                let why = match &v {
                    Some(Err(e)) => Some(e.to_string()),
                    Some(Ok(v)) => mismatch(client, Some(v), &step["until"]),
                    None => mismatch(client, None, &step["until"]),
                };
                match why {
                    None => break,
                    Some(why) if Instant::now() >= until => panic!("{ctx}: still {why}"),
                    Some(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
        "fault" => {
            let mut extra = step.clone();
            let o = extra.as_object_mut().unwrap();
            o.remove("op");
            let (route, mode) = (o.remove("route").unwrap(), o.remove("mode").unwrap());
            sim.fault_with(route.as_str().unwrap(), mode.as_str().unwrap(), Json::Object(o.clone()));
        }
        "sleep" => std::thread::sleep(Duration::from_millis(step["ms"].as_u64().unwrap())),
        "set_kv" => {
            sim.set_kv(step["key"].as_str().unwrap(), step["value"].clone(), step["version"].as_i64())
        }
        "delete_kv" => sim.delete_kv(step["key"].as_str().unwrap()),
        "count" => assert_eq!(json!(sim.count(step["path"].as_str().unwrap())), step["expect"], "{ctx}"),
        "status" => {
            assert_eq!(client.status().state.as_str(), step["expect"]["state"].as_str().unwrap(), "{ctx}");
        }
        "prefetch" => {
            let keys: Vec<Key> =
                step["keys"].as_array().unwrap().iter().map(|k| Key::new(k.as_str().unwrap())).collect();
            match (client.prefetch(&keys, None), step.get("expect_error").and_then(Json::as_str)) {
                (Ok(_), None) => {}
                (Ok(_), Some(_)) => panic!("{ctx}: expected a failure"),
                (Err(e), None) => panic!("{ctx}: {e}"),
                (Err(e), Some(kind)) => {
                    assert!(e.failures.iter().any(|(_, f)| f.kind.as_str() == kind), "{ctx}: {e}");
                    if let Some(m) = step.get("error_mentions").and_then(Json::as_str) {
                        assert!(e.to_string().contains(m), "{ctx}: {e}");
                    }
                }
            }
        }
        other => panic!("{ctx}: unknown op {other}"),
    }
}

#[test]
fn shared_cache_scenarios() {
    let doc = load();
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 10);
    // Independent scenarios run side by side; each has its own simulator and client.
    std::thread::scope(|s| {
        for sc in scenarios {
            let fixture = doc["fixture"].clone();
            s.spawn(move || {
                let name = sc["name"].as_str().unwrap();
                let sim = Sim::with_fixture(fixture);
                let c = &sc["client"];
                let opts = ClientOptions {
                    ttl: secs(&c["ttl_seconds"]),
                    cold_deadline: secs(&c["cold_deadline_seconds"]).unwrap_or(Duration::from_secs(5)),
                    ..Default::default()
                };
                let client = Client::new(HttpSource::new(sim.kv_template()).unwrap(), opts).unwrap();
                for (i, step) in sc["steps"].as_array().unwrap().iter().enumerate() {
                    run_step(name, i, &sim, &client, step);
                }
            });
        }
    });
}

/// tests/scenarios/config.json: one config read per scenario (format in its README).
#[test]
fn shared_config_scenarios() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/config.json");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 8);
    std::thread::scope(|s| {
        for sc in scenarios {
            let fixture = doc["fixture"].clone();
            s.spawn(move || run_config_scenario(&Sim::with_fixture(fixture), sc));
        }
    });
}

fn run_config_scenario(sim: &Sim, sc: &Json) {
    let name = sc["name"].as_str().unwrap();
    for f in sc.get("faults").and_then(Json::as_array).into_iter().flatten() {
        sim.fault(f["route"].as_str().unwrap(), f["mode"].as_str().unwrap());
    }
    let spec = json!({
        "source": {"kind": "opik", "base_url": sim.url(), "project_name": "agent"},
        "cold_deadline_seconds": 2,
    });
    let client = failsoft::ClientSpec::from_value(spec).and_then(|s| s.build()).unwrap();
    let key = config_key("", sc["env"].as_str(), sc["version"].as_str()).unwrap();
    let fallback = sc["fallback"].as_object().unwrap();
    let read = get_or_create_config(&client, &key, fallback, ConfigOptions::default());
    match (read, sc.get("expect_error")) {
        (Err(e), Some(want)) => {
            assert_eq!(e.kind.as_str(), want["kind"].as_str().unwrap(), "{name}: {e}");
            if let Some(k) = want.get("key") {
                assert_eq!(json!(e.key), *k, "{name}: {e}");
            }
            for text in want.get("contains").and_then(Json::as_array).into_iter().flatten() {
                assert!(e.message.contains(text.as_str().unwrap()), "{name}: {text} not in {e}");
            }
        }
        (Ok(v), Some(_)) => panic!("{name}: expected an error, got {:?}", v.to_json()),
        (Err(e), None) => panic!("{name}: {e}"),
        (Ok(v), None) => {
            let expect = &sc["expect"];
            assert_eq!(json!(v.source.as_str()), expect["source"], "{name}");
            if let Some(f) = expect.get("is_fallback") {
                assert_eq!(json!(v.is_fallback()), *f, "{name}");
            }
            for (field, want) in expect["value"].as_object().unwrap() {
                assert_eq!(v.data().get(field), Some(want), "{name}: field {field} of {}", v.data());
            }
        }
    }
}
