//! SPEC §8 against failsoft-sim's OpenAI fault modes: one test per provider fault of issue 12.

use failsoft::llm::{ErrorClass, LlmClient, LlmOptions, StreamRecovery, Target};
use failsoft::ErrorKind;
use failsoft_sim::{Fault, FaultMode, Simulator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sim() -> Simulator {
    let sim = Simulator::start_default();
    sim.set_chunk_delay(ms(1));
    sim
}

fn target(sim: &Simulator, name: &str) -> Target {
    Target::new(sim.openai_base_url(name)).api_key("sk-test-key")
}

fn client(sim: &Simulator, f: impl FnOnce(LlmOptions) -> LlmOptions) -> LlmClient {
    let o = LlmOptions::new(vec![target(sim, "primary"), target(sim, "fallback")]);
    LlmClient::new(f(LlmOptions { retry_backoff: ms(10), ..o })).unwrap()
}

fn request(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

fn fault(sim: &Simulator, route: &str, f: Fault) {
    sim.set_fault(route, f);
}

/// The text of a stream's chunks, restarting at each restart marker (what a UI shows).
fn read_stream(s: &mut failsoft::llm::ChatStream) -> (String, u32, Option<failsoft::Error>) {
    let mut text = String::new();
    let mut markers = 0;
    while let Some(item) = s.next() {
        match item {
            Ok(chunk) => {
                if s.is_restart() {
                    markers += 1;
                    text.clear();
                }
                if let Some(t) = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                    text.push_str(t);
                }
            }
            Err(e) => return (text, markers, Some(e)),
        }
    }
    (text, markers, None)
}

fn hits(sim: &Simulator, target: &str) -> u64 {
    sim.request_count(&format!("/t/{target}/v1/chat/completions"))
}

const HELLO: &str = "Hello from the simulator";

#[test]
fn a_stream_closed_after_its_finish_reason_without_done_is_complete_with_usage() {
    let sim = sim();
    fault(&sim, "/t/primary", FaultMode::NoDone.into());
    let c = client(&sim, |o| o);
    let mut req = request("m");
    req["stream_options"] = json!({"include_usage": true});
    let mut s = c.chat_stream(&req).unwrap();
    let chunks: Vec<Value> = s.by_ref().map(Result::unwrap).collect();
    assert!(s.done() && !s.incomplete());
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 5);
    let text: String =
        chunks.iter().filter_map(|c| c.pointer("/choices/0/delta/content")?.as_str()).collect();
    assert_eq!(text, format!("{HELLO} [target=primary]"));
}

#[test]
fn a_close_before_the_finish_reason_is_still_a_break() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::BreakStream).with_at(3));
    let mut s = client(&sim, |o| o).chat_stream(&request("m")).unwrap();
    let (_, markers, e) = read_stream(&mut s);
    let e = e.expect("a cut stream ends with an error");
    assert!(e.message.contains("incomplete"), "{e}");
    assert_eq!(markers, 0);
    assert!(s.incomplete());
}

#[test]
fn malformed_events_are_skipped_and_counted() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::MalformedChunk).with_at(2).with_times(2));
    let mut s = client(&sim, |o| o).chat_stream(&request("m")).unwrap();
    let (text, _, e) = read_stream(&mut s);
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text, format!("{HELLO} [target=primary]"));
    assert_eq!(s.malformed(), 2);
}

#[test]
fn too_many_malformed_events_are_a_break() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::MalformedChunk).with_at(2).with_times(4));
    let mut s = client(&sim, |o| o).chat_stream(&request("m")).unwrap();
    let (_, _, e) = read_stream(&mut s);
    let e = e.expect("a break");
    assert_eq!(e.kind, ErrorKind::InvalidResponse);
    assert!(e.message.contains("malformed") && e.message.contains("incomplete"), "{e}");
}

