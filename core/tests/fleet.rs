//! Fleet mode against the simulator and a real redis-server (SPEC §10, issue 13). Each "process"
//! here is a separate `Client` (its own memory) sharing one Redis; the multi-process proofs are in
//! `cli/tests/fleet.rs`.

mod common;

use common::redis_server::RedisServer;
use common::{poll_until, Scripted, Sim};
use failsoft::fleet::FleetOptions;
use failsoft::sources::HttpSource;
use failsoft::{Client, ClientOptions, Key, ReadOptions, ValueSource};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fleet(redis: &RedisServer) -> FleetOptions {
    let mut f = FleetOptions::new(redis.url.clone());
    f.breaker_probe = Duration::from_millis(200);
    f
}

fn client(sim: &Sim, redis: &RedisServer, ttl: Duration) -> Client {
    client_with(sim, ClientOptions { ttl: Some(ttl), fleet: Some(fleet(redis)), ..Default::default() })
}

fn client_with(sim: &Sim, opts: ClientOptions) -> Client {
    Client::new(HttpSource::new(sim.kv_template()).unwrap(), opts).unwrap()
}

/// Subscribers of the fleet's invalidation channel.
fn subscribers(redis: &RedisServer) -> i64 {
    let mut con = redis.connection().unwrap();
    let channels: Vec<String> =
        redis::cmd("PUBSUB").arg("CHANNELS").arg("failsoft:v1:inv:*").query(&mut con).unwrap();
    let Some(ch) = channels.first() else { return 0 };
    let (_, n): (String, i64) = redis::cmd("PUBSUB").arg("NUMSUB").arg(ch).query(&mut con).unwrap();
    n
}

fn greeting() -> Key {
    Key::new("greeting")
}

#[test]
fn eight_clients_of_sixteen_threads_cold_reading_one_key_cost_one_backend_request() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 150}));
    let clients: Vec<Arc<Client>> =
        (0..8).map(|_| Arc::new(client(&sim, &redis, Duration::from_secs(60)))).collect();
    let start = Instant::now();
    let handles: Vec<_> = clients
        .iter()
        .flat_map(|c| (0..16).map(move |_| c.clone()))
        .map(|c| std::thread::spawn(move || (c.get(&greeting()), Instant::now())))
        .collect();
    for h in handles {
        let (v, at) = h.join().unwrap();
        let v = v.expect("every reader answers");
        assert_eq!(v.data()["text"], "hello");
        assert!(!v.is_fallback());
        assert!(at - start < Duration::from_secs(5), "within the cold deadline");
    }
    assert_eq!(sim.count("/kv/greeting"), 1, "the backend sees exactly one request");
    let adopted: u64 = clients.iter().map(|c| c.status().fleet.unwrap().adopted).sum();
    assert!(adopted >= 1, "the other clients adopted the shared entry");
}

#[test]
fn a_new_process_during_an_outage_serves_the_fleets_value_then_its_snapshot_then_the_fallback() {
    let Some(mut redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let snaps = std::env::temp_dir().join(format!("failsoft-fleet-snap-{}", std::process::id()));
    let a = client_with(
        &sim,
        ClientOptions { fleet: Some(fleet(&redis)), snapshot_dir: Some(snaps.clone()), ..Default::default() },
    );
    assert_eq!(a.get(&greeting()).unwrap().version(), Some(1));
    sim.fault("*", "refused");

    let b = client(&sim, &redis, Duration::from_secs(60));
    let t = Instant::now();
    let v = b.get(&greeting()).unwrap();
    assert!(t.elapsed() < Duration::from_millis(100), "took {:?}", t.elapsed());
    assert!(!v.is_fallback());
    assert_eq!((v.data()["text"].as_str(), v.version()), (Some("hello"), Some(1)));

    redis.kill();
    let c = client_with(
        &sim,
        ClientOptions { fleet: Some(fleet(&redis)), snapshot_dir: Some(snaps.clone()), ..Default::default() },
    );
    let v = c.get(&greeting()).unwrap();
    assert_eq!(v.source, ValueSource::Snapshot);
    let d = client(&sim, &redis, Duration::from_secs(60));
    let v = d.get_with(&greeting(), ReadOptions::with_fallback(json!({"text": "fb"}))).unwrap();
    assert!(v.is_fallback());
    let _ = std::fs::remove_dir_all(snaps);
}

#[test]
fn a_published_version_reaches_another_process_within_200ms() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let a = client(&sim, &redis, Duration::from_secs(60));
    let b = client(&sim, &redis, Duration::from_secs(60));
    assert_eq!(a.get(&greeting()).unwrap().version(), Some(1));
    assert_eq!(b.get(&greeting()).unwrap().version(), Some(1));
    assert_eq!(sim.count("/kv/greeting"), 1);
    // Let b's subscriber come up (it re-reads memory's keys once subscribed).
    assert!(poll_until(Duration::from_secs(3), || subscribers(&redis) >= 2), "both subscribed");
    sim.set_kv("greeting", json!({"text": "v2"}), Some(2));
    let t = Instant::now();
    a.invalidate(&greeting()).unwrap();
    assert!(
        poll_until(Duration::from_millis(200), || b.get(&greeting()).unwrap().version() == Some(2)),
        "b serves the new version within 200 ms"
    );
    let took = t.elapsed();
    assert!(poll_until(Duration::from_secs(1), || a.get(&greeting()).unwrap().version() == Some(2)));
    assert_eq!(sim.count("/kv/greeting"), 2, "one fetch for the whole fleet");
    eprintln!("new version seen by the other process after {took:?}");
}

