//! Last known good on disk: a restart during an outage serves the snapshot (SPEC §5).

mod common;

use common::Sim;
use failsoft::sources::HttpSource;
use failsoft::{Client, ClientOptions, Key, ReadOptions, ValueSource};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("failsoft-{name}-{}-{}", std::process::id(), fastrand_u32()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

fn opts(dir: &std::path::Path) -> ClientOptions {
    ClientOptions {
        ttl: Some(Duration::from_secs(60)),
        cold_deadline: Duration::from_millis(300),
        snapshot_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn restart_with_the_backend_down_serves_the_snapshot_not_the_fallback() {
    let sim = Sim::start();
    let dir = tmpdir("restart");
    let key = Key::new("greeting");
    {
        let client = Client::new(HttpSource::new(sim.kv_template()).unwrap(), opts(&dir)).unwrap();
        assert_eq!(client.get(&key).unwrap().source, ValueSource::Fresh);
        assert!(common::poll_until(Duration::from_secs(2), || std::fs::read_dir(&dir).unwrap().count() == 1));
    }
    sim.fault("*", "500");
    let restarted = Client::new(HttpSource::new(sim.kv_template()).unwrap(), opts(&dir)).unwrap();
    let v = restarted.get_with(&key, ReadOptions::with_fallback(json!("fb"))).unwrap();
    assert_eq!(v.source, ValueSource::Snapshot);
    assert!(!v.is_fallback());
    assert_eq!(v.data(), &json!({"text": "hello"}));
    assert_eq!(v.version(), Some(1));
    assert!(v.age().is_some());
    assert_eq!(restarted.status().snapshot_reads, 1);

    // Another source (other base URL) never reads it.
    let other =
        Client::new(HttpSource::new(format!("{}/kv2/{{key}}", sim.url())).unwrap(), opts(&dir)).unwrap();
    assert!(other.get_with(&key, ReadOptions::with_fallback(json!("fb"))).unwrap().is_fallback());
    std::fs::remove_dir_all(dir).unwrap();
}
