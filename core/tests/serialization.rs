//! The JSON every door hands out comes from serde on the core types: these golden shapes are
//! what C, Python and Node read, so a change here is a change of every language's output.

use failsoft::{
    Change, Error, ErrorKind, Key, Payload, PrefetchError, Prompt, State, Status, Value, ValueSource,
};
use serde_json::{json, Value as Json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn unavailable() -> Error {
    Error::unavailable("HTTP 503 from http://host/kv/greeting").with_key("greeting").with_status(503)
}

fn stale_value() -> Value {
    Value {
        payload: Arc::new(Payload::new(json!({"text": "hi"}), Some(3), Some("\"e1\"".into()))),
        source: ValueSource::Stale,
        error: Some(Arc::new(unavailable())),
    }
}

/// `age` moves with the clock: checked to be a small non-negative number, then pinned.
fn pin_age(mut v: Json) -> Json {
    let age = v["age"].as_f64().expect("a fetched value has an age");
    assert!((0.0..5.0).contains(&age), "age {age}");
    v["age"] = json!(0.0);
    v
}

#[test]
fn error_serializes_kind_key_message_status_and_never_the_retry_hint() {
    let mut e = unavailable();
    e.retry_after = Some(Duration::from_secs(7));
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"kind": "Unavailable", "key": "greeting", "message": "HTTP 503 from http://host/kv/greeting", "status": 503})
    );
    let plain = Error::invalid_argument("bad ttl");
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        json!({"kind": "InvalidArgument", "key": "", "message": "bad ttl", "status": null})
    );
}

#[test]
fn every_error_kind_has_one_name_and_one_code_in_c_order() {
    let names: Vec<_> = ErrorKind::ALL.iter().map(|k| (k.as_str(), k.code())).collect();
    assert_eq!(
        names,
        [
            ("NotFound", "NOT_FOUND"),
            ("Unauthorized", "UNAUTHORIZED"),
            ("Timeout", "TIMEOUT"),
            ("Unavailable", "UNAVAILABLE"),
            ("InvalidResponse", "INVALID_RESPONSE"),
            ("InvalidArgument", "INVALID_ARGUMENT"),
        ]
    );
    for k in ErrorKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
    }
}

#[test]
fn value_serializes_data_source_version_age_and_error() {
    let v = stale_value();
    assert_eq!(
        pin_age(serde_json::to_value(&v).unwrap()),
        json!({
            "value": {"text": "hi"}, "source": "stale", "is_fallback": false, "version": 3, "age": 0.0,
            "error": {"kind": "Unavailable", "key": "greeting", "message": "HTTP 503 from http://host/kv/greeting", "status": 503},
        })
    );
    assert_eq!(pin_age(v.to_json()), pin_age(serde_json::to_value(&v).unwrap()));
}

#[test]
fn fallback_value_serializes_without_age_or_version() {
    let v = Value::fallback(json!("fb"), None);
    assert_eq!(
        serde_json::to_value(&v).unwrap(),
        json!({"value": "fb", "source": "fallback", "is_fallback": true, "version": null, "age": null, "error": null})
    );
}

