//! The refresh threads' life: started on first use, restarted in a forked child, stopped by
//! `close()`.

use super::Inner;
use crate::entry::lock;
use crate::error::Error;
use crate::fleet;
use crate::fork;
use crate::runtime::{Runtime, TimerKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl Inner {
    /// Starts the threads on first use, and again in a forked child (threads do not survive
    /// `fork()`; the parent's are never touched).
    #[inline]
    pub(super) fn ensure_runtime(&self) {
        if self.runtime_gen.load(Ordering::Acquire) != fork::generation() + 1 {
            self.start_runtime();
        }
    }

    #[cold]
    pub(super) fn start_runtime(&self) {
        let _g = lock(&self.runtime_start);
        let gen = fork::generation() + 1;
        if self.closed.load(Ordering::SeqCst) || self.runtime_gen.load(Ordering::Acquire) == gen {
            return;
        }
        let forked = self.runtime_gen.load(Ordering::Acquire) != 0;
        match Runtime::start(self.me.clone(), self.opts.refresh_workers) {
            Ok(rt) => {
                // In a forked child the parent's runtime is just forgotten: its threads are gone.
                self.runtime.store(Some(rt.clone()));
                self.runtime_gen.store(gen, Ordering::Release);
                if self.fleet.is_some() {
                    fleet::start_subscriber(self.me.clone());
                }
                if forked {
                    self.adopt_after_fork(&rt);
                }
            }
            Err(e) => log::error!("could not start failsoft's refresh threads: {e}"),
        }
    }

    /// In a forked child: fetches and queued refreshes of the parent died with its threads.
    pub(super) fn adopt_after_fork(&self, rt: &Runtime) {
        for entry in self.map.load().values() {
            entry.refresh_queued.store(false, Ordering::Relaxed);
            if let Ok(mut c) = entry.control.try_lock() {
                if let Some(f) = c.flight.take() {
                    f.finish(Err(Arc::new(Error::unavailable("fetch interrupted by fork()"))));
                }
            }
            if let Some(p) = entry.current.load_full() {
                let ttl = entry.ttl();
                if !ttl.is_zero() {
                    let seq = entry.fetch_seq.load(Ordering::SeqCst);
                    rt.schedule(p.fetched_at + ttl.mul_f64(0.75), TimerKind::Ahead, entry.clone(), seq);
                }
            }
        }
    }

    pub(super) fn close(&self) {
        // Before the idempotence check: a close from inside a listener, then one from the owner,
        // still leaves no call running once the owner's returns.
        self.listeners.clear();
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _g = lock(&self.runtime_start);
        if let Some(rt) = self.runtime.swap(None) {
            // Only stop threads this process started.
            if self.runtime_gen.load(Ordering::Acquire) == fork::generation() + 1 {
                rt.stop(Duration::from_millis(500));
            }
        }
    }
}
