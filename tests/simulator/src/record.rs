//! What the data port received: request counts per path and the last requests to each path.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::request::Incoming;
use crate::util;

/// How many requests are kept per path.
pub(crate) const KEPT_PER_PATH: usize = 50;

/// Request counts of the data port, as `GET /_sim/counts` shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every request the data port received, faulted ones included.
    pub total: u64,
    /// Per path as received (percent-encoded, without the query string).
    pub paths: BTreeMap<String, u64>,
}

impl Counts {
    /// The count of `path`, compared percent-decoded, so `/kv/a%20b` and `/kv/a b` are one path.
    pub fn of(&self, path: &str) -> u64 {
        let wanted = util::decode(path);
        self.paths.iter().filter(|(p, _)| util::decode(p) == wanted).map(|(_, n)| n).sum()
    }

    pub fn to_json(&self) -> Value {
        json!({"total": self.total, "paths": self.paths})
    }
}

#[derive(Default)]
struct Log {
    counts: Counts,
    seq: u64,
    requests: HashMap<String, VecDeque<(u64, Value)>>,
}

#[derive(Default)]
pub(crate) struct Recorder {
    log: Mutex<Log>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, request: &Incoming) {
        let mut log = self.lock();
        log.counts.total += 1;
        *log.counts.paths.entry(request.path.clone()).or_default() += 1;
        log.seq += 1;
        let seq = log.seq;
        let kept = log.requests.entry(request.path.clone()).or_default();
        if kept.len() == KEPT_PER_PATH {
            kept.pop_front();
        }
        kept.push_back((seq, request.to_record()));
    }

    pub fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    /// Forgets counts and recorded requests.
    pub fn reset(&self) {
        *self.lock() = Log::default();
    }

    /// The last requests to `path` (compared percent-decoded; `None`: every path), oldest first.
    pub fn requests(&self, path: Option<&str>) -> Vec<Value> {
        let wanted = path.map(util::decode);
        let log = self.lock();
        let mut found: Vec<&(u64, Value)> = log
            .requests
            .iter()
            .filter(|(p, _)| wanted.is_none() || wanted.as_deref() == Some(util::decode(p).as_str()))
            .flat_map(|(_, kept)| kept.iter())
            .collect();
        found.sort_by_key(|(seq, _)| *seq);
        let skip = found.len().saturating_sub(KEPT_PER_PATH);
        found.into_iter().skip(skip).map(|(_, r)| r.clone()).collect()
    }
}
