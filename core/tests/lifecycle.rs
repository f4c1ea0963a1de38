//! Threads: started lazily, named, stopped when the client is dropped. One test per binary so no
//! other client's threads are counted.

mod common;

use common::{poll_until, Scripted};
use failsoft::{Client, ClientOptions, Key};
use serde_json::json;
use std::time::Duration;

fn failsoft_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("failsoft-"))
        .count()
}

#[test]
fn threads_start_lazily_and_stop_when_the_client_is_dropped() {
    let src = Scripted::ok(json!(1), Some(1));
    let client = Client::new(src, ClientOptions { refresh_workers: 3, ..Default::default() }).unwrap();
    assert_eq!(failsoft_threads(), 0, "no thread before the first read");
    client.get(&Key::new("k")).unwrap();
    assert!(poll_until(Duration::from_secs(1), || failsoft_threads() == 4), "refresher + 3 workers");
    drop(client);
    assert!(poll_until(Duration::from_secs(1), || failsoft_threads() == 0), "{} left", failsoft_threads());
}
