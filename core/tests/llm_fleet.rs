//! The LLM circuit breaker shared by the fleet (issue 13, part 8; SPEC §8/§10): two `LlmClient`s
//! stand for two processes sharing one private redis-server, against the simulator's OpenAI
//! routes. Tiny cooldowns and poll-until.

mod common;

use common::poll_until;
use common::redis_server::RedisServer;
use failsoft::fleet::FleetOptions;
use failsoft::llm::{CircuitState, LlmClient, LlmOptions, Target};
use failsoft_sim::{FaultMode, Simulator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-fleet-SECRET";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fleet(url: &str) -> FleetOptions {
    let mut f = FleetOptions::new(url);
    f.store_timeout = ms(100);
    f.breaker_probe = ms(200);
    f
}

/// A "process": primary then fallback, no retries, the breaker shared through `fleet`.
fn process(sim: &Simulator, fleet: FleetOptions, threshold: u32, cooldown: Duration) -> LlmClient {
    let target = |name: &str| Target::new(sim.openai_base_url(name)).api_key(KEY);
    LlmClient::new(LlmOptions {
        max_retries: 0,
        breaker_threshold: threshold,
        breaker_cooldown: cooldown,
        fleet: Some(fleet),
        ..LlmOptions::new(vec![target("primary"), target("fallback")])
    })
    .unwrap()
}

fn request() -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

fn primary_hits(sim: &Simulator) -> u64 {
    sim.request_count("/t/primary/v1/chat/completions")
}

fn kill_primary(sim: &Simulator) {
    sim.set_fault("/t/primary", FaultMode::parse("503").unwrap());
}

#[test]
fn a_primary_found_dead_by_one_process_is_skipped_by_another_within_a_second() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Simulator::start_default();
    let (a, b) =
        (process(&sim, fleet(&redis.url), 3, ms(5000)), process(&sim, fleet(&redis.url), 3, ms(5000)));
    // Both are running and served by the healthy primary.
    assert!(!a.chat(&request()).unwrap().is_fallback);
    assert!(!b.chat(&request()).unwrap().is_fallback);
    kill_primary(&sim);
    for _ in 0..3 {
        assert!(a.chat(&request()).unwrap().is_fallback, "A falls over to the fallback");
    }
    assert_eq!(a.circuit_states()[0], CircuitState::Open, "A's breaker opened");
    let opened = Instant::now();
    assert!(
        poll_until(Duration::from_secs(1), || b.circuit_states()[0] == CircuitState::Open),
        "B sees the primary's circuit open within 1 s"
    );
    eprintln!("B saw the primary's circuit open {:?} after A opened it", opened.elapsed());
    let before = primary_hits(&sim);
    let r = b.chat(&request()).unwrap();
    assert!(r.is_fallback && r.served_by.index == 1, "{r:?}");
    assert!(r.attempts[0].skipped, "B skipped the primary: {:?}", r.attempts);
    assert_eq!(primary_hits(&sim), before, "B made no primary attempt");
    // The circuit's key names (base URL as shown, model) and holds no secret.
    let keys = redis.keys("failsoft:v1:llm:*");
    assert!(keys.iter().any(|k| k.contains("/t/primary/v1|gpt-4o-mini")), "{keys:?}");
    for k in &keys {
        assert!(!k.contains(KEY), "{k}");
        assert!(!format!("{:?}", redis.cmd(&["HGETALL", k])).contains(KEY), "{k}");
    }
}

#[test]
fn across_two_processes_the_dead_primary_is_probed_at_most_once_per_cooldown() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Simulator::start_default();
    let cooldown = ms(250);
    let (a, b) =
        (process(&sim, fleet(&redis.url), 1, cooldown), process(&sim, fleet(&redis.url), 1, cooldown));
    assert!(!b.chat(&request()).unwrap().is_fallback);
    kill_primary(&sim);
    assert!(a.chat(&request()).unwrap().is_fallback);
    // With so short a cooldown B may first see it half-open: either way it knows.
    assert!(poll_until(Duration::from_secs(1), || b.circuit_states()[0] != CircuitState::Closed));
    let before = primary_hits(&sim);
    let window = cooldown * 6;
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in [&a, &b, &a, &b] {
            s.spawn(move || {
                while start.elapsed() < window {
                    assert!(c.chat(&request()).unwrap().is_fallback, "every call is answered");
                    std::thread::sleep(ms(5));
                }
            });
        }
    });
    let probes = primary_hits(&sim) - before;
    let cooldowns = (start.elapsed().as_millis() / cooldown.as_millis()) as u64;
    eprintln!("{probes} primary probes in {cooldowns} cooldowns across both processes");
    assert!(probes >= 1, "the primary is still probed");
    // The window may open on a probe: one per cooldown, plus that one (each process probing
    // on its own would make about two per cooldown).
    assert!(probes <= cooldowns + 1, "at most one probe per cooldown across both: {probes} in {cooldowns}");
}

#[test]
fn with_the_store_down_each_process_keeps_its_local_breaker_and_calls_answer() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{dead}/0");
    let sim = Simulator::start_default();
    let (a, b) = (process(&sim, fleet(&url), 2, ms(5000)), process(&sim, fleet(&url), 2, ms(5000)));
    kill_primary(&sim);
    for _ in 0..2 {
        assert!(a.chat(&request()).unwrap().is_fallback);
    }
    assert_eq!(a.circuit_states()[0], CircuitState::Open, "A's local breaker opened");
    let before = primary_hits(&sim);
    let r = a.chat(&request()).unwrap();
    assert!(r.is_fallback && r.attempts[0].skipped, "A skips the primary on its own: {:?}", r.attempts);
    assert_eq!(primary_hits(&sim), before);
    // B learns nothing without the store: it meets the dead primary itself, and still answers.
    assert_eq!(b.circuit_states()[0], CircuitState::Closed);
    assert!(b.chat(&request()).unwrap().is_fallback);
    assert_eq!(primary_hits(&sim), before + 1, "B tried the primary itself");
}