#[test]
fn a_stream_stalled_after_its_first_chunks_breaks_after_the_idle_timeout() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::StallStream).with_at(3));
    let c = client(&sim, |o| LlmOptions { stream_idle_timeout: ms(300), ..o });
    let mut s = c.chat_stream(&request("m")).unwrap();
    let start = Instant::now();
    let (_, _, e) = read_stream(&mut s);
    let e = e.expect("a stall is a break");
    assert!(start.elapsed() >= ms(250) && start.elapsed() < ms(1500), "{:?}", start.elapsed());
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("incomplete") && e.message.contains("stalled"), "{e}");
    assert_eq!(s.attempts().last().unwrap().class, Some(ErrorClass::Timeout));
}

fn sixty_chunks(sim: &Simulator) {
    // Role chunk + 57 words + "[target=x]" + finish chunk = 60 events.
    let words: Vec<String> = (1..=57).map(|i| format!("w{i}")).collect();
    sim.set_openai_reply(&words.join(" "));
}

#[test]
fn restart_mode_ends_a_stream_cut_at_chunk_40_of_60_with_the_whole_fallback_text() {
    let sim = sim();
    sixty_chunks(&sim);
    fault(&sim, "/t/primary", Fault::new(FaultMode::BreakStream).with_at(40));
    let c = client(&sim, |o| LlmOptions { stream_recovery: StreamRecovery::Restart, ..o });
    let mut s = c.chat_stream(&request("m")).unwrap();
    let (text, markers, e) = read_stream(&mut s);
    assert!(e.is_none(), "{e:?}");
    assert_eq!(markers, 1);
    assert_eq!(s.restarts(), 1);
    assert!(text.starts_with("w1 w2 ") && text.ends_with("w57 [target=fallback]"), "{text}");
    assert_eq!(s.chunks(), 40 + 60);
    assert!(s.is_fallback() && s.done());
    let a = s.attempts();
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].target, a[0].class), (0, Some(ErrorClass::Connection)));
    assert_eq!((a[1].target, a[1].class), (1, None));
}

#[test]
fn error_mode_ends_the_same_cut_with_an_incomplete_error() {
    let sim = sim();
    sixty_chunks(&sim);
    fault(&sim, "/t/primary", Fault::new(FaultMode::BreakStream).with_at(40));
    let mut s = client(&sim, |o| o).chat_stream(&request("m")).unwrap();
    let (_, markers, e) = read_stream(&mut s);
    assert!(e.unwrap().message.contains("incomplete after 40 chunks"));
    assert_eq!(markers, 0);
    assert_eq!(hits(&sim, "fallback"), 0);
}

#[test]
fn a_call_can_ask_for_restart_when_the_client_says_error() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::StallStream).with_at(3));
    let c = client(&sim, |o| LlmOptions { stream_idle_timeout: ms(200), ..o });
    let call = failsoft::llm::CallOptions { stream_recovery: Some(StreamRecovery::Restart) };
    let mut s = c.chat_stream_with(&request("m"), call).unwrap();
    let (text, markers, e) = read_stream(&mut s);
    assert!(e.is_none(), "{e:?}");
    assert_eq!((markers, text), (1, format!("{HELLO} [target=fallback]")));
}

#[test]
fn context_length_falls_over_without_retrying_the_same_target() {
    let sim = sim();
    fault(&sim, "/t/primary", FaultMode::ContextLength.into());
    let r = client(&sim, |o| o).chat(&request("m")).unwrap();
    assert_eq!(r.served_by.index, 1);
    assert_eq!(hits(&sim, "primary"), 1);
    assert_eq!(r.attempts[0].class, Some(ErrorClass::ContextLength));
    assert_eq!(r.attempts[0].status, Some(400));
}

#[test]
fn other_400s_still_stop_the_call() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::status(400));
    let e = client(&sim, |o| o).chat(&request("m")).unwrap_err();
    assert_eq!((e.kind(), e.class), (ErrorKind::InvalidArgument, Some(ErrorClass::BadRequest)));
    assert_eq!(hits(&sim, "fallback"), 0);
}

