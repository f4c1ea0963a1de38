//! What a read returns: the data plus where it came from.

use crate::error::Error;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Where a read's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueSource {
    /// Fetched within the TTL.
    Fresh,
    /// Older than the TTL; a background refresh is under way or backing off.
    Stale,
    /// Read from the last-known-good snapshot on disk.
    Snapshot,
    /// The caller's hardcoded fallback.
    Fallback,
}

impl ValueSource {
    pub const ALL: [ValueSource; 4] =
        [ValueSource::Fresh, ValueSource::Stale, ValueSource::Snapshot, ValueSource::Fallback];

    /// The source named `name` (its `as_str`); `None` for any other text.
    pub fn parse(name: &str) -> Option<ValueSource> {
        ValueSource::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        // The names are ASCII C string literals, so the bytes without the NUL are UTF-8.
        std::str::from_utf8(self.as_c_str().to_bytes()).unwrap_or_default()
    }

    /// The name NUL-terminated, for C (`failsoft_value_source`).
    pub fn as_c_str(self) -> &'static CStr {
        match self {
            ValueSource::Fresh => c"fresh",
            ValueSource::Stale => c"stale",
            ValueSource::Snapshot => c"snapshot",
            ValueSource::Fallback => c"fallback",
        }
    }
}

crate::serial::serialize_as_str!(ValueSource);

/// One fetched value. Aligned to its own cache lines: every warm read bumps the reference count of
/// the `Arc<Payload>` it returns, and two reading cores must not share a line.
///
/// A clone is a copy of the same fetch: it shares `data` (never copies the JSON) and keeps the
/// fetch's `stamp`. The warm read hands each reading thread its own copy, so a hot key's reference
/// count is not one cache line every core writes. Two reads carry the same fetched data when
/// `Arc::ptr_eq(&a.data, &b.data)` ([`Value::same_payload`]), never by the `Arc<Payload>` pointer.
#[derive(Clone, Debug)]
#[repr(align(128))]
pub struct Payload {
    /// Shared so a 304 or a renewal re-dates the value without copying it.
    pub data: Arc<serde_json::Value>,
    /// The source's version number, when it has one.
    pub version: Option<i64>,
    /// The validator for conditional requests.
    pub etag: Option<String>,
    /// When the data was fetched (monotonic; TTL decisions use this).
    pub fetched_at: Instant,
    /// The same moment in nanoseconds of the monotonic clock (the warm read's comparison).
    pub(crate) fetched_ns: u64,
    /// When the data was fetched (wall clock; snapshots carry this across restarts).
    pub fetched_wall: SystemTime,
    /// `data` as JSON text, made on first request and shared by every copy of this payload, so
    /// C's `failsoft_value_json` serializes once per fetch instead of once per read.
    text: Arc<OnceLock<CString>>,
    /// Which fetch this is: unique per construction, kept by clones. A thread's copy is current
    /// while its stamp is the entry's.
    pub(crate) stamp: u64,
}

/// Stamps start at 1; 0 means "no payload" in an entry.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

impl Payload {
    pub fn new(data: serde_json::Value, version: Option<i64>, etag: Option<String>) -> Self {
        Payload::shared(Arc::new(data), version, etag)
    }

    /// A payload fetched now, reusing already shared data.
    pub fn shared(data: Arc<serde_json::Value>, version: Option<i64>, etag: Option<String>) -> Self {
        let fetched_ns = crate::clock::precise_ns();
        Payload {
            data,
            version,
            etag,
            fetched_at: Instant::now(),
            fetched_ns,
            fetched_wall: SystemTime::now(),
            text: Arc::default(),
            stamp: next_stamp(),
        }
    }

    /// A payload fetched `age` ago (snapshots).
    pub fn aged(
        data: serde_json::Value,
        version: Option<i64>,
        etag: Option<String>,
        fetched_wall: SystemTime,
    ) -> Self {
        let age = SystemTime::now().duration_since(fetched_wall).unwrap_or_default();
        let now = Instant::now();
        let fetched_at = now.checked_sub(age).unwrap_or(now);
        let fetched_ns = crate::clock::precise_ns().saturating_sub(age.as_nanos() as u64);
        Payload {
            data: Arc::new(data),
            version,
            etag,
            fetched_at,
            fetched_ns,
            fetched_wall,
            text: Arc::default(),
            stamp: next_stamp(),
        }
    }

    /// A payload fetched `age` ago by another process of the fleet (age judged by Redis time).
    pub(crate) fn aged_by(
        data: Arc<serde_json::Value>,
        version: Option<i64>,
        etag: Option<String>,
        age: Duration,
    ) -> Self {
        let now = Instant::now();
        Payload {
            data,
            version,
            etag,
            fetched_at: now.checked_sub(age).unwrap_or(now),
            fetched_ns: crate::clock::precise_ns().saturating_sub(age.as_nanos() as u64),
            fetched_wall: SystemTime::now().checked_sub(age).unwrap_or_else(SystemTime::now),
            text: Arc::default(),
            stamp: next_stamp(),
        }
    }