#[test]
fn a_new_version_reaches_another_process_within_one_ttl_without_pubsub() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let ttl = Duration::from_millis(600);
    let a = client(&sim, &redis, ttl);
    let b = client(&sim, &redis, ttl);
    a.get(&greeting()).unwrap();
    b.get(&greeting()).unwrap();
    // Cut every subscription, and keep cutting them: only the TTL path is left.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cutter = {
        let (stop, url) = (stop.clone(), redis.url.clone());
        std::thread::spawn(move || {
            let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _: redis::RedisResult<i64> =
                    redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query(&mut con);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    sim.set_kv("greeting", json!({"text": "v2"}), Some(2));
    let t = Instant::now();
    let seen = poll_until(ttl * 3, || {
        let (va, vb) = (a.get(&greeting()).unwrap().version(), b.get(&greeting()).unwrap().version());
        va == Some(2) && vb == Some(2)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    cutter.join().unwrap();
    assert!(seen, "both serve v2");
    assert!(t.elapsed() <= ttl + Duration::from_millis(300), "within about one TTL: {:?}", t.elapsed());
}

#[test]
fn racing_writers_never_move_the_shared_version_backwards_and_flushall_is_written_back() {
    let Some(redis) = RedisServer::start() else { return };
    let opts = |ttl: u64| ClientOptions {
        ttl: Some(Duration::from_millis(ttl)),
        fleet: Some(fleet(&redis)),
        ..Default::default()
    };
    // Two writers of one source identity: one fetches v3, the other (lagging replica) v2.
    let v3 = Scripted::ok(json!({"text": "three"}), Some(3));
    let v2 = Scripted::ok(json!({"text": "two"}), Some(2));
    let x = Client::new(v3.clone(), opts(60_000)).unwrap();
    let y = Client::new(v2.clone(), opts(60_000)).unwrap();
    let k = Key::new("k");
    assert_eq!(x.get(&k).unwrap().version(), Some(3));
    // The invalidation reaches x by pub/sub, a hint x's subscriber may not be listening for yet
    // right after start: ask again until a refresh ran.
    assert!(poll_until(Duration::from_secs(3), || {
        y.invalidate(&k).unwrap();
        v2.calls() + v3.calls() >= 2
    }));
    std::thread::sleep(Duration::from_millis(100));
    let entry = redis.keys("failsoft:v1:*:e");
    assert_eq!(entry.len(), 1, "{entry:?}");
    let v: String =
        redis::cmd("HGET").arg(&entry[0]).arg("v").query(&mut redis.connection().unwrap()).unwrap();
    assert_eq!(v, "3", "v3 stays");
    assert_eq!(y.get(&k).unwrap().version(), Some(3), "the lagging writer adopts v3");

    // FLUSHALL while the backend fails: x and y both hold v3, and whichever refreshes first (x
    // directly, y on the invalidation message) writes it back with its real age.
    v3.set(Err(failsoft::Error::unavailable("down")));
    std::thread::sleep(Duration::from_millis(300));
    redis.cmd(&["FLUSHALL"]);
    // The store is empty: this only asks x to refresh.
    x.invalidate(&k).unwrap_or(());
    // The counter is bumped just after the write lands, so wait for both.
    let restored = || x.status().fleet.unwrap().restored + y.status().fleet.unwrap().restored >= 1;
    assert!(
        poll_until(Duration::from_secs(3), || !redis.keys("failsoft:v1:*:e").is_empty() && restored()),
        "written back"
    );
    let entry = redis.keys("failsoft:v1:*:e").remove(0);
    let mut con = redis.connection().unwrap();
    let (v, at): (String, i64) = redis::cmd("HMGET").arg(&entry).arg("v").arg("at").query(&mut con).unwrap();
    assert_eq!(v, "3");
    let (now_s, now_us): (i64, i64) = redis::cmd("TIME").query(&mut con).unwrap();
    let age_ms = now_s * 1000 + now_us / 1000 - at;
    assert!(age_ms >= 250, "not pretending to be fresher than it is: {age_ms} ms");
    let z = Client::new(Scripted::ok(json!({"text": "one"}), Some(1)), opts(60_000)).unwrap();
    assert_eq!(z.get(&k).unwrap().version(), Some(3), "no version regression after the flush");
}

#[test]
fn redis_stalled_leaves_warm_reads_alone_and_the_breaker_opens_and_closes() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let c = client(&sim, &redis, Duration::from_secs(60));
    c.get(&greeting()).unwrap();
    redis.stop();
    let mut lat: Vec<Duration> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            c.get(&greeting()).unwrap();
            t.elapsed()
        })
        .collect();
    lat.sort();
    let p99 = lat[lat.len() * 99 / 100];
    assert!(p99 < Duration::from_millis(1), "warm p99 {p99:?}");
    // Cold reads still answer within the cold deadline (store timeout, then the backend).
    for key in ["a", "b", "x1", "x2"] {
        sim.set_kv(key, json!({"k": key}), Some(1));
        let t = Instant::now();
        let v = c.get(&Key::new(key)).unwrap();
        assert!(!v.is_fallback());
        assert!(t.elapsed() < Duration::from_secs(5));
    }
    assert!(poll_until(Duration::from_secs(2), || c.status().fleet.unwrap().store == "down"), "breaker open");
    redis.resume();
    sim.set_kv("after", json!({"k": 1}), Some(1));
    assert!(poll_until(Duration::from_secs(3), || {
        let _ = c.get(&Key::new("after"));
        c.invalidate(&Key::new("after")).is_ok() && c.status().fleet.unwrap().store == "up"
    }));
    let s = c.status().to_json();
    assert!(s["fleet"]["counters"]["store_errors"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn a_failing_backend_is_retried_once_per_backoff_step_fleet_wide_and_reads_stay_stale() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let opts = |fleet_on: bool| ClientOptions {
        ttl: Some(Duration::from_millis(200)),
        backoff_base: Duration::from_millis(200),
        backoff_cap: Duration::from_millis(400),
        fleet: fleet_on.then(|| fleet(&redis)),
        ..Default::default()
    };
    let run = |fleet_on: bool| {
        sim.heal("/kv/greeting");
        let clients: Vec<Client> = (0..8).map(|_| client_with(&sim, opts(fleet_on))).collect();
        for c in &clients {
            c.get(&greeting()).unwrap();
        }
        sim.fault("/kv/greeting", "500");
        let before = sim.count("/kv/greeting");
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            for c in &clients {
                let v = c.get(&greeting()).expect("every read answers");
                assert!(!v.is_fallback());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        sim.count("/kv/greeting") - before
    };
    let with = run(true);
    redis.cmd(&["FLUSHALL"]);
    let without = run(false);
    eprintln!("backend attempts during 3 s of 500s, 8 clients: fleet {with}, no fleet {without}");
    // Steps of 200–400 ms (jittered down to half) over 3 s: about 8–15 for one process.
    assert!(with <= 20, "fleet-wide attempts follow the backoff steps: {with}");
    assert!(without >= 3 * with, "not x8: fleet {with}, without {without}");
}

#[test]
fn read_only_processes_never_call_the_backend() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let mut ro = fleet(&redis);
    ro.mode = failsoft::fleet::FleetMode::ReadOnly;
    let reader = client_with(&sim, ClientOptions { fleet: Some(ro), ..Default::default() });
    let v = reader.get_with(&greeting(), ReadOptions::with_fallback(json!("fb"))).unwrap();
    assert!(v.is_fallback(), "nothing shared yet");
    assert_eq!(sim.count("/kv/greeting"), 0);
    let writer = client(&sim, &redis, Duration::from_secs(60));
    writer.get(&greeting()).unwrap();
    let reader2 =
        client_with(&sim, ClientOptions { fleet: reader.options().fleet.clone(), ..Default::default() });
    assert_eq!(reader2.get(&greeting()).unwrap().data()["text"], "hello");
    assert_eq!(sim.count("/kv/greeting"), 1, "only the writer fetched");
}

#[test]
fn the_redis_password_never_appears_in_status_errors_or_debug() {
    let mut f = FleetOptions::new("redis://app:hunter2@127.0.0.1:1/0");
    f.store_timeout = Duration::from_millis(50);
    let c =
        Client::new(Scripted::ok(json!(1), Some(1)), ClientOptions { fleet: Some(f), ..Default::default() })
            .unwrap();
    c.get(&Key::new("k")).unwrap();
    let e = c.invalidate(&Key::new("k")).unwrap_err();
    let text = format!("{:?} {} {:?} {}", c.options(), e, c.status(), c.status().to_json());
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("***"), "{text}");
}

#[test]
fn a_dead_llm_target_found_by_one_process_is_skipped_by_another_within_a_second_with_one_probe() {
    use failsoft::fleet::{RedisCircuit, SharedCircuit};
    let Some(mut redis) = RedisServer::start() else { return };
    let a = RedisCircuit::new(&fleet(&redis), "llm-fleet").unwrap();
    let b = RedisCircuit::new(&fleet(&redis), "llm-fleet").unwrap();
    let target = "http://primary/v1|gpt-4o";
    let cooldown = Duration::from_millis(800);
    for _ in 0..3 {
        a.failure(target, 3, cooldown, None);
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    assert!(
        poll_until(Duration::from_secs(1), || b.view(target).and_then(|v| v.open_for).is_some()),
        "b sees the circuit open within 1 s"
    );
    eprintln!("the other process saw the dead target after {:?}", t.elapsed());
    // One probe per cooldown across both processes.
    let claims =
        [a.claim_probe(target, cooldown), b.claim_probe(target, cooldown), a.claim_probe(target, cooldown)];
    assert_eq!(claims.iter().filter(|c| **c == Some(true)).count(), 1, "{claims:?}");
    std::thread::sleep(cooldown + Duration::from_millis(50));
    assert_eq!(b.claim_probe(target, cooldown), Some(true), "the next cooldown's probe");
    b.success(target);
    assert!(
        poll_until(Duration::from_secs(2), || a.view(target) == Some(Default::default())),
        "closed fleet-wide"
    );
    redis.kill();
    assert_eq!(a.claim_probe(target, cooldown), None, "store down: decide locally");
}

#[test]
fn stale_only_makes_no_backend_call_without_the_store_and_direct_does() {
    let Some(mut redis) = RedisServer::start() else { return };
    let sim = Sim::start();
    let mut f = fleet(&redis);
    f.on_store_down = failsoft::fleet::OnStoreDown::StaleOnly;
    f.store_timeout = Duration::from_millis(50);
    let ttl = Duration::from_millis(200);
    let c = client_with(&sim, ClientOptions { ttl: Some(ttl), fleet: Some(f), ..Default::default() });
    c.get(&greeting()).unwrap();
    redis.kill();
    let before = sim.count("/kv/greeting");
    let until = Instant::now() + ttl * 4;
    while Instant::now() < until {
        assert!(!c.get(&greeting()).unwrap().is_fallback(), "the stale value keeps being served");
        std::thread::sleep(Duration::from_millis(10));
    }
    let v = c.get_with(&Key::new("a"), ReadOptions::with_fallback(json!("fb"))).unwrap();
    assert!(v.is_fallback(), "a cold key gets its fallback, not a backend call");
    assert_eq!(sim.count("/kv/greeting") + sim.count("/kv/a"), before, "no backend call without a lease");

    let d =
        client_with(&sim, ClientOptions { ttl: Some(ttl), fleet: Some(fleet(&redis)), ..Default::default() });
    assert_eq!(d.get(&Key::new("a")).unwrap().data()["n"], 1, "direct: fetches on its own");
}
