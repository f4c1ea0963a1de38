//! The read path and refresh rules of SPEC §2–4, against the simulator and a scripted source.

mod common;

use common::{poll_until, Scripted, Sim};
use failsoft::sources::HttpSource;
use failsoft::{Client, ClientOptions, ErrorKind, Fallback, Key, ReadOptions, State, ValueSource};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn opts(ttl_ms: u64) -> ClientOptions {
    ClientOptions {
        ttl: Some(Duration::from_millis(ttl_ms)),
        cold_deadline: Duration::from_millis(500),
        request_timeout: Duration::from_secs(3),
        backoff_base: Duration::from_millis(200),
        ..Default::default()
    }
}

fn http_client(sim: &Sim, o: ClientOptions) -> Client {
    Client::new(HttpSource::new(sim.kv_template()).unwrap(), o).unwrap()
}

fn fb(v: serde_json::Value) -> ReadOptions<'static> {
    ReadOptions::with_fallback(v)
}

#[test]
fn creating_a_client_never_touches_the_network() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(60_000));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(sim.count("/kv/greeting"), 0);
    assert_eq!(client.status().state, State::Starting);
}

#[test]
fn fresh_read_does_no_io() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(60_000));
    let v = client.get(&Key::new("greeting")).unwrap();
    assert_eq!(v.source, ValueSource::Fresh);
    assert_eq!(v.data(), &json!({"text": "hello"}));
    assert_eq!(v.version(), Some(1));
    assert!(!v.is_fallback());
    for _ in 0..1000 {
        assert_eq!(client.get(&Key::new("greeting")).unwrap().source, ValueSource::Fresh);
    }
    assert_eq!(sim.count("/kv/greeting"), 1);
    let s = client.status();
    assert_eq!(s.state, State::Ready);
    assert_eq!(s.fresh_reads, 1001);
    assert_eq!(s.fetches, 1);
}

#[test]
fn fifty_concurrent_readers_of_a_stale_key_cause_one_refresh() {
    let sim = Sim::start();
    let client = Arc::new(http_client(&sim, opts(100)));
    client.get(&Key::new("greeting")).unwrap();
    // Slow the refresh so every reader sees the key stale while it is under way.
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 300}));
    std::thread::sleep(Duration::from_millis(150));
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (c, b) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                c.get(&Key::new("greeting")).unwrap().source
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), ValueSource::Stale);
    }
    assert!(poll_until(Duration::from_secs(2), || client.get(&Key::new("greeting")).unwrap().source
        == ValueSource::Fresh));
    assert_eq!(sim.count("/kv/greeting"), 2, "one initial fetch + exactly one refresh");
}

#[test]
fn refresh_ahead_keeps_a_steadily_read_key_fresh() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(1000));
    let key = Key::new("greeting");
    let until = Instant::now() + Duration::from_secs(5);
    let mut reads = 0;
    while Instant::now() < until {
        let v = client.get(&key).unwrap();
        assert_eq!(v.source, ValueSource::Fresh, "read {reads} saw {:?} at age {:?}", v.source, v.age());
        reads += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    let n = sim.count("/kv/greeting");
    assert!((5..=9).contains(&n), "about one refresh per 0.75–0.9 s, got {n} requests");
}

#[test]
fn sixty_four_threads_cold_missing_one_key_make_one_request() {
    let sim = Sim::start();
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 100}));
    let client = Arc::new(http_client(&sim, opts(60_000)));
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (c, b) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                c.get(&Key::new("greeting")).unwrap()
            })
        })
        .collect();
    for h in handles {
        let v = h.join().unwrap();
        assert_eq!(v.source, ValueSource::Fresh);
    }
    assert_eq!(sim.count("/kv/greeting"), 1);
    assert!(client.status().coalesced_waits >= 1);
}

#[test]
fn refused_connection_falls_back_within_50ms() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let source = HttpSource::new(format!("http://127.0.0.1:{port}/kv/{{key}}")).unwrap();
    let client = Client::new(source, opts(60_000)).unwrap();
    let started = Instant::now();
    let v = client.get_with(&Key::new("greeting"), fb(json!({"text": "fallback"}))).unwrap();
    let took = started.elapsed();
    assert!(v.is_fallback());
    assert_eq!(v.source, ValueSource::Fallback);
    assert_eq!(v.age(), None);
    assert_eq!(v.error.as_ref().unwrap().kind, ErrorKind::Unavailable);
    assert!(took < Duration::from_millis(50), "took {took:?}");
}

