//! Warm-read cost: ns per `Client::get` of a cached key, on 1 and 2 threads.
//! `cargo bench -p failsoft --bench warm_read` prints the figures (no network: the values are
//! loaded from an in-process source first).

use failsoft::{Client, ClientOptions, FetchRequest, Fetched, Key, Source};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

struct Static;
impl Source for Static {
    fn kind(&self) -> &'static str {
        "static"
    }
    fn identity(&self) -> String {
        "static".into()
    }
    fn fetch(&self, req: &FetchRequest<'_>) -> failsoft::Result<Fetched> {
        Ok(Fetched::value(serde_json::json!({"prompt": format!("value of {}", req.key)}), Some(1), 16))
    }
}

const READS: u64 = 2_000_000;

fn run(client: &Client, key: &Key) -> Duration {
    let start = Instant::now();
    for _ in 0..READS {
        let v = client.get(std::hint::black_box(key)).unwrap();
        std::hint::black_box(&v);
    }
    start.elapsed()
}

/// Median ns/read over `rounds` rounds of `threads` threads reading `keys[i % keys.len()]`.
fn measure(client: &Arc<Client>, threads: usize, keys: &[Key], rounds: usize) -> (f64, f64) {
    let mut per_read = Vec::new();
    let mut throughput = Vec::new();
    for _ in 0..rounds {
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (c, b, k) = (client.clone(), barrier.clone(), keys[i % keys.len()].clone());
                std::thread::spawn(move || {
                    b.wait();
                    run(&c, &k)
                })
            })
            .collect();
        let times: Vec<Duration> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let slowest = times.iter().max().unwrap().as_secs_f64();
        per_read.push(times.iter().map(|t| t.as_nanos() as f64 / READS as f64).sum::<f64>() / threads as f64);
        throughput.push((READS * threads as u64) as f64 / slowest);
    }
    per_read.sort_by(|a, b| a.partial_cmp(b).unwrap());
    throughput.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (per_read[rounds / 2], throughput[rounds / 2])
}

fn main() {
    let client = Arc::new(
        Client::new(Static, ClientOptions { ttl: Some(Duration::from_secs(3600)), ..Default::default() })
            .unwrap(),
    );
    let keys: Vec<Key> = (0..64).map(|i| Key::new(format!("prompt-{i}"))).collect();
    client.prefetch(&keys, None).unwrap();
    let rounds = 5;
    let (one, one_tp) = measure(&client, 1, &keys[..1], rounds);
    let (two_own, two_own_tp) = measure(&client, 2, &keys[..2], rounds);
    let (two_same, two_same_tp) = measure(&client, 2, &keys[..1], rounds);
    println!(
        "warm read (Client::get on a cached key), median of {rounds} rounds of {READS} reads per thread"
    );
    println!("{:<34} {:>10} {:>16} {:>8}", "", "ns/read", "reads/s total", "scaling");
    println!("{:<34} {:>10.1} {:>16.0} {:>8}", "1 thread", one, one_tp, "1.00x");
    println!(
        "{:<34} {:>10.1} {:>16.0} {:>7.2}x",
        "2 threads, a key each",
        two_own,
        two_own_tp,
        two_own_tp / one_tp
    );
    println!(
        "{:<34} {:>10.1} {:>16.0} {:>7.2}x",
        "2 threads, the same key",
        two_same,
        two_same_tp,
        two_same_tp / one_tp
    );
}
