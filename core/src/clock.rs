//! The read path's clock. A warm read only needs to know whether a value is older than its TTL
//! (seconds, or at least tens of milliseconds), so it reads the kernel's coarse monotonic clock:
//! a few nanoseconds instead of a full clock read, at the cost of up to one scheduler tick (1–4 ms)
//! of lag. Fetch times use the precise clock of the same timebase.

#[cfg(target_os = "linux")]
fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; both clock ids exist on every Linux ≥ 2.6.32.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds on the monotonic clock, to the kernel tick.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC_COARSE)
}

/// Nanoseconds on the monotonic clock, precise.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn precise_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC)
}

#[cfg(not(target_os = "linux"))]
static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn precise_ns() -> u64 {
    BASE.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    precise_ns()
}

#[cfg(test)]
mod tests {
    #[test]
    fn coarse_lags_precise_by_at_most_a_tick() {
        let p = super::precise_ns();
        let c = super::coarse_ns();
        assert!(c + 20_000_000 >= p, "coarse {c} vs precise {p}");
        let later = super::precise_ns();
        assert!(later >= p);
    }
}
