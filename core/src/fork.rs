//! Fork detection. Threads do not survive `fork()`: a child must start its own refresher on first
//! use and must never touch the parent's (SPEC §9). A `pthread_atfork` child handler bumps a
//! generation the read path compares with one relaxed load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Installs the handler (once per process; idempotent).
pub(crate) fn register() {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` only touches an atomic, which is async-signal-safe after fork.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// How many forks this process descends from.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}
