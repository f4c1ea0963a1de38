//! Snapshots survive crashes and concurrent writers: a file is either absent, the old value or
//! the new one, never torn (SPEC §5, issue 8). The writers are this test binary re-executed as a
//! child process (env FAILSOFT_SNAPSHOT_CHILD) so they can be SIGKILLed at random moments.

use failsoft::snapshot::SnapshotStore;
use failsoft::{Key, Payload};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IDENTITY: &str = "http|http://127.0.0.1/kv/{key}";
const KEYS: [&str; 3] = ["alpha", "beta", "folder/gamma"];

fn tmpdir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let d = std::env::temp_dir().join(format!("failsoft-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The payload written for `version`: big enough that a torn write would be visible.
fn payload(key: &str, version: i64) -> Payload {
    let pad = format!("{key}:{version}:").repeat(2000);
    Payload::new(json!({"key": key, "version": version, "pad": pad}), Some(version), None)
}

/// The child: writes every key with increasing versions until killed or `FAILSOFT_SNAPSHOT_FOR_MS`.
#[test]
fn snapshot_writer_child() {
    let Ok(dir) = std::env::var("FAILSOFT_SNAPSHOT_CHILD") else { return };
    let store = SnapshotStore::new(dir, IDENTITY);
    let run_for =
        std::env::var("FAILSOFT_SNAPSHOT_FOR_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    let until = Instant::now() + Duration::from_millis(run_for);
    let mut version = std::process::id() as i64 * 1_000_000;
    while Instant::now() < until {
        version += 1;
        for k in KEYS {
            store.store(&Key::new(k), &payload(k, version)).unwrap();
        }
    }
}

fn spawn_writer(dir: &Path, run_for_ms: Option<u64>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "snapshot_writer_child", "--nocapture", "--test-threads=1"])
        .env("FAILSOFT_SNAPSHOT_CHILD", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(ms) = run_for_ms {
        cmd.env("FAILSOFT_SNAPSHOT_FOR_MS", ms.to_string());
    }
    cmd.spawn().unwrap()
}

/// Every key's snapshot is absent or exactly the payload of the version it claims.
fn assert_all_valid(store: &SnapshotStore) -> usize {
    let mut found = 0;
    for k in KEYS {
        if let Some(p) = store.load(&Key::new(k)) {
            let v = p.version.expect("a version");
            assert_eq!(*p.data, *payload(k, v).data, "{k} v{v} served wrongly");
            found += 1;
        }
    }
    found
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_file_served_wrongly() {
    let dir = tmpdir("crash");
    let store = SnapshotStore::new(&dir, IDENTITY);
    for _ in 0..50 {
        let mut child = spawn_writer(&dir, None);
        std::thread::sleep(Duration::from_millis(5 + fastrand_ms(40)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_all_valid(&store);
    }
    assert!(assert_all_valid(&store) > 0, "the writers wrote something in 50 runs");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn two_processes_writing_one_directory_leave_only_valid_files() {
    let dir = tmpdir("concurrent");
    let store = SnapshotStore::new(&dir, IDENTITY);
    let mut a = spawn_writer(&dir, Some(5000));
    let mut b = spawn_writer(&dir, Some(5000));
    let mut reads = 0;
    while a.try_wait().unwrap().is_none() || b.try_wait().unwrap().is_none() {
        reads += assert_all_valid(&store);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(assert_all_valid(&store), KEYS.len());
    assert!(reads > 100, "read while writing: {reads}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left by clean exits: {leftovers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn fastrand_ms(max: u64) -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64 % max
}