#[test]
fn server_error_falls_back_within_500ms_after_one_quick_retry() {
    let sim = Sim::start();
    sim.fault("/kv/greeting", "500");
    let client = http_client(&sim, ClientOptions { cold_deadline: Duration::from_secs(5), ..opts(60_000) });
    let started = Instant::now();
    let v = client.get_with(&Key::new("greeting"), fb(json!("fb"))).unwrap();
    let took = started.elapsed();
    assert!(v.is_fallback());
    assert_eq!(v.error.as_ref().unwrap().status, Some(500));
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_eq!(sim.count("/kv/greeting"), 2, "the first try and one quick retry");
}

#[test]
fn hung_backend_costs_exactly_the_cold_deadline_and_the_late_answer_lands() {
    let sim = Sim::start();
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 700}));
    let client =
        http_client(&sim, ClientOptions { cold_deadline: Duration::from_millis(300), ..opts(60_000) });
    let started = Instant::now();
    let v = client.get_with(&Key::new("greeting"), fb(json!("fb"))).unwrap();
    let took = started.elapsed();
    assert!(v.is_fallback());
    assert_eq!(v.error.as_ref().unwrap().kind, ErrorKind::Timeout);
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(400), "took {took:?}");
    // The next read does not wait again; once the answer lands it is served fresh.
    let t = Instant::now();
    assert!(client.get_with(&Key::new("greeting"), fb(json!("fb"))).unwrap().is_fallback());
    assert!(t.elapsed() < Duration::from_millis(50));
    assert!(poll_until(Duration::from_secs(2), || {
        client.get_with(&Key::new("greeting"), fb(json!("fb"))).unwrap().source == ValueSource::Fresh
    }));
    assert_eq!(sim.count("/kv/greeting"), 1);
}

#[test]
fn hang_forever_costs_the_cold_deadline() {
    let sim = Sim::start();
    sim.fault("/kv/greeting", "hang");
    let client =
        http_client(&sim, ClientOptions { cold_deadline: Duration::from_millis(250), ..opts(60_000) });
    let started = Instant::now();
    let err = client.get(&Key::new("greeting")).unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(err.key, "greeting");
    assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(350), "took {took:?}");
}

#[test]
fn no_fallback_gives_a_typed_error_naming_the_key() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(60_000));
    let err = client.get(&Key::new("missing")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.key, "missing");
    assert_eq!(err.status, Some(404));
}

#[test]
fn lazy_fallback_is_called_only_when_needed() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(60_000));
    let calls = AtomicU64::new(0);
    let lazy = || ReadOptions {
        fallback: Some(Fallback::Lazy(Box::new(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(json!("lazy"))
        }))),
        ..Default::default()
    };
    assert!(!client.get_with(&Key::new("greeting"), lazy()).unwrap().is_fallback());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let v = client.get_with(&Key::new("missing"), lazy()).unwrap();
    assert_eq!(v.data(), &json!("lazy"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_fallback_is_never_cached() {
    let sim = Sim::start();
    sim.fault("/kv/greeting", "503");
    let client = http_client(&sim, opts(60_000));
    assert!(client.get_with(&Key::new("greeting"), fb(json!("fb"))).unwrap().is_fallback());
    sim.heal("/kv/greeting");
    // Without a fallback the read must not see the earlier fallback: it waits for the real value.
    assert!(poll_until(Duration::from_secs(3), || client.get(&Key::new("greeting")).is_ok()));
    assert_eq!(client.get(&Key::new("greeting")).unwrap().data(), &json!({"text": "hello"}));
}

fn assert_invalid_payload_keeps_value(mode: &str) {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    // A new version exists, so the refresh gets a full (broken) answer, not a 304.
    sim.set_kv("greeting", json!({"text": "new"}), Some(2));
    sim.fault("/kv/greeting", mode);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(client.get(&key).unwrap().source, ValueSource::Stale);
    assert!(poll_until(Duration::from_secs(3), || client.status().last_error.is_some()), "{mode}");
    let v = client.get(&key).unwrap();
    assert_eq!(v.data(), &json!({"text": "hello"}), "{mode}");
    assert_eq!(v.source, ValueSource::Stale);
    let s = client.status();
    let last = s.last_error.unwrap();
    assert_eq!(last.kind, ErrorKind::InvalidResponse, "{mode}: {last}");
    assert_eq!(s.state, State::Stale);
}

#[test]
fn garbage_body_keeps_the_previous_value() {
    assert_invalid_payload_keeps_value("garbage");
}

#[test]
fn oversized_body_keeps_the_previous_value() {
    assert_invalid_payload_keeps_value("oversized");
}

#[test]
fn truncated_body_keeps_the_previous_value() {
    assert_invalid_payload_keeps_value("truncated");
}

#[test]
fn backend_down_backs_off_per_key() {
    let sim = Sim::start();
    let client = http_client(&sim, ClientOptions { backoff_base: Duration::from_secs(1), ..opts(100) });
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    sim.fault("/kv/greeting", "503");
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let v = client.get(&key).unwrap();
        assert!(!v.is_fallback());
        std::thread::sleep(Duration::from_millis(10));
    }
    let n = sim.count("/kv/greeting");
    assert!(n <= 5, "{n} requests in 5 s with TTL 100 ms");
    assert!(n >= 3, "retries never stop: {n}");
    sim.heal("/kv/greeting");
    assert!(poll_until(Duration::from_secs(10), || client.get(&key).unwrap().source == ValueSource::Fresh));
    assert_eq!(client.status().state, State::Ready);
}

#[test]
fn not_found_on_refresh_evicts_the_key() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    sim.delete_kv("greeting");
    std::thread::sleep(Duration::from_millis(120));
    client.get(&key).unwrap(); // stale, triggers the refresh that gets the 404
    assert!(poll_until(Duration::from_secs(2), || client.get(&key).is_err()));
    assert_eq!(client.get(&key).unwrap_err().kind, ErrorKind::NotFound);
    assert!(client.get_with(&key, fb(json!("fb"))).unwrap().is_fallback());
}

