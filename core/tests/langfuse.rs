//! The Langfuse source and the prompt facade, through `Client`, against the simulator.

mod common;

use common::poll_until;
use failsoft::prompt::{fallback_prompt, get_prompt, prompt_key, PromptKind, PromptRequest};
use failsoft::sources::{LangfuseOptions, LangfuseSource};
use failsoft::{Client, ClientOptions, ErrorKind, Fallback, Key, ReadOptions, Source, ValueSource};
use failsoft_sim::{Fault, FaultMode, Simulator};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PK: &str = "pk-lf-test";
const SK: &str = "sk-lf-SUPERSECRET-0123456789";
const PROMPTS: &str = "/api/public/v2/prompts";

fn fixture() -> Json {
    json!({
        "langfuse": {
            "public_key": PK,
            "secret_key": SK,
            "prompts": [
                {"name": "movie-critic", "version": 1, "type": "text",
                 "prompt": "Do you like {{movie}}?", "config": {"temperature": 0.7},
                 "labels": ["production"], "tags": ["movies"], "commitMessage": null},
                {"name": "movie-critic", "version": 2, "type": "text",
                 "prompt": "As a {{criticLevel}} critic, do you like {{movie}}?",
                 "config": {"temperature": 0.9, "model": "m2"}, "labels": ["staging"], "tags": ["movies"],
                 "commitMessage": "ask for the critic level"},
                {"name": "chat-agent", "version": 4, "type": "chat",
                 "prompt": [
                     {"role": "system", "content": "You are {{role}}."},
                     {"type": "placeholder", "name": "history"},
                     {"role": "user", "content": "{{question}}"}
                 ],
                 "config": {"model": "gpt-4o-mini", "tools": [{"name": "t"}]}, "labels": ["production", "beta"],
                 "tags": ["agents"], "commitMessage": "chat v4"},
                {"name": "folder/x y ü", "version": 1, "type": "text", "prompt": "Special {{thing}}",
                 "labels": ["production"]},
                {"name": "odd?name#with%chars&more=1", "version": 1, "type": "text", "prompt": "odd",
                 "labels": ["production"]},
                {"name": "evolving", "version": 1, "type": "text", "prompt": "first", "labels": ["production"]}
            ]
        }
    })
}