#[test]
fn content_policy_stops_with_the_providers_reason_unless_the_user_lets_it_fall_over() {
    let sim = sim();
    fault(&sim, "/t/primary", FaultMode::ContentPolicy.into());
    let e = client(&sim, |o| o).chat(&request("m")).unwrap_err();
    assert_eq!(e.class, Some(ErrorClass::ContentPolicy));
    assert!(e.error.message.contains("safety system"), "{e}");
    assert_eq!(hits(&sim, "fallback"), 0);
    let mut policy = failsoft::llm::FalloverPolicy::default();
    policy.fallover_classes.push(ErrorClass::ContentPolicy);
    let r = client(&sim, |o| LlmOptions { policy, ..o }).chat(&request("m")).unwrap();
    assert_eq!(r.served_by.index, 1);
}

#[test]
fn insufficient_quota_falls_over_at_once_without_retry() {
    let sim = sim();
    fault(&sim, "/t/primary", FaultMode::InsufficientQuota.into());
    let c = client(&sim, |o| LlmOptions { max_retries: 3, ..o });
    let r = c.chat(&request("m")).unwrap();
    assert_eq!(r.served_by.index, 1);
    assert_eq!(hits(&sim, "primary"), 1);
    assert_eq!(r.attempts[0].class, Some(ErrorClass::Quota));
}

#[test]
fn a_silent_primary_costs_the_first_chunk_timeout_then_the_fallback_streams() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::new(FaultMode::SlowFirstChunk).with_delay(ms(3000)));
    let c = client(&sim, |o| LlmOptions { first_chunk_timeout: Some(ms(300)), ..o });
    let start = Instant::now();
    let mut s = c.chat_stream(&request("m")).unwrap();
    assert!(start.elapsed() < ms(1500), "{:?}", start.elapsed());
    let (text, _, e) = read_stream(&mut s);
    assert!(e.is_none());
    assert_eq!(text, format!("{HELLO} [target=fallback]"));
    assert_eq!(s.attempts()[0].class, Some(ErrorClass::Timeout));
}

#[test]
fn the_default_first_chunk_timeout_is_finite_and_at_most_15s() {
    let o = LlmOptions::default();
    assert!(o.first_chunk_timeout.is_some_and(|t| t <= Duration::from_secs(15)));
    assert!(o.stream_idle_timeout <= Duration::from_secs(30));
    assert_eq!(o.breaker_cooldown, Duration::from_secs(5));
}

#[test]
fn one_client_two_models_a_failing_model_never_sends_the_other_to_the_fallback() {
    let sim = sim();
    fault(&sim, "/t/primary", Fault::status(503).for_model("bad"));
    let c = client(&sim, |o| LlmOptions { max_retries: 0, breaker_threshold: 2, ..o });
    for _ in 0..5 {
        assert_eq!(c.chat(&request("bad")).unwrap().served_by.index, 1);
        assert_eq!(c.chat(&request("good")).unwrap().served_by.index, 0);
    }
    let states = c.circuit_states_by_model();
    assert!(states.contains(&(0, Some("bad".into()), failsoft::llm::CircuitState::Open)), "{states:?}");
    assert!(states.contains(&(0, Some("good".into()), failsoft::llm::CircuitState::Closed)), "{states:?}");
}