#[test]
fn not_found_on_refresh_keeps_serving_when_asked() {
    let sim = Sim::start();
    let client = http_client(&sim, ClientOptions { keep_on_not_found: true, ..opts(100) });
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    sim.delete_kv("greeting");
    std::thread::sleep(Duration::from_millis(120));
    client.get(&key).unwrap();
    assert!(poll_until(Duration::from_secs(2), || client.status().last_error.is_some()));
    let v = client.get(&key).unwrap();
    assert_eq!(v.data(), &json!({"text": "hello"}));
    assert_eq!(v.error.unwrap().kind, ErrorKind::NotFound);
}

#[test]
fn unauthorized_turns_status_fatal_and_slows_retries() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    sim.fault("/kv/greeting", "401");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(client.get(&key).unwrap().source, ValueSource::Stale);
    assert!(poll_until(Duration::from_secs(2), || client.status().state == State::Fatal));
    let n = sim.count("/kv/greeting");
    for _ in 0..100 {
        assert_eq!(client.get(&key).unwrap().data(), &json!({"text": "hello"}));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sim.count("/kv/greeting"), n, "no retry within a second of a 401");
    let err = client.status().last_error.unwrap();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
}

#[test]
fn a_lower_version_never_replaces_a_higher_one() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    sim.set_kv("greeting", json!({"text": "v5"}), Some(5));
    assert_eq!(client.get(&key).unwrap().version(), Some(5));
    sim.set_kv("greeting", json!({"text": "v3"}), Some(3));
    std::thread::sleep(Duration::from_millis(120));
    client.get(&key).unwrap();
    assert!(poll_until(Duration::from_secs(2), || sim.count("/kv/greeting") >= 2));
    assert!(poll_until(Duration::from_secs(2), || client.get(&key).unwrap().source == ValueSource::Fresh));
    let v = client.get(&key).unwrap();
    assert_eq!(v.version(), Some(5));
    assert_eq!(v.data(), &json!({"text": "v5"}));
}

#[test]
fn etag_match_renews_the_age_without_a_body() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(150));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    std::thread::sleep(Duration::from_millis(170));
    assert_eq!(client.get(&key).unwrap().source, ValueSource::Stale);
    assert!(poll_until(Duration::from_secs(2), || client.get(&key).unwrap().source == ValueSource::Fresh));
    let reqs = sim.requests("/kv/greeting");
    let last = reqs.last().unwrap();
    assert_eq!(last["headers"]["if-none-match"], json!("\"1\""), "{last}");
    assert!(client.get(&key).unwrap().age().unwrap() < Duration::from_millis(150));
}

#[test]
fn a_new_version_is_served_after_the_ttl_without_errors() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(200));
    let key = Key::new("greeting");
    assert_eq!(client.get(&key).unwrap().version(), Some(1));
    sim.set_kv("greeting", json!({"text": "hi"}), Some(2));
    assert!(poll_until(Duration::from_secs(3), || client.get(&key).unwrap().version() == Some(2)));
    assert_eq!(client.get(&key).unwrap().data(), &json!({"text": "hi"}));
}

