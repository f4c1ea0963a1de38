//! How long a failing key waits before its next fetch.

use super::Inner;
use crate::error::{Error, ErrorKind};
use std::time::Duration;

impl Inner {
    /// 1 s doubling to 30 s with up to 50 % jitter; 5 minutes while unauthorized; never shorter
    /// than a `Retry-After` the server asked for (up to the cap).
    pub(super) fn backoff(&self, err: &Error, failures: u32) -> Duration {
        if err.kind == ErrorKind::Unauthorized {
            return self.opts.auth_retry_interval;
        }
        let exp = self.opts.backoff_base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        let capped = exp.min(self.opts.backoff_cap);
        let jittered = capped.mul_f64(1.0 - 0.5 * fastrand::f64());
        match err.retry_after {
            Some(ra) => jittered.max(ra.min(self.opts.backoff_cap)),
            None => jittered,
        }
    }
}
