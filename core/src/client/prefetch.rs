//! Fetching many keys at start-up, each bounded by one deadline (fail fast).

use super::{Inner, PrefetchError};
use crate::error::Error;
use crate::key::Key;
use crate::value::{Value, ValueSource};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Inner {
    pub(super) fn prefetch(
        &self,
        keys: &[Key],
        deadline: Duration,
    ) -> std::result::Result<Vec<Value>, PrefetchError> {
        self.ensure_runtime();
        let until = Instant::now() + deadline;
        let mut pending = Vec::with_capacity(keys.len());
        for key in keys {
            let started = self.source.validate_key(key).map(|()| {
                let entry = self.lookup(key).unwrap_or_else(|| self.insert(key, self.ttl));
                entry.note_read(self.ms(Instant::now()), entry.ttl());
                let flight = self.join_or_start(&entry, None);
                (entry, flight)
            });
            pending.push((key, started));
        }
        let mut values = Vec::with_capacity(keys.len());
        let mut failures = Vec::new();
        let mut succeeded = Vec::new();
        for (key, started) in pending {
            let outcome = match started {
                Ok((entry, flight)) => match flight.wait_until(until) {
                    Some(Ok(p)) => Ok(p),
                    Some(Err(e)) => Err(Error::clone(&e)),
                    None => {
                        entry.cold_failed.store(entry.current.load().is_none(), Ordering::Relaxed);
                        Err(Error::timeout(format!("no answer within {:.3}s", deadline.as_secs_f64())))
                    }
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(p) => {
                    succeeded.push(key.clone());
                    values.push(Value { payload: p, source: ValueSource::Fresh, error: None });
                }
                Err(e) => failures.push((key.clone(), if e.key.is_empty() { e.with_key(key) } else { e })),
            }
        }
        if failures.is_empty() {
            Ok(values)
        } else {
            Err(PrefetchError { failures, succeeded })
        }
    }
}