#[test]
fn on_change_is_called_off_the_read_path_when_the_version_changes() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    client.on_change(move |c| {
        s.lock().unwrap().push((
            c.key.to_string(),
            c.old_version,
            c.new_version,
            std::thread::current().name().map(str::to_string),
        ));
    });
    client.on_change(|_| panic!("a listener that panics is ignored"));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    assert!(seen.lock().unwrap().is_empty(), "the first value is not a change");
    sim.set_kv("greeting", json!({"text": "new"}), Some(2));
    assert!(poll_until(Duration::from_secs(3), || {
        client.get(&key).unwrap();
        !seen.lock().unwrap().is_empty()
    }));
    let got = seen.lock().unwrap()[0].clone();
    assert_eq!((got.0.as_str(), got.1, got.2), ("greeting", Some(1), Some(2)));
    assert_ne!(got.3.as_deref(), std::thread::current().name(), "called on a library thread");
    assert_eq!(client.get(&key).unwrap().data(), &json!({"text": "new"}));
}

#[test]
fn ttl_zero_fetches_on_every_read_and_serves_stale_when_that_fails() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(0));
    let key = Key::new("greeting");
    for _ in 0..3 {
        assert_eq!(client.get(&key).unwrap().source, ValueSource::Fresh);
    }
    assert_eq!(sim.count("/kv/greeting"), 3);
    sim.fault("/kv/greeting", "500");
    let v = client.get(&key).unwrap();
    assert_eq!(v.source, ValueSource::Stale);
    assert_eq!(v.data(), &json!({"text": "hello"}));
    assert_eq!(v.error.unwrap().status, Some(500));
}

#[test]
fn per_read_ttl_overrides_the_client_ttl() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(60_000));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let short = ReadOptions { ttl: Some(Duration::from_millis(10)), ..Default::default() };
    assert_eq!(client.get_with(&key, short).unwrap().source, ValueSource::Stale);
    assert_eq!(client.get(&key).unwrap().source, ValueSource::Fresh);
}

#[test]
fn prefetch_fetches_in_parallel_and_reports_each_failed_key() {
    let sim = Sim::start();
    sim.fault_with("/kv/a", "slow", json!({"delay_ms": 200}));
    sim.fault_with("/kv/b", "slow", json!({"delay_ms": 200}));
    let client = http_client(&sim, opts(60_000));
    let started = Instant::now();
    let values = client.prefetch(&[Key::new("a"), Key::new("b")], None).unwrap();
    assert!(started.elapsed() < Duration::from_millis(380), "parallel: {:?}", started.elapsed());
    assert_eq!(values.len(), 2);
    assert_eq!(client.get(&Key::new("a")).unwrap().source, ValueSource::Fresh);
    let err = client.prefetch(&[Key::new("greeting"), Key::new("nope")], None).unwrap_err();
    assert_eq!(err.succeeded, vec![Key::new("greeting")]);
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].1.kind, ErrorKind::NotFound);
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn close_returns_within_a_second_while_a_request_hangs() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    client.get(&key).unwrap();
    sim.fault("/kv/greeting", "hang");
    std::thread::sleep(Duration::from_millis(120));
    client.get(&key).unwrap(); // a refresh now hangs in a worker
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    client.close();
    client.close();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(client.is_closed());
    // Cached values are still served after close.
    assert_eq!(client.get(&key).unwrap().data(), &json!({"text": "hello"}));
}

#[test]
fn get_nowait_never_waits_and_starts_the_fetch() {
    let sim = Sim::start();
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 100}));
    let client = http_client(&sim, opts(60_000));
    let key = Key::new("greeting");
    let t = Instant::now();
    let v = client.get_nowait(&key, fb(json!("fb"))).unwrap();
    assert!(t.elapsed() < Duration::from_millis(20));
    assert!(v.is_fallback());
    assert!(poll_until(Duration::from_secs(2), || !client
        .get_nowait(&key, fb(json!("fb")))
        .unwrap()
        .is_fallback()));
}

#[test]
fn a_source_panic_is_an_error_not_a_crash() {
    #[derive(Clone)]
    struct Panics;
    impl failsoft::Source for Panics {
        fn kind(&self) -> &'static str {
            "panics"
        }
        fn identity(&self) -> String {
            "panics".into()
        }
        fn fetch(&self, _: &failsoft::FetchRequest<'_>) -> failsoft::Result<failsoft::Fetched> {
            panic!("boom")
        }
    }
    // A generous deadline: printing the panic (with a backtrace) can be slow on a loaded machine.
    let client =
        Client::new(Panics, ClientOptions { cold_deadline: Duration::from_secs(5), ..opts(60_000) }).unwrap();
    let v = client.get_with(&Key::new("k"), fb(json!(1))).unwrap();
    assert!(v.is_fallback());
    assert_eq!(v.error.unwrap().kind, ErrorKind::Unavailable);
}

