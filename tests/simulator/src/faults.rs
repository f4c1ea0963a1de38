//! Fault switches: what a data route does instead of (or before) answering normally.
//!
//! A fault is set on a route, a path prefix matched segment by segment (`/kv/a` matches `/kv/a` and
//! `/kv/a/b`, never `/kv/ab`) against the request path as received or percent-decoded; `*` matches
//! every data route. The longest matching route wins and `*` is the last resort.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util;

/// The route that matches every data path.
pub const ALL_ROUTES: &str = "*";

/// What a faulted route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// No fault: setting it removes the route's fault.
    Healthy,
    /// On `*`: the data port is closed (connection refused). On a route: the connection is
    /// accepted, the request read, and the connection closed without an answer.
    Refused,
    /// An error answer with this HTTP status and the route's error body.
    Status(u16),
    /// No answer until the fault is changed or removed (then a normal answer) or the simulator stops.
    Hang,
    /// A normal answer after `delay`.
    Slow,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with a valid JSON body of 17 MiB, over failsoft's 16 MiB cap.
    Oversized,
    /// The normal answer's headers and half its body (Content-Length is the full size), then close.
    Truncated,
    /// The normal answer's headers, then nothing until the fault is changed or removed.
    HangStream,
    /// A streamed answer broken after `at` events (default 2; a plain body: after half), with
    /// no terminating chunk and no `[DONE]`, connection closed.
    BreakStream,
    /// A stream that sends `at` events (default 2), then nothing until released like `hang`.
    StallStream,
    /// A stream with `times` (default 1) events that are not JSON, from event `at` (default 2).
    MalformedChunk,
    /// A whole stream (finish reason, usage when asked) without `data: [DONE]`, then closed.
    NoDone,
    /// A stream whose headers come at once and whose first event comes after `delay_ms`.
    SlowFirstChunk,
    /// 400 `{"error":{"code":"context_length_exceeded",…}}`.
    ContextLength,
    /// 400 `{"error":{"code":"content_policy_violation",…}}`.
    ContentPolicy,
    /// 429 `{"error":{"code":"insufficient_quota","type":"insufficient_quota",…}}`.
    InsufficientQuota,
}

impl FaultMode {
    /// Parses a mode name as used by the control API (`"503"`, `"hang"`, ...).
    pub fn parse(name: &str) -> Result<FaultMode, String> {
        Ok(match name {
            "healthy" => FaultMode::Healthy,
            "refused" => FaultMode::Refused,
            "hang" => FaultMode::Hang,
            "slow" => FaultMode::Slow,
            "garbage" => FaultMode::Garbage,
            "oversized" => FaultMode::Oversized,
            "truncated" => FaultMode::Truncated,
            "hang_stream" => FaultMode::HangStream,
            "break_stream" => FaultMode::BreakStream,
            "stall_stream" => FaultMode::StallStream,
            "malformed_chunk" => FaultMode::MalformedChunk,
            "no_done" => FaultMode::NoDone,
            "slow_first_chunk" => FaultMode::SlowFirstChunk,
            "context_length" => FaultMode::ContextLength,
            "content_policy" => FaultMode::ContentPolicy,
            "insufficient_quota" => FaultMode::InsufficientQuota,
            _ => match name.parse::<u16>() {
                Ok(code) if (400..=599).contains(&code) => FaultMode::Status(code),
                _ => return Err(format!("unknown fault mode '{name}'")),
            },
        })
    }

    /// The name the control API uses for this mode.
    pub fn name(&self) -> String {
        match self {
            FaultMode::Healthy => "healthy".into(),
            FaultMode::Refused => "refused".into(),
            FaultMode::Status(code) => code.to_string(),
            FaultMode::Hang => "hang".into(),
            FaultMode::Slow => "slow".into(),
            FaultMode::Garbage => "garbage".into(),
            FaultMode::Oversized => "oversized".into(),
            FaultMode::Truncated => "truncated".into(),
            FaultMode::HangStream => "hang_stream".into(),
            FaultMode::BreakStream => "break_stream".into(),
            FaultMode::StallStream => "stall_stream".into(),
            FaultMode::MalformedChunk => "malformed_chunk".into(),
            FaultMode::NoDone => "no_done".into(),
            FaultMode::SlowFirstChunk => "slow_first_chunk".into(),
            FaultMode::ContextLength => "context_length".into(),
            FaultMode::ContentPolicy => "content_policy".into(),
            FaultMode::InsufficientQuota => "insufficient_quota".into(),
        }
    }
}

