//! Fleet mode across real processes (the CLI's `watch` and `get`), one simulator and one
//! redis-server: the request counts are read at the simulator.

// The same private redis-server helper as the core's tests (not every method is used here).
#[allow(dead_code)]
#[path = "../../core/tests/common/redis_server.rs"]
mod redis_server;

use failsoft_sim::{Fault, FaultMode, Simulator};
use redis_server::RedisServer;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_failsoft");

fn failsoft(sim: &Simulator, args: &[&str], redis: Option<&RedisServer>) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).args(["--source", "http", "--url", &format!("{}/kv/{{key}}", sim.url())]);
    if let Some(r) = redis {
        c.args(["--redis-url", &r.url]);
    }
    c.env_remove("FAILSOFT_REDIS_URL").env_remove("FAILSOFT_TTL_SECONDS").env_remove("FAILSOFT_SNAPSHOT_DIR");
    c
}

/// Runs `n` watchers of `greeting` (TTL 1 s, a read every 20 ms) for `run`, then kills them.
fn watchers(sim: &Simulator, redis: Option<&RedisServer>, n: usize, run: Duration) -> u64 {
    sim.reset_counts();
    let mut kids: Vec<Child> = (0..n)
        .map(|_| {
            failsoft(sim, &["watch", "greeting", "--ttl", "1", "--interval", "0.02"], redis)
                .stdout(Stdio::null())
                .spawn()
                .expect("failsoft watch")
        })
        .collect();
    std::thread::sleep(run);
    for k in &mut kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    sim.request_count("/kv/greeting")
}

#[test]
fn eight_processes_at_ttl_one_second_fetch_about_once_per_ttl_with_a_fleet() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Simulator::start_default();
    let with = watchers(&sim, Some(&redis), 8, Duration::from_secs(10));
    let without = watchers(&sim, None, 8, Duration::from_secs(10));
    eprintln!("8 processes, TTL 1 s, 10 s: backend requests with fleet {with}, without {without}");
    assert!(with <= 11, "with a fleet: {with}");
    assert!(without >= 60, "without: {without}");
}

#[test]
fn a_sigkilled_lease_holder_is_replaced_once_its_lease_expires() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Simulator::start_default();
    sim.set_fault("/kv/greeting", Fault::new(FaultMode::Slow).with_delay(Duration::from_secs(30)));
    // The holder's lease lasts its fetch bound (1 s) plus 1 s.
    let quick = ["--cold-deadline", "1", "--request-timeout", "1"];
    let mut holder = failsoft(&sim, &[&["get", "greeting"][..], &quick].concat(), Some(&redis))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while sim.request_count("/kv/greeting") == 0 {
        assert!(Instant::now() < until, "the holder never fetched");
        std::thread::sleep(Duration::from_millis(5));
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    let killed = Instant::now();
    sim.heal("/kv/greeting");
    let out = failsoft(&sim, &["get", "greeting", "--cold-deadline", "4"], Some(&redis)).output().unwrap();
    let took = killed.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["source"].as_str(), v["is_fallback"].as_bool()), (Some("fresh"), Some(false)), "{v}");
    assert_eq!(sim.request_count("/kv/greeting"), 2, "the killed holder's request and the successor's");
    assert!(took >= Duration::from_millis(1200), "the successor waited for the lease to expire: {took:?}");
}

#[test]
fn invalidate_and_fleet_warm_work_from_the_command_line() {
    let Some(redis) = RedisServer::start() else { return };
    let sim = Simulator::start_default();
    let out = failsoft(&sim, &["fleet", "warm", "greeting", "--count", "1"], Some(&redis)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("greeting  version=Some(1)"));
    assert_eq!(redis.keys("failsoft:v1:*:e").len(), 1, "warm wrote the shared entry");
    let out = failsoft(&sim, &["invalidate", "greeting"], Some(&redis)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entry = redis.keys("failsoft:v1:*:e").remove(0);
    let inv: String =
        redis::cmd("HGET").arg(&entry).arg("inv").query(&mut redis.connection().unwrap()).unwrap();
    assert_eq!(inv, "1");
    let out = failsoft(&sim, &["invalidate", "greeting"], None).output().unwrap();
    assert!(!out.status.success(), "invalidate without a fleet is refused");
    // FAILSOFT_REDIS_URL turns fleet mode on without a flag.
    let out =
        failsoft(&sim, &["get", "settings"], None).env("FAILSOFT_REDIS_URL", &redis.url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(redis.keys("failsoft:v1:*:e").len(), 2, "the environment's fleet wrote the entry of settings");
}