#[test]
fn scripted_source_cold_failure_then_recovery_in_background() {
    let src = Scripted::default();
    src.set(Err(failsoft::Error::unavailable("down")));
    let client =
        Client::new(src.clone(), ClientOptions { backoff_base: Duration::from_millis(50), ..opts(60_000) })
            .unwrap();
    let key = Key::new("k");
    assert!(client.get_with(&key, fb(json!(0))).unwrap().is_fallback());
    src.set(Ok((json!(42), Some(1))));
    // The background retry lands the real value without the reader waiting.
    assert!(poll_until(Duration::from_secs(2), || client.get_with(&key, fb(json!(0))).unwrap().data()
        == &json!(42)));
}

#[test]
fn peek_serves_only_what_is_cached_and_never_fetches() {
    let sim = Sim::start();
    let client = http_client(&sim, opts(100));
    let key = Key::new("greeting");
    assert!(client.peek(&key, None).is_none());
    assert_eq!(sim.count("/kv/greeting"), 0, "peek never fetches");
    client.get(&key).unwrap();
    assert_eq!(client.peek(&key, None).unwrap().source, ValueSource::Fresh);
    sim.fault("/kv/greeting", "503");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(client.peek(&key, None).unwrap().source, ValueSource::Stale);
    sim.heal("/kv/greeting");
    assert!(
        poll_until(Duration::from_secs(2), || client.peek(&key, None).unwrap().source == ValueSource::Fresh)
    );
    assert!(client.peek(&key, Some(Duration::ZERO)).is_none(), "TTL 0 always fetches");
}

#[test]
fn peek_same_holds_only_while_a_read_would_be_the_kept_one_and_counts_it() {
    let src = Scripted::ok(json!(1), Some(1));
    let client = Client::new(src.clone(), opts(100)).unwrap();
    let key = Key::new("k");
    let fresh = client.get(&key).unwrap();
    let place = client.place(&key).expect("a read gives the key a place");
    assert!(client.place(&Key::new("never-read")).is_none());
    let reads = client.status().fresh_reads;
    assert!(client.peek_same(&place, None, &fresh));
    assert_eq!(client.status().fresh_reads, reads + 1, "a same read counts as a read");
    // Another thread has its own copy of the payload: still the same read.
    std::thread::scope(|s| s.spawn(|| assert!(client.peek_same(&place, None, &fresh))).join().unwrap());
    assert!(!client.peek_same(&place, Some(Duration::ZERO), &fresh), "TTL 0 always fetches");
    assert!(!client.peek_same(&place, None, &failsoft::Value::fallback(json!(1), None)));

    // Past the TTL with the source down: the read is now stale, not the kept fresh one, and
    // answering so counts nothing.
    src.set(Err(failsoft::Error::unavailable("down")));
    std::thread::sleep(Duration::from_millis(120));
    let before = client.status();
    assert!(!client.peek_same(&place, None, &fresh));
    let after = client.status();
    assert_eq!((after.fresh_reads, after.stale_reads), (before.fresh_reads, before.stale_reads));
    assert!(poll_until(Duration::from_secs(2), || client.peek(&key, None).unwrap().error.is_some()));
    let stale = client.peek(&key, None).unwrap();
    assert!(client.peek_same(&place, None, &stale), "the same stale read, with the same error");

    // A new fetch is another read.
    src.set(Ok((json!(2), Some(2))));
    client.invalidate(&key).unwrap();
    assert!(poll_until(Duration::from_secs(2), || client.peek(&key, None).unwrap().version() == Some(2)));
    assert!(!client.peek_same(&place, None, &stale));
    assert!(client.peek_same(&place, None, &client.peek(&key, None).unwrap()));
}

#[test]
fn peek_same_is_false_at_the_place_of_an_evicted_key() {
    let src = Scripted::ok(json!(1), Some(1));
    let client = Client::new(src.clone(), opts(60_000)).unwrap();
    let key = Key::new("k");
    let kept = client.get(&key).unwrap();
    let place = client.place(&key).unwrap();
    src.set(Err(failsoft::Error::not_found("gone")));
    client.invalidate(&key).unwrap();
    assert!(poll_until(Duration::from_secs(2), || client.peek(&key, None).is_none()), "evicted");
    assert!(!client.peek_same(&place, None, &kept));
}
