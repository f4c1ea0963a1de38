//! Which failures end a call, which are retried on the same target, which fall over; and the
//! backoff between retries.

use super::classify::ErrorClass;
use crate::error::{Error, ErrorKind};
use std::time::Duration;

/// Which failures end the call, retry, or fall over (SPEC §8).
///
/// Every failed attempt has an [`ErrorClass`]. The classes in
/// [`fallover_classes`](Self::fallover_classes) fall over to the next target (after retries on
/// the same one for the retryable classes: `connection`, `timeout`, `server`, `rate_limit`);
/// the others end the call with the provider's reason. `quota` and `context_length` never retry
/// the same target: waiting does not change the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FalloverPolicy {
    /// HTTP statuses that end the call at once, whatever their class, unless the body names
    /// `context_length`, `content_policy` or `quota` (those follow `fallover_classes`).
    /// Default 400, 413, 422: the request itself is wrong, so the next target would refuse it
    /// too. A 4xx status removed from this list falls over.
    pub stop_statuses: Vec<u16>,
    /// The classes that fall over. Default: every class except `content_policy` and
    /// `bad_request`.
    pub fallover_classes: Vec<ErrorClass>,
}

impl Default for FalloverPolicy {
    fn default() -> Self {
        FalloverPolicy {
            stop_statuses: vec![400, 413, 422],
            fallover_classes: ErrorClass::default_fallover(),
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
    pub(crate) fn classify(&self, class: ErrorClass, status: Option<u16>) -> Disposition {
        let named_by_body =
            matches!(class, ErrorClass::ContextLength | ErrorClass::ContentPolicy | ErrorClass::Quota);
        if !named_by_body {
            match status {
                Some(s) if self.stop_statuses.contains(&s) => return Disposition::Stop,
                // The user took a request-error status off the stop list: it falls over.
                Some(_) if class == ErrorClass::BadRequest => return Disposition::Fallover,
                _ => {}
            }
        }
        // A 2xx answer that is not a completion will not improve on a retry.
        let answered_ok = status.is_some_and(|s| s < 300);
        if !self.fallover_classes.contains(&class) {
            Disposition::Stop
        } else if class.retryable() && !answered_ok {
            Disposition::Retry
        } else {
            Disposition::Fallover
        }
    }

    /// The kind for an HTTP error status from a chat target. `Error::kind_for_status` calls 409
    /// (and other statuses outside `stop_statuses` it files as `InvalidArgument`) a caller
    /// mistake; for an LLM target that falls over on them, they are the target's trouble.
    pub(crate) fn kind_for_status(&self, status: u16, class: ErrorClass) -> ErrorKind {
        match Error::kind_for_status(status) {
            // The prompt too long, or refused: the request is what is wrong.
            k @ ErrorKind::InvalidArgument
                if self.stop_statuses.contains(&status)
                    || matches!(class, ErrorClass::ContextLength | ErrorClass::ContentPolicy) =>
            {
                k
            }
            ErrorKind::InvalidArgument => ErrorKind::Unavailable,
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

    use ErrorClass as C;

    #[test]
    fn default_policy_matches_the_spec() {
        let p = FalloverPolicy::default();
        assert_eq!(p.classify(C::BadRequest, Some(400)), Disposition::Stop);
        assert_eq!(p.classify(C::BadRequest, Some(422)), Disposition::Stop);
        assert_eq!(p.classify(C::ContentPolicy, Some(400)), Disposition::Stop);
        assert_eq!(p.classify(C::ContextLength, Some(400)), Disposition::Fallover);
        assert_eq!(p.classify(C::Quota, Some(429)), Disposition::Fallover);
        for (c, s) in [(C::RateLimit, 429), (C::Server, 503), (C::Server, 409), (C::Timeout, 408)] {
            assert_eq!(p.classify(c, Some(s)), Disposition::Retry, "{s}");
        }
        assert_eq!(p.classify(C::Auth, Some(401)), Disposition::Fallover);
        assert_eq!(p.classify(C::NotFound, Some(404)), Disposition::Fallover);
        assert_eq!(p.classify(C::Timeout, None), Disposition::Retry);
        assert_eq!(p.classify(C::Connection, None), Disposition::Retry);
        assert_eq!(p.classify(C::BadRequest, Some(418)), Disposition::Fallover);
        assert_eq!(p.classify(C::Server, Some(200)), Disposition::Fallover);
        assert_eq!(p.kind_for_status(409, C::Server), ErrorKind::Unavailable);
        assert_eq!(p.kind_for_status(422, C::BadRequest), ErrorKind::InvalidArgument);
        assert_eq!(p.kind_for_status(400, C::ContextLength), ErrorKind::InvalidArgument);
        assert_eq!(p.kind_for_status(405, C::BadRequest), ErrorKind::Unavailable);
        assert_eq!(p.kind_for_status(401, C::Auth), ErrorKind::Unauthorized);
    }

    #[test]
    fn fallover_classes_are_configurable() {
        let p = FalloverPolicy {
            fallover_classes: vec![C::ContentPolicy, C::Server],
            ..FalloverPolicy::default()
        };
        assert_eq!(p.classify(C::ContentPolicy, Some(400)), Disposition::Fallover);
        assert_eq!(p.classify(C::ContextLength, Some(400)), Disposition::Stop);
        assert_eq!(p.classify(C::Auth, Some(401)), Disposition::Stop);
        let open = FalloverPolicy { stop_statuses: vec![], ..FalloverPolicy::default() };
        assert_eq!(open.classify(C::BadRequest, Some(400)), Disposition::Fallover);
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