/// A fault with its options. Build with [`Fault::new`] or [`Fault::status`] and the `with_*` methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What the route does.
    pub mode: FaultMode,
    /// Waited before answering, in every mode (it is the whole point of `slow`).
    pub delay: Duration,
    /// `Retry-After` header value sent with error statuses.
    pub retry_after: Option<String>,
    /// `retry-after-ms` header value sent with error statuses.
    pub retry_after_ms: Option<u64>,
    /// Applies to the next `count` matching requests only, then the route heals itself.
    pub count: Option<u32>,
    /// For stream modes: the event index where the fault strikes (`break_stream`,
    /// `stall_stream`: events sent before it; `malformed_chunk`: the first bad event).
    pub at: Option<u32>,
    /// `malformed_chunk`: how many bad events in a row (default 1).
    pub times: Option<u32>,
    /// The fault heals itself this long after it was set ("down for S seconds, then healthy").
    pub for_duration: Option<Duration>,
    /// Only requests whose JSON body has this `model` (a chat completion's) are faulted.
    pub model: Option<String>,
}

impl Fault {
    /// A fault in `mode` with no delay, no retry headers and no count.
    pub fn new(mode: FaultMode) -> Fault {
        Fault {
            mode,
            delay: Duration::ZERO,
            retry_after: None,
            retry_after_ms: None,
            count: None,
            at: None,
            times: None,
            for_duration: None,
            model: None,
        }
    }

    /// An error answer with `code` (400..=599).
    pub fn status(code: u16) -> Fault {
        Fault::new(FaultMode::Status(code))
    }

    /// Waits `delay` before answering.
    pub fn with_delay(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Applies to the next `count` matching requests only.
    pub fn with_count(mut self, count: u32) -> Fault {
        self.count = Some(count);
        self
    }

    /// Strikes at event `at` of a stream.
    pub fn with_at(mut self, at: u32) -> Fault {
        self.at = Some(at);
        self
    }

    /// `malformed_chunk`: this many bad events in a row.
    pub fn with_times(mut self, times: u32) -> Fault {
        self.times = Some(times);
        self
    }

    /// Only for requests whose body names this `model`.
    pub fn for_model(mut self, model: impl Into<String>) -> Fault {
        self.model = Some(model.into());
        self
    }

    /// Heals itself `d` after it was set.
    pub fn for_duration(mut self, d: Duration) -> Fault {
        self.for_duration = Some(d);
        self
    }

    /// Sends `Retry-After: <value>` with the error.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Fault {
        self.retry_after = Some(value.into());
        self
    }

    /// Sends `retry-after-ms: <ms>` with the error.
    pub fn with_retry_after_ms(mut self, ms: u64) -> Fault {
        self.retry_after_ms = Some(ms);
        self
    }

    /// Parses the body of `POST /_sim/fault`:
    /// `{"route","mode","delay_ms","retry_after","retry_after_ms","count","at","times","for_ms"}`.
    pub fn from_json(body: &Value) -> Result<(String, Fault), String> {
        let route = util::required_str(body, "route")?.to_owned();
        let mode = match body.get("mode") {
            Some(Value::String(s)) => FaultMode::parse(s)?,
            Some(Value::Number(n)) => FaultMode::parse(&n.to_string())?,
            _ => return Err("'mode' must be a string".into()),
        };
        let retry_after = match body.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err("'retry_after' must be a number or a string".into()),
        };
        let count = util::u64_field(body, "count")?
            .map(|c| match u32::try_from(c) {
                Ok(c) if c > 0 => Ok(c),
                _ => Err("'count' must be between 1 and 2^32-1".to_string()),
            })
            .transpose()?;
        Ok((
            route,
            Fault {
                mode,
                delay: Duration::from_millis(util::u64_field(body, "delay_ms")?.unwrap_or(0)),
                retry_after,
                retry_after_ms: util::u64_field(body, "retry_after_ms")?,
                count,
                at: small(body, "at")?,
                times: small(body, "times")?,
                for_duration: util::u64_field(body, "for_ms")?.map(Duration::from_millis),
                model: util::str_field(body, "model").map(str::to_owned),
            },
        ))
    }

    fn to_json(&self, route: &str, remaining: Option<u32>) -> Value {
        json!({
            "route": route,
            "mode": self.mode.name(),
            "delay_ms": self.delay.as_millis() as u64,
            "retry_after": self.retry_after,
            "retry_after_ms": self.retry_after_ms,
            "count": remaining,
            "at": self.at,
            "times": self.times,
            "for_ms": self.for_duration.map(|d| d.as_millis() as u64),
            "model": self.model,
        })
    }
}

