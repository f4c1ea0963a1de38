//! Which failures end a call, which are retried on the same target, which fall over; and the
//! backoff between retries.

use crate::error::{Error, ErrorKind};
use std::time::Duration;

/// Which failures end the call, retry, or fall over (SPEC §8).
///
/// Falling over is the main tool: every failure falls over to the next target except the HTTP
/// statuses in [`stop_statuses`](Self::stop_statuses), which say the request itself is wrong.
/// Before falling over, the failures below are retried on the same target (up to
/// `LlmOptions::max_retries` times).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FalloverPolicy {
    /// HTTP statuses that end the call at once with that error, without retry or fallover: the
    /// request itself is wrong, so the next target would refuse it too. Default 400, 413, 422.
    /// Every other failure (connection errors, timeouts, invalid answers, any other status:
    /// 401, 403, 404, 408, 409, 429, 5xx, …) falls over.
    pub stop_statuses: Vec<u16>,
    /// HTTP statuses retried on the same target before falling over. Default 408, 409, 429 and
    /// 500–599.
    pub retry_statuses: Vec<u16>,
    /// Retry connection errors (refused, reset, DNS) on the same target. Default true.
    pub retry_connection_errors: bool,
    /// Retry attempts that timed out on the same target. Default true.
    pub retry_timeouts: bool,
}

impl Default for FalloverPolicy {
    fn default() -> Self {
        let mut retry_statuses = vec![408, 409, 429];
        retry_statuses.extend(500..=599);
        FalloverPolicy {
            stop_statuses: vec![400, 413, 422],
            retry_statuses,
            retry_connection_errors: true,
            retry_timeouts: true,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// End the call with this error.
    Stop,
    /// Retry on the same target if retries are left, else fall over.
    Retry,
    /// Fall over to the next target.
    Fallover,
}

impl FalloverPolicy {
    pub(crate) fn classify(&self, e: &Error) -> Disposition {
        match e.status {
            Some(s) if self.stop_statuses.contains(&s) => Disposition::Stop,
            Some(s) if self.retry_statuses.contains(&s) => Disposition::Retry,
            Some(_) => Disposition::Fallover,
            None => match e.kind {
                ErrorKind::Timeout if self.retry_timeouts => Disposition::Retry,
                ErrorKind::Unavailable if self.retry_connection_errors => Disposition::Retry,
                _ => Disposition::Fallover,
            },
        }
    }

    /// The kind for an HTTP error status from a chat target. `Error::kind_for_status` calls 409
    /// (and other statuses outside `stop_statuses` it files as `InvalidArgument`) a caller
    /// mistake; for an LLM target that falls over on them, they are the target's trouble.
    pub(crate) fn kind_for_status(&self, status: u16) -> ErrorKind {
        match Error::kind_for_status(status) {
            ErrorKind::InvalidArgument if !self.stop_statuses.contains(&status) => ErrorKind::Unavailable,
            k => k,
        }
    }
}

/// The wait before retry number `n` (0-based): `base × 2ⁿ`, capped at `max`, minus up to 25 %
/// jitter so that clients that failed together do not retry together.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let full = base.saturating_mul(1u32 << n.min(20)).min(max);
    full.mul_f64(1.0 - 0.25 * fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> Error {
        Error::new(Error::kind_for_status(s), "x").with_status(s)
    }

    #[test]
    fn default_policy_matches_the_spec() {
        let p = FalloverPolicy::default();
        for s in [400, 413, 422] {
            assert_eq!(p.classify(&status(s)), Disposition::Stop, "{s}");
        }
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert_eq!(p.classify(&status(s)), Disposition::Retry, "{s}");
        }
        for s in [401, 403, 404] {
            assert_eq!(p.classify(&status(s)), Disposition::Fallover, "{s}");
        }
        assert_eq!(p.classify(&Error::timeout("t")), Disposition::Retry);
        assert_eq!(p.classify(&Error::unavailable("refused")), Disposition::Retry);
        assert_eq!(p.classify(&Error::invalid_response("junk")), Disposition::Fallover);
        assert_eq!(p.kind_for_status(409), ErrorKind::Unavailable);
        assert_eq!(p.kind_for_status(422), ErrorKind::InvalidArgument);
        assert_eq!(p.kind_for_status(401), ErrorKind::Unauthorized);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let ms = Duration::from_millis;
        for _ in 0..50 {
            let b0 = backoff(ms(200), ms(2000), 0);
            assert!(b0 >= ms(150) && b0 <= ms(200), "{b0:?}");
            let b1 = backoff(ms(200), ms(2000), 1);
            assert!(b1 >= ms(300) && b1 <= ms(400), "{b1:?}");
            assert!(backoff(ms(200), ms(2000), 40) <= ms(2000));
        }
    }
}
