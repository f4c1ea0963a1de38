//! One key read from many threads: each reading thread gets its own copy of the cached payload
//! (so the reads scale across cores), and the copies behave as the one value they copy.

mod common;

use common::{poll_until, Scripted, Sim};
use failsoft::sources::HttpSource;
use failsoft::{Client, ClientOptions, Key, Value, ValueSource};
use serde_json::json;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn opts(ttl_ms: u64) -> ClientOptions {
    ClientOptions { ttl: Some(Duration::from_millis(ttl_ms)), ..Default::default() }
}

/// Runs `threads` long-lived readers; each answers every `()` it receives with one read of `key`.
/// They stay alive between rounds, so each keeps the copy it made at its first read.
struct Readers {
    asks: Vec<mpsc::Sender<()>>,
    answers: mpsc::Receiver<(usize, Value)>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Readers {
    fn start(client: &Arc<Client>, key: &Key, threads: usize) -> Readers {
        let (tx, answers) = mpsc::channel();
        let mut asks = Vec::new();
        let mut handles = Vec::new();
        for i in 0..threads {
            let (ask, rx) = mpsc::channel::<()>();
            let (c, k, tx) = (client.clone(), key.clone(), tx.clone());
            handles.push(std::thread::spawn(move || {
                for () in rx {
                    tx.send((i, c.get(&k).unwrap())).unwrap();
                }
            }));
            asks.push(ask);
        }
        Readers { asks, answers, handles }
    }

    /// One read on every thread, in thread order.
    fn round(&self) -> Vec<Value> {
        for a in &self.asks {
            a.send(()).unwrap();
        }
        let mut got: Vec<(usize, Value)> =
            (0..self.asks.len()).map(|_| self.answers.recv().unwrap()).collect();
        got.sort_by_key(|g| g.0);
        got.into_iter().map(|g| g.1).collect()
    }

    fn stop(self) {
        drop(self.asks);
        for h in self.handles {
            h.join().unwrap();
        }
    }
}

#[test]
fn reads_on_different_threads_carry_the_same_payload_in_their_own_copies() {
    let client = Arc::new(Client::new(Scripted::ok(json!({"p": 1}), Some(1)), opts(60_000)).unwrap());
    let key = Key::new("hot");
    let here = client.get(&key).unwrap();
    let readers = Readers::start(&client, &key, 4);
    let first = readers.round();
    let again = readers.round();
    for v in first.iter().chain(&again) {
        assert!(v.same_payload(&here), "same fetched data on every thread");
        assert_eq!((v.source, v.version(), v.data()), (ValueSource::Fresh, Some(1), &json!({"p": 1})));
        assert_eq!(v.payload.fetched_at, here.payload.fetched_at);
    }
    // Each thread clones its own copy (its own reference count), and keeps it between reads.
    for (i, v) in first.iter().enumerate() {
        assert!(!Arc::ptr_eq(&v.payload, &here.payload), "thread {i} shares the main thread's copy");
        assert!(Arc::ptr_eq(&v.payload, &again[i].payload), "thread {i} made a second copy");
        for w in &first[i + 1..] {
            assert!(!Arc::ptr_eq(&v.payload, &w.payload), "two threads share one copy");
        }
    }
    readers.stop();
}

#[test]
fn a_refreshed_value_reaches_every_thread_at_its_next_read() {
    let source = Scripted::ok(json!({"p": "old"}), Some(1));
    let client = Arc::new(Client::new(source.clone(), opts(60_000)).unwrap());
    let key = Key::new("hot");
    client.get(&key).unwrap();
    let readers = Readers::start(&client, &key, 4);
    let before = readers.round();
    assert!(before.iter().all(|v| v.version() == Some(1)));
    source.set(Ok((json!({"p": "new"}), Some(2))));
    client.invalidate(&key).unwrap();
    assert!(poll_until(Duration::from_secs(3), || client.get(&key).unwrap().version() == Some(2)));
    // The TTL is a minute: a thread still serving its old copy would answer version 1, fresh.
    let newest = client.get(&key).unwrap();
    for (i, v) in readers.round().iter().enumerate() {
        assert_eq!((v.version(), v.data()), (Some(2), &json!({"p": "new"})), "thread {i}");
        assert!(v.same_payload(&newest) && !v.same_payload(&before[i]), "thread {i}");
    }
    readers.stop();
}

#[test]
fn a_renewal_that_keeps_the_data_is_fresh_again_on_every_thread() {
    let sim = Sim::start();
    let client = Arc::new(Client::new(HttpSource::new(sim.kv_template()).unwrap(), opts(150)).unwrap());
    let key = Key::new("greeting");
    let first = client.get(&key).unwrap();
    let readers = Readers::start(&client, &key, 3);
    std::thread::sleep(Duration::from_millis(170));
    // Slow the refresh so every thread first copies the stale payload.
    sim.fault_with("/kv/greeting", "slow", json!({"delay_ms": 300}));
    assert!(readers.round().iter().all(|v| v.source == ValueSource::Stale));
    // The stale reads asked for a refresh; the backend answers 304 and the age starts again.
    assert!(poll_until(Duration::from_secs(3), || client.get(&key).unwrap().source == ValueSource::Fresh));
    for v in readers.round() {
        assert_eq!(v.source, ValueSource::Fresh);
        assert!(v.same_payload(&first), "a 304 keeps the data");
        assert!(v.age().unwrap() < Duration::from_millis(150));
    }
    readers.stop();
}

#[test]
fn read_counts_add_up_across_more_threads_than_slots() {
    let client = Arc::new(Client::new(Scripted::ok(json!(1), None), opts(60_000)).unwrap());
    let key = Key::new("hot");
    client.get(&key).unwrap();
    // More threads than any machine's slots (at most 64): some count on the shared stripe.
    let threads = 80;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (c, k, b) = (client.clone(), key.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..500 {
                    assert_eq!(c.get(&k).unwrap().source, ValueSource::Fresh);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(client.status().fresh_reads, 1 + threads as u64 * 500);
}

#[test]
fn a_stale_read_names_the_latest_failure_on_every_thread() {
    let source = Scripted::ok(json!({"p": 1}), Some(1));
    let client = Arc::new(Client::new(source.clone(), opts(100)).unwrap());
    let key = Key::new("hot");
    client.get(&key).unwrap();
    let readers = Readers::start(&client, &key, 3);
    let message = |v: &Value| v.error.as_ref().map(|e| e.message.clone());
    let fail_with = |text: &str| {
        source.set(Err(failsoft::Error::unavailable(text)));
        client.invalidate(&key).unwrap();
        assert!(poll_until(Duration::from_secs(3), || message(&client.get(&key).unwrap()).as_deref()
            == Some(text)));
    };
    std::thread::sleep(Duration::from_millis(120));
    fail_with("first");
    assert!(readers
        .round()
        .iter()
        .all(|v| v.source == ValueSource::Stale && message(v).as_deref() == Some("first")));
    // Each thread now holds a copy of the first error; the second replaces it at the next read.
    fail_with("second");
    assert!(readers
        .round()
        .iter()
        .all(|v| v.source == ValueSource::Stale && message(v).as_deref() == Some("second")));
    source.set(Ok((json!({"p": 2}), Some(2))));
    client.invalidate(&key).unwrap();
    assert!(poll_until(Duration::from_secs(3), || client.get(&key).unwrap().version() == Some(2)));
    for v in readers.round() {
        assert_eq!((v.source, v.version(), message(&v)), (ValueSource::Fresh, Some(2), None));
    }
    readers.stop();
}