fn small(body: &Value, name: &str) -> Result<Option<u32>, String> {
    util::u64_field(body, name)?
        .map(|v| u32::try_from(v).map_err(|_| format!("'{name}' is too large")))
        .transpose()
}

impl From<FaultMode> for Fault {
    fn from(mode: FaultMode) -> Fault {
        Fault::new(mode)
    }
}

/// A fault picked for one request, with what it needs to wait for its route to heal.
#[derive(Clone, Debug)]
pub(crate) struct Applied {
    pub fault: Fault,
    pub release: Release,
}

/// Identifies the fault setting a hung request waits on: it is released when that route's fault
/// is set again (any mode, `healthy` included) or all faults are cleared.
#[derive(Clone, Debug)]
pub(crate) struct Release {
    route: String,
    generation: u64,
    epoch: u64,
}

struct Entry {
    route: String,
    fault: Fault,
    remaining: Option<u32>,
    /// When a `for_ms` fault heals itself.
    until: Option<Instant>,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    generations: HashMap<String, u64>,
    epoch: u64,
    stopping: bool,
}

impl Table {
    fn generation(&self, route: &str) -> u64 {
        self.generations.get(route).copied().unwrap_or(0)
    }

    fn is_released(&self, release: &Release) -> bool {
        self.epoch != release.epoch || self.generation(&release.route) != release.generation
    }
}

