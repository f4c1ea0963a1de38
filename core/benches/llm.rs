//! LLM fallback costs against the simulator (issue 7):
//! 1. overhead of a call through failsoft over a direct HTTP call to the same endpoint;
//! 2. time to an answer when the primary refuses connections, over the fallback's own latency;
//! 3. time to an answer when the primary hangs, with a 1 s per-attempt timeout.
//!
//! Run with `cargo bench -p failsoft --bench llm`; `bench/llm/run.sh` runs it and then the
//! official openai client on the same kind of dead primary, and prints both.

use failsoft::http::Http;
use failsoft::llm::{LlmClient, LlmOptions, Target};
use failsoft_sim::{FaultMode, Simulator};
use serde_json::json;
use std::time::{Duration, Instant};

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    median_ms(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn target(base: &str, model: &str) -> Target {
    Target::new(base).api_key("sk-bench").model(model)
}

fn main() {
    let sim = Simulator::start_default();
    sim.set_chunk_delay(Duration::ZERO);
    let primary = sim.openai_base_url("primary");
    let fallback = sim.openai_base_url("fallback");
    let request = json!({"model": "m", "messages": [{"role": "user", "content": "Count to 3"}]});
    let body = request.to_string();
    let http = Http::default();
    let headers = [("Authorization", "Bearer sk-bench"), ("Content-Type", "application/json")];
    let n = 300;

    let direct = time(n, || {
        let url = format!("{fallback}/chat/completions");
        let r = http.request(
            "POST",
            &url,
            &headers,
            Some(body.as_bytes()),
            Instant::now() + Duration::from_secs(5),
        );
        r.unwrap().json().unwrap()
    });
    let alone = LlmClient::new(LlmOptions::new(vec![target(&fallback, "gpt-4o-mini")])).unwrap();
    let through = time(n, || alone.chat(&request).unwrap());

    sim.set_fault("/t/primary", FaultMode::Refused);
    let chain = || {
        LlmClient::new(LlmOptions {
            breaker_threshold: 0, // measure the failover itself, not the breaker skipping it
            ..LlmOptions::new(vec![
                target(&primary, "openpipe:ft").timeout(Duration::from_secs(1)),
                target(&fallback, "gpt-4o-mini"),
            ])
        })
        .unwrap()
    };
    let refused_client = chain();
    let refused = time(n, || refused_client.chat(&request).unwrap());

    sim.set_fault("/t/primary", FaultMode::Hang);
    let hang_client = chain();
    let hang = time(3, || hang_client.chat(&request).unwrap());
    let breaker_client = LlmClient::new(LlmOptions::new(vec![
        target(&primary, "openpipe:ft").timeout(Duration::from_secs(1)),
        target(&fallback, "gpt-4o-mini"),
    ]))
    .unwrap();
    for _ in 0..3 {
        breaker_client.chat(&request).unwrap();
    }
    let skipped = time(n, || breaker_client.chat(&request).unwrap());
    sim.heal("/t/primary");

    println!("LLM calls through failsoft vs the same endpoint directly (simulator on 127.0.0.1; median ms)");
    println!("{:<62} {:>9}", "direct HTTP POST /chat/completions", format!("{direct:.3}"));
    println!("{:<62} {:>9}", "failsoft chat, one healthy target", format!("{through:.3}"));
    println!("{:<62} {:>9}", "  overhead of failsoft (target < 0.2 ms)", format!("{:.3}", through - direct));
    println!("{:<62} {:>9}", "primary refusing connections → fallback answers", format!("{refused:.3}"));
    println!(
        "{:<62} {:>9}",
        "  over the fallback's own latency (target < 5 ms)",
        format!("{:.3}", refused - through)
    );
    println!("{:<62} {:>9}", "primary hanging, 1 s timeout → fallback answers", format!("{hang:.1}"));
    println!("{:<62} {:>9}", "same outage, breaker open (after 3 failed calls)", format!("{skipped:.3}"));
    if let Ok(path) = std::env::var("FAILSOFT_BENCH_JSON") {
        let out = json!({"direct_ms": direct, "failsoft_ms": through, "refused_ms": refused, "hang_ms": hang, "breaker_ms": skipped});
        std::fs::write(path, out.to_string()).unwrap();
    }
}