#[test]
fn payload_json_text_is_made_once_and_shared_by_every_read_of_it() {
    let v = stale_value();
    let copy = v.clone();
    let first = v.payload.json_text();
    assert_eq!(first.to_str().unwrap(), r#"{"text":"hi"}"#);
    // The same bytes, not an equal copy: a second read of the payload does not serialize again.
    assert_eq!(first.as_ptr(), copy.payload.json_text().as_ptr());
    // A string holding a NUL is escaped, so the C text is the whole JSON.
    let nul = Payload::new(json!("a\u{0}b"), None, None);
    assert_eq!(nul.json_text().to_str().unwrap(), r#""a\u0000b""#);
}

#[test]
fn status_serializes_state_since_last_error_counters_keys_and_fleet() {
    let status = Status {
        state: State::Stale,
        since: SystemTime::UNIX_EPOCH + Duration::from_millis(1500),
        last_error: Some(unavailable()),
        reads: 10,
        fresh_reads: 4,
        stale_reads: 3,
        snapshot_reads: 1,
        fallback_reads: 1,
        error_reads: 1,
        fetches: 5,
        fetch_errors: 2,
        coalesced_waits: 6,
        bytes_fetched: 700,
        keys: 2,
        fleet: None,
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({
            "state": "stale", "since": 1.5,
            "last_error": {"kind": "Unavailable", "key": "greeting", "message": "HTTP 503 from http://host/kv/greeting", "status": 503},
            "counters": {
                "reads": 10, "fresh_reads": 4, "stale_reads": 3, "snapshot_reads": 1, "fallback_reads": 1,
                "error_reads": 1, "fetches": 5, "fetch_errors": 2, "coalesced_waits": 6, "bytes_fetched": 700,
            },
            "keys": 2, "fleet": null,
        })
    );
    for (state, name) in [(State::Starting, "starting"), (State::Ready, "ready"), (State::Fatal, "fatal")] {
        assert_eq!(serde_json::to_value(state).unwrap(), json!(name));
    }
}

#[test]
fn change_serializes_canonical_key_versions_and_value() {
    let change = Change {
        key: Key::parse("greeting@label:staging"),
        old_version: Some(2),
        new_version: Some(3),
        value: stale_value(),
    };
    let mut j = serde_json::to_value(&change).unwrap();
    j["value"] = pin_age(j["value"].take());
    assert_eq!(j["key"], json!("greeting@label:staging"));
    assert_eq!((j["old_version"].clone(), j["new_version"].clone()), (json!(2), json!(3)));
    assert_eq!(j["value"], pin_age(stale_value().to_json()));
}

#[test]
fn prefetch_report_lists_succeeded_and_failed_keys_in_canonical_form() {
    let report = PrefetchError {
        failures: vec![(Key::parse("nope@version:4"), Error::not_found("HTTP 404").with_status(404))],
        succeeded: vec![Key::parse("a")],
    };
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({"ok": false, "succeeded": ["a"], "failed": [
            {"key": "nope@version:4", "kind": "NotFound", "message": "HTTP 404", "status": 404},
        ]})
    );
    let all_ok = PrefetchError { failures: vec![], succeeded: vec![Key::parse("a"), Key::parse("b")] };
    assert_eq!(
        serde_json::to_value(&all_ok).unwrap(),
        json!({"ok": true, "succeeded": ["a", "b"], "failed": []})
    );
}

#[test]
fn prompt_serializes_its_data_then_where_it_came_from() {
    let data = json!({
        "name": "greet", "version": 3, "type": "chat",
        "prompt": [{"role": "system", "content": "Hi {{who}}"}],
        "config": {"model": "m"}, "labels": ["production"], "tags": ["t"], "commit_message": null,
    });
    let mut p = Prompt::from_json(&data).unwrap();
    assert_eq!(p.data_json(), data, "the prompt JSON round-trips");
    p.source = ValueSource::Snapshot;
    p.age = Some(Duration::from_millis(250));
    p.error = Some(Arc::new(unavailable()));
    let mut full = data.clone();
    full["source"] = json!("snapshot");
    full["is_fallback"] = json!(false);
    full["age"] = json!(0.25);
    full["error"] = serde_json::to_value(unavailable()).unwrap();
    assert_eq!(serde_json::to_value(&p).unwrap(), full);
    assert_eq!(p.to_json(), full);

    let opik = Prompt::from_json(
        &json!({"name": "o", "version": 1, "type": "text", "prompt": "x", "commit": "abc"}),
    )
    .unwrap();
    assert_eq!(opik.data_json()["commit"], json!("abc"), "an Opik commit is kept");
    assert!(p.data_json().get("commit").is_none(), "no commit key without a commit");
}
