//! Redis connections and the fleet's operations on them. Every call is bounded (connect, read
//! and write timeouts), passes the breaker, and returns an error text scrubbed of the password.
//! A connection that failed is dropped, never reused (its reply may still be in flight).

use super::breaker::Breaker;
use super::options::FleetOptions;
use super::scripts;
use crate::entry::lock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Idle connections kept per process: the refresh workers plus a cold fetch or two.
const POOL_MAX: usize = 8;

/// A shared entry as Redis holds it.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    /// The JSON text, when it differs from what the caller has.
    pub data: Option<String>,
    pub version: Option<i64>,
    pub etag: Option<String>,
    /// Age by Redis time.
    pub age: Duration,
}

/// What `claim` decided.
#[derive(Debug)]
pub(crate) enum Claim {
    /// The shared entry is fresh: adopt it.
    Fresh(Shared),
    /// This process holds the lease and fetches; `fails` failed fetches precede it fleet-wide.
    Leased { shared: Option<Shared>, fails: u32 },
    /// Another process holds the lease for `left`.
    Busy { shared: Option<Shared>, left: Duration },
    /// Read mode: the entry is not fresh (or `None`: there is none).
    Stale(Option<Shared>),
}

/// What `publish` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
    Written,
    /// A higher version is stored; nothing written.
    Older,
    /// A renewal found no entry (the store was emptied).
    Missing,
    /// A write-back found an entry already there.
    Exists,
}

/// What the value being published is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write<'a> {
    New {
        version: Option<i64>,
        etag: Option<&'a str>,
        data: &'a str,
    },
    /// A 304: only fetched-at is renewed.
    Same {
        version: Option<i64>,
    },
    /// A value `age` old written back into an emptied store.
    Restore {
        version: Option<i64>,
        etag: Option<&'a str>,
        data: &'a str,
        age: Duration,
    },
}

pub(crate) struct Store {
    client: redis::Client,
    pool: Mutex<Vec<redis::Connection>>,
    /// The pid the pooled connections belong to: a forked child opens its own.
    pid: AtomicU32,
    timeout: Duration,
    retention_ms: u64,
    password: Option<String>,
    pub(crate) breaker: Breaker,
}

