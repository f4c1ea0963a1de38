//! LLM fallback costs against the simulator (issue 7):
//! 1. overhead of a call through failsoft over a direct HTTP call to the same endpoint;
//! 2. time to an answer when the primary refuses connections, over the fallback's own latency;
//! 3. time to an answer when the primary hangs, with a 1 s per-attempt timeout;
//! 4. issue 12: for each provider fault, the time to a complete answer and the attempts per
//!    target, with failsoft's defaults and with a careful user's options.
//!
//! Run with `cargo bench -p failsoft --bench llm`; `bench/llm/run.sh` runs it and then the
//! official openai client on the same kind of dead primary, and prints both.

use failsoft::http::Http;
use failsoft::llm::{LlmClient, LlmOptions, StreamRecovery, Target};
use failsoft_sim::{Fault, FaultMode, Simulator};
use serde_json::{json, Value};
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
    let faults =
        if std::env::var_os("FAILSOFT_BENCH_FAULTS").is_some() { fault_table(&sim) } else { json!([]) };
    if let Ok(path) = std::env::var("FAILSOFT_BENCH_JSON") {
        let out = json!({"direct_ms": direct, "failsoft_ms": through, "refused_ms": refused, "hang_ms": hang,
                         "breaker_ms": skipped, "faults": faults});
        std::fs::write(path, out.to_string()).unwrap();
    }
}

/// The provider faults of issue 12, in the order bench/llm prints them: (name, stream, fault).
/// The same list is in bench/llm/openai_faults.py.
fn faults() -> Vec<(&'static str, bool, Fault)> {
    vec![
        ("stream ends without [DONE]", true, FaultMode::NoDone.into()),
        ("one malformed event in a stream", true, Fault::new(FaultMode::MalformedChunk).with_at(5)),
        ("stream cut at chunk 40 of 60", true, Fault::new(FaultMode::BreakStream).with_at(40)),
        ("stream stalls after 3 chunks", true, Fault::new(FaultMode::StallStream).with_at(3)),
        (
            "silent primary (first chunk after 20 s)",
            true,
            Fault::new(FaultMode::SlowFirstChunk).with_delay(Duration::from_secs(20)),
        ),
        ("400 context_length_exceeded", false, FaultMode::ContextLength.into()),
        ("400 content policy", false, FaultMode::ContentPolicy.into()),
        ("429 insufficient_quota", false, FaultMode::InsufficientQuota.into()),
        ("503 on every call", false, Fault::status(503)),
    ]
}

/// One call per fault and per option set: ms to a complete answer (or to the error), whether
/// it was complete, and the requests each target received.
fn fault_table(sim: &Simulator) -> Value {
    let primary = sim.openai_base_url("primary");
    let fallback = sim.openai_base_url("fallback");
    // 57 words + the target tag: 60 chunks with the role and finish chunks.
    let words: Vec<String> = (1..=57).map(|i| format!("w{i}")).collect();
    sim.set_openai_reply(&words.join(" "));
    sim.set_chunk_delay(Duration::from_millis(2));
    let targets = || vec![target(&primary, "gpt-4o"), target(&fallback, "gpt-4o-mini")];
    let defaults = LlmOptions::new(targets());
    let careful = LlmOptions {
        first_chunk_timeout: Some(Duration::from_secs(2)),
        stream_idle_timeout: Duration::from_secs(2),
        stream_recovery: StreamRecovery::Restart,
        ..LlmOptions::new(targets())
    };
    let request = json!({"model": "m", "messages": [{"role": "user", "content": "Count"}]});
    let mut rows = Vec::new();
    for (name, stream, fault) in faults() {
        let mut row = json!({"fault": name});
        for (label, options) in [("defaults", &defaults), ("careful", &careful)] {
            sim.clear_faults();
            sim.set_fault("/t/primary", fault.clone());
            sim.reset_counts();
            let client = LlmClient::new(options.clone()).unwrap();
            let t = Instant::now();
            let complete = if stream {
                match client.chat_stream(&request) {
                    Ok(mut s) => {
                        let mut text = String::new();
                        let mut ok = true;
                        while let Some(item) = s.next() {
                            match item {
                                Ok(c) => {
                                    if s.is_restart() {
                                        text.clear();
                                    }
                                    text.push_str(
                                        c.pointer("/choices/0/delta/content")
                                            .and_then(Value::as_str)
                                            .unwrap_or(""),
                                    );
                                }
                                Err(_) => ok = false,
                            }
                        }
                        ok && text.starts_with("w1 ") && text.contains("w57 [target=")
                    }
                    Err(_) => false,
                }
            } else {
                client.chat(&request).is_ok()
            };
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let hits = |t: &str| sim.request_count(&format!("/t/{t}/v1/chat/completions"));
            row[label] = json!({"ms": ms, "complete": complete, "primary": hits("primary"), "fallback": hits("fallback")});
        }
        rows.push(row);
    }
    sim.clear_faults();
    Value::Array(rows)
}