fn source(sim: &Simulator, secret: &str) -> LangfuseSource {
    LangfuseSource::new(LangfuseOptions {
        base_url: Some(sim.url()),
        public_key: Some(PK.into()),
        secret_key: Some(secret.into()),
        timeout: None,
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
    Client::new(source(sim, SK), options(Duration::from_secs(60))).unwrap()
}

fn vars(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

fn path_of(name: &str) -> String {
    format!("{PROMPTS}/{}", failsoft::sources::encode_path_segment(name))
}

#[test]
fn text_prompt_every_field_by_label_and_version() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);

    let p = get_prompt(&c, "movie-critic", None, None, None, None).unwrap();
    assert_eq!(p.name, "movie-critic");
    assert_eq!(p.version, 1);
    assert_eq!(p.kind, PromptKind::Text);
    assert_eq!(p.prompt, json!("Do you like {{movie}}?"));
    assert_eq!(p.config, json!({"temperature": 0.7}));
    assert_eq!(p.labels, vec!["production"]);
    assert_eq!(p.tags, vec!["movies"]);
    assert_eq!(p.commit_message, None);
    assert_eq!(p.source, ValueSource::Fresh);
    assert!(!p.is_fallback());
    assert!(p.error.is_none());
    assert!(p.age.is_some());
    assert_eq!(p.variables(), vec!["movie"]);

    let staging = get_prompt(&c, "movie-critic", Some("staging"), None, None, None).unwrap();
    assert_eq!(staging.version, 2);
    assert_eq!(staging.config, json!({"temperature": 0.9, "model": "m2"}));
    assert_eq!(staging.labels, vec!["staging", "latest"]);
    assert_eq!(staging.commit_message.as_deref(), Some("ask for the critic level"));

    let v1 = get_prompt(&c, "movie-critic", None, Some(1), None, None).unwrap();
    assert_eq!(v1.version, 1);
    let v2 = get_prompt(&c, "movie-critic", None, Some(2), None, None).unwrap();
    assert_eq!(v2.prompt, staging.prompt);
    let latest = get_prompt(&c, "movie-critic", Some("latest"), None, None, None).unwrap();
    assert_eq!(latest.version, 2);
    assert!(latest.labels.contains(&"latest".to_string()));

    // The value itself carries the version and the normalised JSON, without the server's extras.
    let v = c.get(&prompt_key("movie-critic", Some("staging"), None).unwrap()).unwrap();
    assert_eq!(v.version(), Some(2));
    let keys: Vec<&str> = v.data().as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["commit_message", "config", "labels", "name", "prompt", "tags", "type", "version"]);

    // Requests: label in the query, version in the query, the SDK headers, Basic auth.
    let reqs = sim.requests(&path_of("movie-critic"));
    let queries: Vec<&str> = reqs.iter().map(|r| r["query"].as_str().unwrap_or("")).collect();
    assert!(queries.contains(&"label=staging"), "{queries:?}");
    assert!(queries.contains(&"version=1"), "{queries:?}");
    assert!(queries.contains(&""), "{queries:?}");
    let h = &reqs[0]["headers"];
    assert_eq!(h["x-langfuse-sdk-name"], "failsoft");
    assert_eq!(h["x-langfuse-public-key"], PK);
    assert!(h["x-langfuse-sdk-version"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(h["authorization"].as_str().unwrap().starts_with("Basic "));
}

#[test]
fn chat_prompt_every_field_and_compile() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);
    let p = PromptRequest::new("chat-agent").kind(PromptKind::Chat).get(&c).unwrap();
    assert_eq!(p.name, "chat-agent");
    assert_eq!(p.version, 4);
    assert_eq!(p.kind, PromptKind::Chat);
    let items = p.messages().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["role"], "system");
    assert_eq!(items[0]["content"], "You are {{role}}.");
    assert_eq!(items[1], json!({"type": "placeholder", "name": "history"}));
    assert_eq!(items[2]["content"], "{{question}}");
    assert_eq!(p.config, json!({"model": "gpt-4o-mini", "tools": [{"name": "t"}]}));
    assert_eq!(p.labels, vec!["production", "beta", "latest"]);
    assert_eq!(p.tags, vec!["agents"]);
    assert_eq!(p.commit_message.as_deref(), Some("chat v4"));
    assert_eq!(p.variables(), vec!["role", "question"]);

    let out = p
        .compile_chat(
            &vars(json!({"role": "a critic", "question": "Dune?"})),
            &vars(json!({"history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})),
            true,
        )
        .unwrap();
    let pairs: Vec<(String, String)> = out
        .iter()
        .map(|m| (m["role"].as_str().unwrap().into(), m["content"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("system".into(), "You are a critic.".into()),
            ("user".into(), "hi".into()),
            ("assistant".into(), "hello".into()),
            ("user".into(), "Dune?".into()),
        ]
    );
    let strict = p.compile_chat(&vars(json!({"role": "x"})), &Map::new(), true).unwrap_err();
    assert_eq!(strict.kind, ErrorKind::InvalidArgument);
    assert!(strict.message.contains("question") && strict.message.contains("history"), "{}", strict.message);
    assert_eq!(p.compile(&Map::new(), false).unwrap_err().kind, ErrorKind::InvalidArgument);

    let text = get_prompt(&c, "movie-critic", None, None, None, None).unwrap();
    assert_eq!(text.compile(&vars(json!({"movie": "Dune"})), true).unwrap(), "Do you like Dune?");
    assert_eq!(text.compile(&Map::new(), false).unwrap(), "Do you like {{movie}}?");
    assert!(text.compile(&Map::new(), true).unwrap_err().message.contains("movie"));
}

#[test]
fn production_label_and_no_label_share_one_request() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);
    assert_eq!(prompt_key("movie-critic", Some("production"), None).unwrap(), Key::new("movie-critic"));
    let a = get_prompt(&c, "movie-critic", Some("production"), None, None, None).unwrap();
    let b = get_prompt(&c, "movie-critic", None, None, None, None).unwrap();
    let d = PromptRequest::new("movie-critic").label("production").get(&c).unwrap();
    assert_eq!((a.version, b.version, d.version), (1, 1, 1));
    assert_eq!(sim.request_count(&path_of("movie-critic")), 1);
}

#[test]
fn names_are_url_encoded() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);
    for name in ["folder/x y ü", "odd?name#with%chars&more=1"] {
        let p = get_prompt(&c, name, None, None, None, None).unwrap();
        assert_eq!(p.name, name);
        let reqs = sim.requests(&path_of(name));
        assert_eq!(reqs.len(), 1, "{name}");
        let raw = reqs[0]["path"].as_str().unwrap();
        assert_eq!(raw, path_of(name), "sent as received: {raw}");
        assert!(!raw[PROMPTS.len() + 1..].contains(['/', ' ', '?', '#']), "{raw}");
    }
    assert_eq!(
        get_prompt(&c, "folder/x y ü", None, None, None, None).unwrap().prompt,
        json!("Special {{thing}}")
    );
}