/// The fault table shared by the data handlers and the control API.
#[derive(Default)]
pub(crate) struct Faults {
    table: Mutex<Table>,
    changed: Condvar,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or with `healthy` removes) the fault of `route` (for its model, when it names one),
    /// releasing requests hung on it.
    pub fn set(&self, route: &str, fault: Fault) {
        let mut table = self.lock();
        table.entries.retain(|e| e.route != route || e.fault.model != fault.model);
        *table.generations.entry(route.to_owned()).or_default() += 1;
        if fault.mode != FaultMode::Healthy && fault.count != Some(0) {
            let remaining = fault.count;
            let until = fault.for_duration.map(|d| Instant::now() + d);
            table.entries.push(Entry { route: route.to_owned(), fault, remaining, until });
        }
        self.changed.notify_all();
    }

    /// Removes every fault, releasing every hung request.
    pub fn clear(&self) {
        let mut table = self.lock();
        table.entries.clear();
        table.epoch += 1;
        self.changed.notify_all();
    }

    /// Releases every hung request for good: the simulator is stopping.
    pub fn stop(&self) {
        self.lock().stopping = true;
        self.changed.notify_all();
    }

    /// True while the data port must stay closed (`refused` on `*`).
    pub fn all_refused(&self) -> bool {
        self.lock().entries.iter().any(|e| e.route == ALL_ROUTES && e.fault.mode == FaultMode::Refused)
    }

    /// Picks the fault for a request to `path` (as received, without the query) and uses up one
    /// of its `count`. A count-limited fault that reaches zero is removed.
    #[cfg(test)]
    pub fn take(&self, path: &str) -> Option<Applied> {
        self.take_for(path, None)
    }

    /// Like [`take`](Self::take) for a request whose body names `model`: faults set for another
    /// model are passed over.
    pub fn take_for(&self, path: &str, model: Option<&str>) -> Option<Applied> {
        let decoded = util::decode(path);
        let mut table = self.lock();
        let now = Instant::now();
        table.entries.retain(|e| e.until.is_none_or(|u| now < u));
        let index = table
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| route_matches(&e.route, path) || route_matches(&e.route, &decoded))
            .filter(|(_, e)| e.fault.model.is_none() || e.fault.model.as_deref() == model)
            .max_by_key(|(_, e)| if e.route == ALL_ROUTES { 0 } else { e.route.len() + 1 })
            .map(|(i, _)| i)?;
        let entry = &mut table.entries[index];
        let fault = entry.fault.clone();
        let route = entry.route.clone();
        if let Some(remaining) = entry.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                table.entries.remove(index);
            }
        }
        let release = Release { generation: table.generation(&route), epoch: table.epoch, route };
        Some(Applied { fault, release })
    }

    /// Blocks until `release` happens (true) or the simulator stops (false).
    pub fn wait_released(&self, release: &Release) -> bool {
        let mut table = self.lock();
        loop {
            if table.stopping {
                return false;
            }
            if table.is_released(release) {
                return true;
            }
            table = self.changed.wait(table).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The active faults, for `GET /_sim/faults`.
    pub fn to_json(&self) -> Value {
        let table = self.lock();
        table.entries.iter().map(|e| e.fault.to_json(&e.route, e.remaining)).collect()
    }
}

fn route_matches(route: &str, path: &str) -> bool {
    if route == ALL_ROUTES || route == path {
        return true;
    }
    path.strip_prefix(route).is_some_and(|rest| route.ends_with('/') || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_segments_only() {
        assert!(route_matches("/kv/a", "/kv/a"));
        assert!(route_matches("/kv/a", "/kv/a/b"));
        assert!(route_matches("/kv/", "/kv/ab"));
        assert!(!route_matches("/kv/a", "/kv/ab"));
        assert!(route_matches("*", "/anything"));
    }

    #[test]
    fn longest_route_wins_and_star_is_last() {
        let faults = Faults::default();
        faults.set("*", Fault::status(500));
        faults.set("/kv", Fault::status(502));
        faults.set("/kv/a", Fault::status(503));
        assert_eq!(faults.take("/kv/a").unwrap().fault.mode, FaultMode::Status(503));
        assert_eq!(faults.take("/kv/b").unwrap().fault.mode, FaultMode::Status(502));
        assert_eq!(faults.take("/t/x").unwrap().fault.mode, FaultMode::Status(500));
    }

    #[test]
    fn decoded_route_matches_encoded_path() {
        let faults = Faults::default();
        faults.set("/api/public/v2/prompts/folder/x y ü", Fault::status(500));
        assert!(faults.take("/api/public/v2/prompts/folder%2Fx%20y%20%C3%BC").is_some());
    }

    #[test]
    fn count_limited_fault_heals_itself() {
        let faults = Faults::default();
        faults.set("/kv/a", Fault::status(500).with_count(2));
        assert!(faults.take("/kv/a").is_some());
        assert!(faults.take("/kv/a").is_some());
        assert!(faults.take("/kv/a").is_none());
    }

    #[test]
    fn a_timed_fault_heals_itself() {
        let faults = Faults::default();
        faults.set("/t/p", Fault::status(503).for_duration(Duration::from_millis(30)));
        assert!(faults.take("/t/p/v1/chat/completions").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(faults.take("/t/p/v1/chat/completions").is_none());
    }

    #[test]
    fn parses_control_body() {
        let (route, fault) = Fault::from_json(&json!({"route": "/kv/a", "mode": 429, "retry_after": 2,
            "retry_after_ms": 1500, "count": 1, "delay_ms": 10}))
        .unwrap();
        assert_eq!(route, "/kv/a");
        assert_eq!(
            fault,
            Fault::status(429)
                .with_retry_after("2")
                .with_retry_after_ms(1500)
                .with_count(1)
                .with_delay(Duration::from_millis(10))
        );
        assert!(Fault::from_json(&json!({"route": "*", "mode": "explode"})).is_err());
        assert!(Fault::from_json(&json!({"route": "*", "mode": "200"})).is_err());
    }
}