#[test]
fn a_primary_down_for_a_while_under_steady_calls_is_probed_once_per_cooldown_and_used_again_on_recovery() {
    // The 20 s outage and 5 s cooldown, scaled down: 1.5 s down, 300 ms cooldown.
    let sim = sim();
    let cooldown = ms(300);
    let down = ms(1500);
    fault(&sim, "/t/primary", Fault::status(503).for_duration(down));
    let set_at = Instant::now();
    let c = client(&sim, |o| LlmOptions { max_retries: 0, breaker_cooldown: cooldown, ..o });
    let mut primary_hits_while_open = Vec::new();
    let mut back_on_primary: Option<Instant> = None;
    while set_at.elapsed() < down + cooldown * 3 {
        let r = c.chat(&request("m")).expect("every call is answered");
        let tried_primary = r.attempts.iter().any(|a| a.target == 0 && !a.skipped);
        if tried_primary && set_at.elapsed() < down {
            primary_hits_while_open.push(set_at.elapsed());
        }
        if r.served_by.index == 0 && back_on_primary.is_none() {
            back_on_primary = Some(Instant::now());
        }
        std::thread::sleep(ms(10));
    }
    // 3 failures open the breaker; after that, at most one probe per cooldown.
    let probes = &primary_hits_while_open[3.min(primary_hits_while_open.len())..];
    for w in probes.windows(2) {
        assert!(w[1] - w[0] >= cooldown - ms(20), "two primary attempts {:?} apart", w[1] - w[0]);
    }
    assert!(probes.len() as u32 <= (down.as_millis() / cooldown.as_millis()) as u32 + 1, "{probes:?}");
    let back = back_on_primary.expect("back on the primary").duration_since(set_at);
    assert!(back <= down + cooldown + ms(100), "back on the primary after {back:?}");
}

#[test]
fn a_streams_progress_snapshot_follows_each_step_through_a_restart_to_its_end() {
    let sim = sim();
    sixty_chunks(&sim);
    fault(&sim, "/t/primary", Fault::new(FaultMode::BreakStream).with_at(40));
    let c = client(&sim, |o| LlmOptions { stream_recovery: StreamRecovery::Restart, ..o });
    let mut s = c.chat_stream(&request("m")).unwrap();
    let opened = s.progress();
    assert_eq!((opened.served_by.index, opened.is_fallback, opened.chunks), (0, false, 0));
    assert_eq!(opened.attempts.len(), 1);
    let mut restarted = None;
    while let Some(item) = s.next() {
        item.unwrap();
        let p = s.progress();
        // One snapshot, the same answers as the stream's getters after every step.
        assert_eq!((p.chunks, p.restarts, p.is_restart), (s.chunks(), s.restarts(), s.is_restart()));
        assert_eq!((&p.served_by, p.attempts.as_slice()), (s.served_by(), s.attempts()));
        if p.is_restart {
            restarted = Some(p);
        }
    }
    let r = restarted.expect("a restart chunk");
    assert_eq!((r.served_by.index, r.is_fallback, r.restarts, r.chunks), (1, true, 1, 41));
    assert_eq!(r.attempts[0].class, Some(ErrorClass::Connection));
    let end = s.progress();
    assert!(end.done && !end.incomplete && !end.is_restart, "{end:?}");
    // The serde form every door converts: core's names, the attempts as core serializes them.
    let v = serde_json::to_value(&end).unwrap();
    assert_eq!(v["served_by"]["index"], 1);
    assert_eq!(
        (v["is_fallback"].clone(), v["restarts"].clone(), v["done"].clone()),
        (json!(true), json!(1), json!(true))
    );
    assert_eq!(v["attempts"][0]["class"], "connection");
    assert_eq!(v["attempts"][0]["error_kind"], "Unavailable");
    assert_eq!(v["chunks"], 100);
}

#[test]
fn a_broken_streams_progress_says_incomplete_with_the_broken_attempt_last() {
    let sim = sim();
    sixty_chunks(&sim);
    fault(&sim, "/t/primary", Fault::new(FaultMode::BreakStream).with_at(40));
    let mut s = client(&sim, |o| o).chat_stream(&request("m")).unwrap();
    let (_, _, e) = read_stream(&mut s);
    let p = s.progress();
    assert!(e.is_some() && p.incomplete && !p.done, "{p:?}");
    assert_eq!((p.served_by.index, p.chunks, p.attempts.len()), (0, 40, 1));
    assert_eq!(p.attempts[0].error_kind, Some(ErrorKind::Unavailable));
}