#[test]
fn unauthorized_never_shows_the_secret() {
    let sim = Simulator::start(fixture());
    let wrong = "sk-lf-WRONG-SECRET-987654321";
    let src = source(&sim, wrong);
    assert!(!format!("{src:?}").contains(wrong));
    assert!(!src.identity().contains(wrong));
    assert_eq!(src.identity(), format!("langfuse|{}|{PK}", sim.url()));
    let c = Client::new(src, options(Duration::from_secs(60))).unwrap();
    let e = c.get(&Key::new("movie-critic")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(401));
    for shown in
        [e.message.clone(), e.to_string(), format!("{e:?}"), format!("{c:?}"), format!("{:?}", c.status())]
    {
        assert!(!shown.contains(wrong), "secret leaked: {shown}");
        assert!(!shown.contains(SK), "secret leaked: {shown}");
    }

    // 403 (e.g. a public key without its secret) is Unauthorized too.
    sim.set_fault(PROMPTS, FaultMode::Status(403));
    let ok_keys = client(&sim);
    let e = ok_keys.get(&Key::new("chat-agent")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(e.status, Some(403));
    assert!(!format!("{e:?}").contains(SK));
    sim.heal(PROMPTS);

    // With a fallback, the read still answers, with the error attached.
    let c = Client::new(source(&sim, wrong), options(Duration::from_secs(60))).unwrap();
    let p = get_prompt(&c, "movie-critic", None, None, Some(Fallback::Value(json!("fb {{movie}}"))), None)
        .unwrap();
    assert!(p.is_fallback());
    assert_eq!(p.error.as_ref().unwrap().kind, ErrorKind::Unauthorized);
    assert!(!p.to_json().to_string().contains(wrong));
}

#[test]
fn missing_keys_fail_every_fetch_as_unauthorized() {
    if std::env::var_os("LANGFUSE_SECRET_KEY").is_some() || std::env::var_os("LANGFUSE_PUBLIC_KEY").is_some()
    {
        eprintln!("skipped: LANGFUSE_* keys are set in this environment");
        return;
    }
    let sim = Simulator::start(fixture());
    let src = LangfuseSource::new(LangfuseOptions {
        base_url: Some(sim.url()),
        public_key: Some(PK.into()),
        secret_key: None,
        timeout: None,
    })
    .unwrap();
    let c = Client::new(src, options(Duration::from_secs(60))).unwrap();
    let e = c.get(&Key::new("movie-critic")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("LANGFUSE_SECRET_KEY"), "{}", e.message);
    assert_eq!(sim.counts().total, 0, "no request without credentials");
}

#[test]
fn not_found_and_invalid_arguments() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);
    for (name, label, version) in
        [("nope", None, None), ("movie-critic", Some("gone"), None), ("movie-critic", None, Some(99))]
    {
        let e = get_prompt(&c, name, label, version, None, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{name} {label:?} {version:?}");
        assert_eq!(e.status, Some(404));
        assert!(!e.key.is_empty());
    }

    sim.reset_counts();
    let e = get_prompt(&c, "movie-critic", Some("staging"), Some(2), None, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    // Even with a fallback: the request itself is wrong.
    let e = get_prompt(&c, "movie-critic", Some("staging"), Some(2), Some(Fallback::Value(json!("x"))), None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    for bad in ["Prod", "has space", ""] {
        assert_eq!(
            get_prompt(&c, "movie-critic", Some(bad), None, None, None).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
    }
    assert_eq!(get_prompt(&c, "", None, None, None, None).unwrap_err().kind, ErrorKind::InvalidArgument);
    // Keys the source cannot serve.
    for q in [
        failsoft::Qualifier::Env("prod".into()),
        failsoft::Qualifier::Latest,
        failsoft::Qualifier::Label("B A D".into()),
    ] {
        assert_eq!(c.get(&Key::with("movie-critic", q)).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
    assert_eq!(sim.counts().total, 0, "no request for an invalid argument");
}

/// A server answering fixed bodies by the last path segment (the prompt name): for shapes the
/// simulator refuses to store.
fn fixed_server(bodies: HashMap<&'static str, Json>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let name = path.split('?').next().unwrap_or("").rsplit('/').next().unwrap_or("");
            let body =
                bodies.get(name).map(Json::to_string).unwrap_or_else(|| "{\"message\":\"nope\"}".into());
            let status = if bodies.contains_key(name) { "200 OK" } else { "404 Not Found" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn wrong_shapes_are_invalid_response_and_extra_fields_are_ignored() {
    let good = json!({"id": "x", "projectId": "p", "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "now",
        "createdBy": "me", "resolutionGraph": {"a": 1}, "isActive": true, "someFutureField": [1, 2],
        "type": "text", "name": "good", "version": 7, "prompt": "hi", "config": null, "labels": ["production"],
        "tags": [], "commitMessage": "c"});
    let url = fixed_server(HashMap::from([
        ("good", good),
        ("no-prompt", json!({"type": "text", "name": "no-prompt", "version": 1})),
        ("text-list", json!({"type": "text", "name": "t", "version": 1, "prompt": ["x"]})),
        ("bad-type", json!({"type": "image", "name": "t", "version": 1, "prompt": "x"})),
        ("chat-string", json!({"type": "chat", "name": "t", "version": 1, "prompt": "x"})),
        ("chat-items", json!({"type": "chat", "name": "t", "version": 1, "prompt": ["not an object"]})),
        ("chat-no-role", json!({"type": "chat", "name": "t", "version": 1, "prompt": [{"content": "x"}]})),
        ("not-object", json!(["a"])),
    ]));
    let src = LangfuseSource::new(LangfuseOptions {
        base_url: Some(url),
        public_key: Some(PK.into()),
        secret_key: Some(SK.into()),
        timeout: Some(Duration::from_secs(2)),
    })
    .unwrap();
    let c = Client::new(src, options(Duration::from_secs(60))).unwrap();
    let p = get_prompt(&c, "good", None, None, None, None).unwrap();
    assert_eq!((p.version, p.prompt.clone(), p.config.clone()), (7, json!("hi"), json!({})));
    assert_eq!(p.commit_message.as_deref(), Some("c"));
    for bad in
        ["no-prompt", "text-list", "bad-type", "chat-string", "chat-items", "chat-no-role", "not-object"]
    {
        let e = get_prompt(&c, bad, None, None, None, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidResponse, "{bad}: {e}");
        // With a fallback the read answers the fallback.
        let fb = get_prompt(&c, bad, None, None, Some(Fallback::Value(json!("fb"))), None).unwrap();
        assert!(fb.is_fallback());
        assert_eq!(fb.error.unwrap().kind, ErrorKind::InvalidResponse);
    }

    // Garbage from the simulator too.
    let sim = Simulator::start(fixture());
    sim.set_fault(PROMPTS, FaultMode::Garbage);
    let e = client(&sim).get(&Key::new("movie-critic")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
}

#[test]
fn fallback_prompts_text_and_chat() {
    let sim = Simulator::start(fixture());
    sim.set_fault("*", FaultMode::Refused);
    let c = client(&sim);

    let t =
        get_prompt(&c, "movie-critic", None, None, Some(Fallback::Value(json!("Fallback {{movie}}"))), None)
            .unwrap();
    assert!(t.is_fallback());
    assert_eq!(t.source, ValueSource::Fallback);
    assert_eq!((t.version, t.kind), (0, PromptKind::Text));
    assert_eq!(t.config, json!({}));
    assert!(t.labels.is_empty() && t.tags.is_empty() && t.commit_message.is_none());
    assert!(t.age.is_none());
    assert_eq!(t.error.as_ref().unwrap().kind, ErrorKind::Unavailable);
    assert_eq!(t.compile(&vars(json!({"movie": "Dune"})), true).unwrap(), "Fallback Dune");
    let j = t.to_json();
    assert_eq!(j["is_fallback"], true);
    assert_eq!(j["version"], 0);
    assert_eq!(j["source"], "fallback");

    let messages =
        json!([{"role": "system", "content": "fb {{role}}"}, {"type": "placeholder", "name": "history"}]);
    let ch =
        PromptRequest::new("chat-agent").kind(PromptKind::Chat).fallback(messages.clone()).get(&c).unwrap();
    assert!(ch.is_fallback());
    assert_eq!((ch.version, ch.kind), (0, PromptKind::Chat));
    assert_eq!(ch.prompt, messages);
    assert_eq!(ch.config, json!({}));
    let out = ch.compile_chat(&vars(json!({"role": "r"})), &vars(json!({"history": []})), true).unwrap();
    assert_eq!(out, vec![json!({"role": "system", "content": "fb r"})]);

    // A fallback of the wrong type is InvalidArgument, even while the backend is down.
    let e =
        PromptRequest::new("chat-agent").kind(PromptKind::Chat).fallback(json!("text")).get(&c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = PromptRequest::new("movie-critic").kind(PromptKind::Text).fallback(messages).get(&c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(fallback_prompt("x", json!({"a": 1}), None).unwrap_err().kind, ErrorKind::InvalidArgument);

    // A fallback is never cached: once the backend is back, the real prompt is served.
    sim.heal("*");
    assert!(poll_until(Duration::from_secs(5), || {
        get_prompt(&c, "movie-critic", None, None, Some(Fallback::Value(json!("fb"))), None)
            .is_ok_and(|p| !p.is_fallback() && p.version == 1)
    }));
}

#[test]
fn lazy_fallbacks_stay_lazy() {
    let sim = Simulator::start(fixture());
    let c = client(&sim);
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    let p = PromptRequest::new("movie-critic")
        .lazy_fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(json!("lazy"))
        })
        .get(&c)
        .unwrap();
    assert!(!p.is_fallback());
    assert_eq!(calls.load(Ordering::SeqCst), 0, "not called while the backend answers");

    let counted = calls.clone();
    let p = PromptRequest::new("nope")
        .kind(PromptKind::Text)
        .lazy_fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(json!("lazy {{x}}"))
        })
        .get(&c)
        .unwrap();
    assert!(p.is_fallback());
    assert_eq!(p.prompt, json!("lazy {{x}}"));
    assert_eq!(p.error.unwrap().kind, ErrorKind::NotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A lazy fallback of the wrong type fails when it is produced.
    let e = PromptRequest::new("nope")
        .kind(PromptKind::Chat)
        .lazy_fallback(|| Ok(json!("text")))
        .get(&c)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
}

#[test]
fn a_new_version_is_served_after_the_ttl_without_errors() {
    let sim = Simulator::start(fixture());
    let c = Client::new(source(&sim, SK), options(Duration::from_millis(150))).unwrap();
    let first = get_prompt(&c, "evolving", None, None, None, None).unwrap();
    assert_eq!((first.version, first.prompt.clone()), (1, json!("first")));

    sim.publish_prompt(
        json!({"name": "evolving", "type": "text", "prompt": "second {{x}}", "labels": ["production"],
        "config": {"n": 2}, "commitMessage": "v2"}),
    );
    let mut reads = 0;
    let served = poll_until(Duration::from_secs(5), || {
        reads += 1;
        let p = get_prompt(&c, "evolving", None, None, None, None).expect("no read fails");
        assert!(p.error.is_none(), "read saw an error: {:?}", p.error);
        assert!(!p.is_fallback());
        p.version == 2
    });
    assert!(served, "version 2 never served");
    let p = get_prompt(&c, "evolving", None, None, None, None).unwrap();
    assert_eq!((p.prompt.clone(), p.config.clone()), (json!("second {{x}}"), json!({"n": 2})));
    assert_eq!(p.commit_message.as_deref(), Some("v2"));
    assert!(reads > 1);
}

#[test]
fn a_hung_backend_costs_the_cold_deadline_then_the_fallback() {
    let sim = Simulator::start(fixture());
    sim.set_fault(PROMPTS, Fault::new(FaultMode::Hang));
    let c = client(&sim);
    let t = std::time::Instant::now();
    let opts = ReadOptions {
        cold_deadline: Some(Duration::from_millis(300)),
        fallback: Some(Fallback::Value(fallback_prompt("movie-critic", json!("fb"), None).unwrap())),
        ..Default::default()
    };
    let v = c.get_with(&Key::new("movie-critic"), opts).unwrap();
    assert!(v.is_fallback());
    assert_eq!(v.error.as_ref().unwrap().kind, ErrorKind::Timeout);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    sim.heal(PROMPTS);
}

#[test]
fn the_langfuse_ttl_variable_sets_the_default_ttl() {
    if std::env::var_os("FAILSOFT_TTL_SECONDS").is_some() {
        eprintln!("skipped: FAILSOFT_TTL_SECONDS is set in this environment");
        return;
    }
    let sim = Simulator::start(fixture());
    assert_eq!(source(&sim, SK).ttl_env(), Some("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS"));
    // Only this test touches the variable, and only clients without their own TTL read it.
    std::env::set_var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS", "7");
    let c = Client::new(source(&sim, SK), ClientOptions::default()).unwrap();
    std::env::remove_var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS");
    assert_eq!(c.ttl(), Duration::from_secs(7));
}
