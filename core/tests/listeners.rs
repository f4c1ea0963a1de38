//! Listener lifetime (issue 11 item 4): once `remove_listener`, `close` or drop returns, the
//! listener is not running and is never called again, even while another thread delivers.

use failsoft::{Client, ClientOptions, FetchRequest, Fetched, FetchedValue, Key, Source};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A source whose every fetch is a new version: with TTL 0 every read delivers a change.
#[derive(Default)]
struct Counting(AtomicI64);

impl Source for Counting {
    fn kind(&self) -> &'static str {
        "counting"
    }
    fn identity(&self) -> String {
        "counting|test".into()
    }
    fn fetch(&self, _req: &FetchRequest<'_>) -> failsoft::Result<Fetched> {
        let version = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Fetched::Modified(FetchedValue {
            data: json!({"v": version}),
            version: Some(version),
            etag: None,
            bytes: 1,
        }))
    }
}

fn client() -> Arc<Client> {
    let opts = ClientOptions { ttl: Some(Duration::ZERO), ..Default::default() };
    Arc::new(Client::new(Counting::default(), opts).unwrap())
}

/// What a listener records: whether a call is inside it now, and calls that began after the
/// test said it was gone.
#[derive(Default)]
struct Probe {
    inside: AtomicBool,
    calls: AtomicU64,
    gone: AtomicBool,
    late_calls: AtomicU64,
}

impl Probe {
    fn listener(self: &Arc<Self>) -> impl Fn(&failsoft::Change) + Send + Sync + 'static {
        let p = self.clone();
        move |_| {
            if p.gone.load(Ordering::SeqCst) {
                p.late_calls.fetch_add(1, Ordering::SeqCst);
            }
            p.inside.store(true, Ordering::SeqCst);
            p.calls.fetch_add(1, Ordering::SeqCst);
            // Long enough that a removal usually lands during the call.
            let until = Instant::now() + Duration::from_micros(300);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            p.inside.store(false, Ordering::SeqCst);
        }
    }

    fn wait_until_called(&self) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.calls.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < until, "the listener was never called");
            std::thread::yield_now();
        }
    }
}

/// Reads `key` on another thread until `stop` or the client is gone, each read a new version
/// delivered to listeners.
fn deliver(client: &Arc<Client>, stop: &Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let (client, stop) = (Arc::downgrade(client), stop.clone());
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let Some(c) = client.upgrade() else { return };
            let _ = c.get(&Key::new("k"));
        }
    })
}

#[test]
fn a_listener_removed_during_a_delivery_is_not_running_once_remove_returns_and_never_called_after() {
    let client = client();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = deliver(&client, &stop);
    for round in 0..200 {
        let probe = Arc::new(Probe::default());
        let id = client.on_change(probe.listener());
        probe.wait_until_called();
        assert!(client.remove_listener(id), "round {round}: the listener was registered");
        assert!(!probe.inside.load(Ordering::SeqCst), "round {round}: still running after remove returned");
        probe.gone.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(500));
        assert_eq!(probe.late_calls.load(Ordering::SeqCst), 0, "round {round}: called after remove returned");
        assert!(!client.remove_listener(id), "round {round}: removing twice finds nothing");
    }
    stop.store(true, Ordering::SeqCst);
    reader.join().unwrap();
}

#[test]
fn closing_or_dropping_a_client_stops_delivery_and_waits_for_calls_under_way() {
    for round in 0..40 {
        let client = client();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = deliver(&client, &stop);
        let probe = Arc::new(Probe::default());
        client.on_change(probe.listener());
        probe.wait_until_called();
        if round % 2 == 0 {
            client.close();
        } else {
            // Drop the client here, as its last owner (the reader only borrows it for a read).
            let mut handle = client;
            let last = loop {
                match Arc::try_unwrap(handle) {
                    Ok(c) => break c,
                    Err(h) => handle = h,
                }
            };
            drop(last);
        }
        assert!(!probe.inside.load(Ordering::SeqCst), "round {round}: still running after close returned");
        probe.gone.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(500));
        stop.store(true, Ordering::SeqCst);
        reader.join().unwrap();
        assert_eq!(probe.late_calls.load(Ordering::SeqCst), 0, "round {round}: called after close returned");
    }
}

#[test]
fn a_listener_may_remove_itself_from_inside_its_call() {
    let client = client();
    let id = Arc::new(AtomicU64::new(u64::MAX));
    let calls = Arc::new(AtomicU64::new(0));
    let (weak, my_id, n) = (Arc::downgrade(&client), id.clone(), calls.clone());
    id.store(
        client.on_change(move |_| {
            n.fetch_add(1, Ordering::SeqCst);
            if let Some(c) = weak.upgrade() {
                c.remove_listener(my_id.load(Ordering::SeqCst));
            }
        }),
        Ordering::SeqCst,
    );
    for _ in 0..5 {
        client.get(&Key::new("k")).unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "called once, then removed by itself without deadlock");
}