    /// The same fetch (times, version, validator) with other data (owned or already shared).
    pub fn with_data(&self, data: impl Into<Arc<serde_json::Value>>) -> Payload {
        Payload {
            data: data.into(),
            version: self.version,
            etag: self.etag.clone(),
            fetched_at: self.fetched_at,
            fetched_ns: self.fetched_ns,
            fetched_wall: self.fetched_wall,
            text: Arc::default(),
            stamp: next_stamp(),
        }
    }

    pub fn age(&self) -> Duration {
        self.fetched_at.elapsed()
    }

    /// The data as compact JSON text, NUL-terminated for C (JSON escapes a NUL inside a string,
    /// so the text never holds one). Made by the first caller, then shared.
    pub fn json_text(&self) -> &CStr {
        self.text.get_or_init(|| {
            CString::new(self.data.to_string()).expect("compact JSON text never contains a NUL byte")
        })
    }

    /// Whether both are the same fetch result: one payload or copies of it (each reading thread
    /// gets its own copy, so comparing `Arc<Payload>` pointers no longer says this). A renewal
    /// that kept the data is another fetch.
    pub fn same_fetch(&self, other: &Payload) -> bool {
        self.stamp == other.stamp
    }
}

/// The result of a read.
#[derive(Clone, Debug)]
pub struct Value {
    pub payload: Arc<Payload>,
    pub source: ValueSource,
    /// Why the value is not fresh from the backend, when a fetch failed.
    pub error: Option<Arc<Error>>,
}

impl Value {
    pub fn data(&self) -> &serde_json::Value {
        &self.payload.data
    }

    pub fn version(&self) -> Option<i64> {
        self.payload.version
    }

    /// Whether both reads carry the same fetched data (true across threads, which each get their
    /// own copy of a payload, and across a renewal that kept the data).
    pub fn same_payload(&self, other: &Value) -> bool {
        Arc::ptr_eq(&self.payload.data, &other.payload.data)
    }

    /// Whether `other` is the same read as `self`: the same fetch (each thread's copy of a
    /// payload counts as the same), source and error. A door keeps the object it built for a
    /// read and hands it out again while this holds, so the same read is the same object.
    pub fn same_read(&self, other: &Value) -> bool {
        self.payload.same_fetch(&other.payload)
            && self.source == other.source
            && same_error(&self.error, &other.error)
    }

    pub fn is_fallback(&self) -> bool {
        self.source == ValueSource::Fallback
    }

    /// Seconds since the data was fetched; `None` for a fallback.
    pub fn age(&self) -> Option<Duration> {
        if self.is_fallback() {
            None
        } else {
            Some(self.payload.age())
        }
    }

    pub fn age_seconds(&self) -> Option<f64> {
        self.age().map(|d| d.as_secs_f64())
    }

    /// A fallback value built from caller data.
    pub fn fallback(data: serde_json::Value, error: Option<Arc<Error>>) -> Self {
        Value { payload: Arc::new(Payload::new(data, None, None)), source: ValueSource::Fallback, error }
    }

    /// The value as JSON with its metadata (its serde form, see `impl Serialize`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a value always serializes")
    }
}

/// Whether two reads carry the same error, or none. Each reading thread holds its own copy of a
/// stale key's error, so copies are compared by content when they are not the same `Arc`.
pub(crate) fn same_error(a: &Option<Arc<Error>>, b: &Option<Arc<Error>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || **a == **b,
        _ => false,
    }
}

/// The shape the CLI prints, C hands out and the bindings convert:
/// `{"value", "source", "is_fallback", "version", "age", "error"}` (`error` is the [`Error`] JSON).
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Value", 6)?;
        s.serialize_field("value", &*self.payload.data)?;
        s.serialize_field("source", &self.source)?;
        s.serialize_field("is_fallback", &self.is_fallback())?;
        s.serialize_field("version", &self.payload.version)?;
        s.serialize_field("age", &self.age_seconds())?;
        s.serialize_field("error", &self.error.as_deref())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale(payload: &Arc<Payload>, error: &Error) -> Value {
        let payload = Arc::new(Payload::clone(payload));
        Value { payload, source: ValueSource::Stale, error: Some(Arc::new(error.clone())) }
    }

    #[test]
    fn two_threads_copies_of_one_stale_read_are_the_same_read_and_another_error_is_not() {
        let p = Arc::new(Payload::new(serde_json::json!({"a": 1}), Some(1), None));
        let down = Error::unavailable("down");
        assert!(stale(&p, &down).same_read(&stale(&p, &down)), "copies of payload and error");
        assert!(!stale(&p, &down).same_read(&stale(&p, &Error::timeout("slow"))), "another error");
        let fresh = Value { payload: p.clone(), source: ValueSource::Fresh, error: None };
        assert!(!fresh.same_read(&stale(&p, &down)), "another source");
        let refetched = Arc::new(Payload::new(serde_json::json!({"a": 1}), Some(1), None));
        assert!(!stale(&refetched, &down).same_read(&stale(&p, &down)), "another fetch");
    }
}
