//! The generic HTTP JSON source: `GET /kv/{key}` with ETag / If-None-Match.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::request::Incoming;
use crate::util;
use crate::wire::{Api, Reply};

struct Entry {
    value: Value,
    version: u64,
}

/// The key-value documents served under `/kv/`.
#[derive(Default)]
pub(crate) struct KvStore {
    entries: BTreeMap<String, Entry>,
}

impl KvStore {
    /// Loads the fixture's `kv` section: `{"key": {"value": <json>, "version": <int, default 1>}}`.
    pub fn from_fixture(section: Option<&Value>) -> Result<KvStore, String> {
        let mut store = KvStore::default();
        let Some(section) = section.filter(|s| !s.is_null()) else { return Ok(store) };
        let map = section.as_object().ok_or("fixture 'kv' must be an object")?;
        for (key, entry) in map {
            let value = entry.get("value").ok_or_else(|| format!("fixture kv '{key}' has no 'value'"))?;
            let version = util::u64_field(entry, "version")?.unwrap_or(1);
            store.entries.insert(key.clone(), Entry { value: value.clone(), version });
        }
        Ok(store)
    }

    /// Sets `key`; `version` defaults to the old version + 1 (1 for a new key). Returns the version.
    pub fn set(&mut self, key: &str, value: Value, version: Option<u64>) -> u64 {
        let version = version.unwrap_or_else(|| self.entries.get(key).map_or(1, |e| e.version + 1));
        self.entries.insert(key.to_owned(), Entry { value, version });
        version
    }

    /// Deletes `key`; false if it did not exist.
    pub fn delete(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    /// Answers a data request under `/kv/`.
    pub fn handle(&self, request: &Incoming) -> Reply {
        if request.method != "GET" && request.method != "HEAD" {
            return Reply::error(Api::Kv, 405, &format!("method not allowed: {}", request.method));
        }
        let key = util::decode(request.path.strip_prefix("/kv/").unwrap_or_default());
        let Some(entry) = self.entries.get(&key) else {
            return Reply::error(Api::Kv, 404, &format!("key not found: '{key}'"));
        };
        let etag = format!("\"{}\"", entry.version);
        let reply = if request.header("if-none-match").is_some_and(|h| etag_matches(h, &etag)) {
            Reply::empty(304)
        } else {
            Reply::json(200, &entry.value)
        };
        reply.with_header("ETag", etag).with_header("X-Version", entry.version.to_string())
    }

    pub fn to_json(&self) -> Value {
        self.entries
            .iter()
            .map(|(k, e)| (k.clone(), json!({"value": e.value, "version": e.version})))
            .collect()
    }
}

/// `If-None-Match` semantics: a list of (possibly weak) tags, or `*`.
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_list_and_weak_tags_match() {
        assert!(etag_matches("\"3\"", "\"3\""));
        assert!(etag_matches("W/\"3\"", "\"3\""));
        assert!(etag_matches("\"1\", \"3\"", "\"3\""));
        assert!(etag_matches("*", "\"3\""));
        assert!(!etag_matches("\"2\"", "\"3\""));
    }

    #[test]
    fn version_defaults_to_old_plus_one() {
        let mut store = KvStore::from_fixture(Some(&json!({"a": {"value": 1, "version": 4}}))).unwrap();
        assert_eq!(store.set("a", json!(2), None), 5);
        assert_eq!(store.set("b", json!(2), None), 1);
        assert_eq!(store.set("b", json!(3), Some(9)), 9);
    }
}
