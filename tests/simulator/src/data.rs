//! The data port's request loop: record the request, apply its route's fault, answer.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::faults::{Applied, Fault, FaultMode};
use crate::request::Incoming;
use crate::shared::Shared;
use crate::wire::{Api, Delivery, Output, Reply};

/// Takes requests from `server` until the simulator stops; each is handled on its own thread so
/// a hung or slow request never delays another.
pub(crate) fn serve(shared: Arc<Shared>, server: Arc<tiny_http::Server>) {
    loop {
        match server.recv() {
            Ok(request) => {
                let shared = shared.clone();
                thread::spawn(move || handle(&shared, request));
            }
            Err(_) if shared.stopping() => return,
            Err(e) => {
                shared.log(&format!("data server error: {e}"));
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn handle(shared: &Shared, mut request: tiny_http::Request) {
    let incoming = Incoming::read(&mut request);
    shared.recorder.record(&incoming);
    let output = Output::new(request, &shared.relay);
    let model =
        crate::request::body_value(&incoming.body).get("model").and_then(|m| m.as_str().map(str::to_owned));
    let applied = shared.faults.take_for(&incoming.path, model.as_deref());
    let mode = applied.as_ref().map_or_else(|| "ok".to_owned(), |a| a.fault.mode.name());
    shared.log(&format!("{} {} [{mode}]", incoming.method, incoming.path));
    match plan(shared, &incoming, applied.as_ref()) {
        Some((reply, delivery)) => {
            let release = || applied.as_ref().is_some_and(|a| shared.faults.wait_released(&a.release));
            output.send(&reply, delivery, release);
        }
        None => output.close(),
    }
}

/// What to answer and how much of it; `None` closes the connection without an answer.
fn plan(shared: &Shared, request: &Incoming, applied: Option<&Applied>) -> Option<(Reply, Delivery)> {
    let Some(Applied { fault, release }) = applied else {
        return Some((answer(shared, request), Delivery::Whole));
    };
    if !fault.delay.is_zero() && fault.mode != FaultMode::SlowFirstChunk {
        thread::sleep(fault.delay);
    }
    let at = |default: u32| fault.at.unwrap_or(default) as usize;
    Some(match fault.mode {
        FaultMode::Healthy | FaultMode::Slow => (answer(shared, request), Delivery::Whole),
        FaultMode::Refused => return None,
        FaultMode::Hang => {
            if !shared.faults.wait_released(release) {
                return None;
            }
            (answer(shared, request), Delivery::Whole)
        }
        FaultMode::Status(code) => (fault_error(Api::of(&request.path), code, fault), Delivery::Whole),
        FaultMode::Garbage => (Reply::garbage(), Delivery::Whole),
        FaultMode::Oversized => (Reply::oversized(), Delivery::Whole),
        FaultMode::Truncated => (answer(shared, request), Delivery::Cut),
        FaultMode::BreakStream => (answer(shared, request), Delivery::CutAt(at(2))),
        FaultMode::HangStream => (answer(shared, request), Delivery::HoldAfterHead),
        FaultMode::StallStream => (answer(shared, request), Delivery::StallAt(at(2))),
        FaultMode::SlowFirstChunk => (answer(shared, request), Delivery::DelayAfterHead(fault.delay)),
        FaultMode::MalformedChunk => {
            let mut reply = answer(shared, request);
            reply.insert_events(at(2), fault.times.unwrap_or(1) as usize, "data: {\"choices\": [oops not json\n\n");
            (reply, Delivery::Whole)
        }
        FaultMode::NoDone => {
            let mut reply = answer(shared, request);
            reply.drop_done();
            (reply, Delivery::Whole)
        }
        FaultMode::ContextLength => (
            Reply::openai_error(
                400,
                "context_length_exceeded",
                "invalid_request_error",
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            ),
            Delivery::Whole,
        ),
        FaultMode::ContentPolicy => (
            Reply::openai_error(
                400,
                "content_policy_violation",
                "invalid_request_error",
                "Your request was rejected as a result of our safety system.",
            ),
            Delivery::Whole,
        ),
        FaultMode::InsufficientQuota => (
            Reply::openai_error(
                429,
                "insufficient_quota",
                "insufficient_quota",
                "You exceeded your current quota, please check your plan and billing details.",
            ),
            Delivery::Whole,
        ),
    })
}

/// The route's error answer for a `Status` fault, with the retry headers it asks for.
fn fault_error(api: Api, code: u16, fault: &Fault) -> Reply {
    let mut reply = Reply::error(api, code, &format!("simulated fault: HTTP {code}"));
    if let Some(seconds) = &fault.retry_after {
        reply = reply.with_header("Retry-After", seconds.clone());
    }
    if let Some(ms) = fault.retry_after_ms {
        reply = reply.with_header("retry-after-ms", ms.to_string());
    }
    reply
}

/// The normal answer of the route.
fn answer(shared: &Shared, request: &Incoming) -> Reply {
    let mut stores = shared.stores();
    match Api::of(&request.path) {
        Api::Kv => stores.kv.handle(request),
        Api::Langfuse => stores.langfuse.handle(request),
        Api::Opik => stores.opik.handle(request),
        Api::OpenAi => stores.openai.handle(request),
        Api::Other => Reply::error(Api::Other, 404, &format!("no such route: {}", request.path)),
    }
}
