//! Warm-read cost: ns per `Client::get` of a cached key, on 1 and 2 threads, fresh and stale;
//! and per `Client::peek_same`, a binding's warm read of the object it kept for a key.
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

/// Answers once per key, then fails: its keys turn stale and stay so (the retry backs off).
struct OnceThenDown(std::sync::Mutex<std::collections::HashSet<Key>>);
impl Source for OnceThenDown {
    fn kind(&self) -> &'static str {
        "once"
    }
    fn identity(&self) -> String {
        "once".into()
    }
    fn fetch(&self, req: &FetchRequest<'_>) -> failsoft::Result<Fetched> {
        if self.0.lock().unwrap().insert(req.key.clone()) {
            Static.fetch(req)
        } else {
            Err(failsoft::Error::unavailable("down"))
        }
    }
}

const READS: u64 = 2_000_000;

/// This thread's CPU time: unlike wall time, it does not grow while other processes hold the
/// cores, so it shows contention between the readers themselves on a busy machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec and a clock every Linux has.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// (wall time, CPU time) of READS reads.
fn run(client: &Client, key: &Key) -> (Duration, Duration) {
    let start = Instant::now();
    let cpu = thread_cpu();
    for _ in 0..READS {
        let v = client.get(std::hint::black_box(key)).unwrap();
        std::hint::black_box(&v);
    }
    (start.elapsed(), thread_cpu() - cpu)
}

/// Median (wall ns/read, reads/s, CPU ns/read) over `rounds` rounds of `threads` threads reading
/// `keys[i % keys.len()]`.
fn measure(client: &Arc<Client>, threads: usize, keys: &[Key], rounds: usize) -> (f64, f64, f64) {
    let mut per_read = Vec::new();
    let mut throughput = Vec::new();
    let mut cpu_per_read = Vec::new();
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
        let both: Vec<(Duration, Duration)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let times: Vec<Duration> = both.iter().map(|b| b.0).collect();
        let cpu: f64 =
            both.iter().map(|b| b.1.as_nanos() as f64 / READS as f64).sum::<f64>() / threads as f64;
        cpu_per_read.push(cpu);
        let slowest = times.iter().max().unwrap().as_secs_f64();
        per_read.push(times.iter().map(|t| t.as_nanos() as f64 / READS as f64).sum::<f64>() / threads as f64);
        throughput.push((READS * threads as u64) as f64 / slowest);
    }
    for v in [&mut per_read, &mut throughput, &mut cpu_per_read] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    (per_read[rounds / 2], throughput[rounds / 2], cpu_per_read[rounds / 2])
}

fn main() {
    let client = Arc::new(
        Client::new(Static, ClientOptions { ttl: Some(Duration::from_secs(3600)), ..Default::default() })
            .unwrap(),
    );
    let keys: Vec<Key> = (0..64).map(|i| Key::new(format!("prompt-{i}"))).collect();
    client.prefetch(&keys, None).unwrap();
    let rounds = 5;
    let (one, one_tp, one_cpu) = measure(&client, 1, &keys[..1], rounds);
    let (two_own, two_own_tp, two_own_cpu) = measure(&client, 2, &keys[..2], rounds);
    let (two_same, two_same_tp, two_same_cpu) = measure(&client, 2, &keys[..1], rounds);
    let stale = stale_client(&keys[..1]);
    let (st_one, st_one_tp, st_one_cpu) = measure(&stale, 1, &keys[..1], rounds);
    let (st_two, st_two_tp, st_two_cpu) = measure(&stale, 2, &keys[..1], rounds);
    println!(
        "warm read (Client::get on a cached key), median of {rounds} rounds of {READS} reads per thread"
    );
    println!(
        "scaling (wall) = total reads/s over 1 thread's; scaling (cpu) = 2 x 1-thread CPU ns / per-thread"
    );
    println!("CPU ns, which other processes holding a core do not skew\n");
    println!(
        "{:<26} {:>9} {:>9} {:>15} {:>15} {:>14}",
        "", "ns/read", "cpu ns", "reads/s total", "scaling (wall)", "scaling (cpu)"
    );
    // Scaling is against the 1-thread row of the same kind (fresh or stale).
    let row = |name: &str, ns: f64, cpu: f64, tp: f64, threads: f64, base: (f64, f64)| {
        println!(
            "{name:<26} {ns:>9.1} {cpu:>9.1} {tp:>15.0} {:>14.2}x {:>13.2}x",
            tp / base.0,
            threads * base.1 / cpu
        );
    };
    let fresh = (one_tp, one_cpu);
    row("1 thread", one, one_cpu, one_tp, 1.0, fresh);
    row("2 threads, a key each", two_own, two_own_cpu, two_own_tp, 2.0, fresh);
    row("2 threads, the same key", two_same, two_same_cpu, two_same_tp, 2.0, fresh);
    let stale = (st_one_tp, st_one_cpu);
    row("1 thread, stale", st_one, st_one_cpu, st_one_tp, 1.0, stale);
    row("2 threads, same stale key", st_two, st_two_cpu, st_two_tp, 2.0, stale);
    let same = (0..rounds).map(|_| peek_same_cpu_ns(&client, &keys[0])).fold(f64::INFINITY, f64::min);
    println!("{:<26} {:>9} {same:>9.1}", "1 thread, peek_same", "");
}

/// CPU ns per `Client::peek_same` of a fresh key's kept read (what a binding's warm read asks
/// the core), one thread.
fn peek_same_cpu_ns(client: &Client, key: &Key) -> f64 {
    let kept = client.get(key).unwrap();
    let place = client.place(key).unwrap();
    let cpu = thread_cpu();
    for _ in 0..READS {
        assert!(client.peek_same(std::hint::black_box(&place), None, std::hint::black_box(&kept)));
    }
    (thread_cpu() - cpu).as_nanos() as f64 / READS as f64
}

/// A client whose `keys` are cached, stale, and failing to refresh (every read serves the stale
/// value with the error; the backoff keeps further refreshes from being asked for).
fn stale_client(keys: &[Key]) -> Arc<Client> {
    let options = ClientOptions {
        ttl: Some(Duration::from_millis(20)),
        backoff_base: Duration::from_secs(3600),
        backoff_cap: Duration::from_secs(3600),
        ..Default::default()
    };
    let client = Arc::new(Client::new(OnceThenDown(Default::default()), options).unwrap());
    client.prefetch(keys, None).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    let deadline = Instant::now() + Duration::from_secs(5);
    while keys.iter().any(|k| client.get(k).unwrap().error.is_none()) {
        assert!(Instant::now() < deadline, "the refresh did not fail");
        std::thread::sleep(Duration::from_millis(5));
    }
    client
}