fn version_arg(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Store {
    pub(crate) fn new(o: &FleetOptions) -> crate::Result<Store> {
        let client = redis::Client::open(o.redis_url.trim()).map_err(|_| {
            crate::Error::invalid_argument(format!(
                "fleet.redis_url is not a valid Redis URL: {:?}",
                super::redact_url(&o.redis_url)
            ))
        })?;
        Ok(Store {
            client,
            pool: Mutex::new(Vec::new()),
            pid: AtomicU32::new(std::process::id()),
            timeout: o.store_timeout,
            retention_ms: o.retention.as_millis() as u64,
            password: o.password(),
            breaker: Breaker::new(o.breaker_failures, o.breaker_probe),
        })
    }

    /// The error text with the password (raw or percent-encoded) removed.
    pub(crate) fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(pw) if text.contains(pw.as_str()) => text.replace(pw.as_str(), "***"),
            _ => text,
        }
    }

    /// A new connection with every timeout set.
    pub(crate) fn connect(&self, timeout: Duration) -> redis::RedisResult<redis::Connection> {
        let con = self.client.get_connection_with_timeout(timeout)?;
        con.set_read_timeout(Some(timeout))?;
        con.set_write_timeout(Some(timeout))?;
        Ok(con)
    }

    fn take(&self) -> redis::RedisResult<redis::Connection> {
        let pid = std::process::id();
        {
            let mut pool = lock(&self.pool);
            if self.pid.load(Ordering::Relaxed) != pid {
                // The parent's sockets: forgetting them leaves the parent's connections intact.
                for c in pool.drain(..) {
                    std::mem::forget(c);
                }
                self.pid.store(pid, Ordering::Relaxed);
            }
            if let Some(c) = pool.pop() {
                return Ok(c);
            }
        }
        self.connect(self.timeout)
    }

    fn give_back(&self, con: redis::Connection) {
        let mut pool = lock(&self.pool);
        if pool.len() < POOL_MAX && self.pid.load(Ordering::Relaxed) == std::process::id() {
            pool.push(con);
        }
    }

    /// Runs `f` on a pooled connection through the breaker. `Err` carries a scrubbed reason.
    pub(crate) fn call<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        if !self.breaker.allow() {
            return Err("the shared store is down (breaker open)".into());
        }
        let result = self.take().and_then(|mut con| {
            let r = f(&mut con);
            if r.is_ok() {
                self.give_back(con);
            }
            r
        });
        match result {
            Ok(v) => {
                self.breaker.success();
                Ok(v)
            }
            Err(e) => {
                let why = self.scrub(e.to_string());
                self.breaker.failure(&why);
                Err(why)
            }
        }
    }

    pub(crate) fn claim(
        &self,
        names: &KeyNames,
        fresh: Duration,
        lease: Duration,
        token: &str,
        read_only: bool,
        ours: Option<(Option<i64>, Option<&str>)>,
    ) -> Result<Claim, String> {
        // "\u{1}" never equals a stored version, so a caller with nothing gets the data.
        let (our_v, our_etag) = match ours {
            Some((v, e)) => (version_arg(v), e.unwrap_or("").to_string()),
            None => ("\u{1}".to_string(), String::new()),
        };
        type Reply = (String, i64, String, String, i64, i64, String, i64);
        let (status, age, v, etag, fails, has, data, pttl): Reply = self.call(|con| {
            scripts::CLAIM
                .key(&names.entry)
                .key(&names.lease)
                .arg(fresh.as_millis() as u64)
                .arg(lease.as_millis().max(1) as u64)
                .arg(token)
                .arg(if read_only { "read" } else { "share" })
                .arg(&our_v)
                .arg(&our_etag)
                .invoke(con)
        })?;
        let shared = (age >= 0).then(|| Shared {
            data: (has == 1).then_some(data),
            version: v.parse().ok(),
            etag: (!etag.is_empty()).then_some(etag),
            age: Duration::from_millis(age as u64),
        });
        Ok(match status.as_str() {
            "fresh" => Claim::Fresh(shared.ok_or("fresh claim without an entry")?),
            "leased" => Claim::Leased { shared, fails: fails.clamp(0, 64) as u32 },
            "busy" => Claim::Busy { shared, left: Duration::from_millis(pttl.max(1) as u64) },
            _ => Claim::Stale(shared),
        })
    }

    pub(crate) fn publish(
        &self,
        names: &KeyNames,
        token: &str,
        write: Write<'_>,
        channel: &str,
        key: &str,
    ) -> Result<Published, String> {
        let (kind, v, etag, data, age) = match write {
            Write::New { version, etag, data } => ("new", version, etag, data, Duration::ZERO),
            Write::Same { version } => ("same", version, None, "", Duration::ZERO),
            Write::Restore { version, etag, data, age } => ("restore", version, etag, data, age),
        };
        let r: String = self.call(|con| {
            scripts::PUBLISH
                .key(&names.entry)
                .key(&names.lease)
                .arg(token)
                .arg(kind)
                .arg(version_arg(v))
                .arg(etag.unwrap_or(""))
                .arg(data)
                .arg(self.retention_ms)
                .arg(channel)
                .arg(key)
                .arg(age.as_millis() as u64)
                .invoke(con)
        })?;
        Ok(match r.as_str() {
            "older" => Published::Older,
            "missing" => Published::Missing,
            "exists" => Published::Exists,
            _ => Published::Written,
        })
    }

    pub(crate) fn fail(&self, names: &KeyNames, token: &str, hold: Duration) -> Result<(), String> {
        let _: i64 = self.call(|con| {
            scripts::FAIL
                .key(&names.entry)
                .key(&names.lease)
                .arg(token)
                .arg(hold.as_millis().max(1) as u64)
                .invoke(con)
        })?;
        Ok(())
    }

    pub(crate) fn invalidate(&self, names: &KeyNames, channel: &str, key: &str) -> Result<(), String> {
        let _: i64 = self.call(|con| {
            scripts::INVALIDATE.key(&names.entry).key(&names.lease).arg(channel).arg(key).invoke(con)
        })?;
        Ok(())
    }
}

/// The Redis keys of one failsoft key. One hash tag covers both, so they share a Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct KeyNames {
    pub entry: String,
    pub lease: String,
}

impl KeyNames {
    pub(crate) fn new(prefix: &str, identity_hash: &str, key: &str) -> Self {
        let tag = format!("{prefix}:v1:{{{identity_hash}:{key}}}");
        KeyNames { entry: format!("{tag}:e"), lease: format!("{tag}:lease") }
    }
}
