//! The `on_change` listener registry, with a lifetime every door can rely on: once
//! [`Listeners::remove`] (or [`Listeners::clear`], on close) returns, the listener is not running
//! on any other thread and is never called again, so a caller may free whatever it captured (a
//! C `user_data`, a Python callable).
//!
//! Delivery reads the list without a lock (an `ArcSwap` snapshot) and marks each listener
//! running under its own small mutex only around the call's start and end, never across it: a
//! listener may take its time, call back into the client, or remove listeners (itself
//! included). Removal waits for calls in progress on *other* threads; a listener removing itself
//! from inside its own call does not wait for that call (it would wait for itself), so the one
//! exception to "not running once remove returns" is the caller's own frame.

use arc_swap::ArcSwap;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

type Callback<T> = Box<dyn Fn(&T) + Send + Sync>;

/// Whether a listener may still be called, and how many calls of it are under way.
#[derive(Default)]
struct Calls {
    removed: bool,
    running: usize,
}

struct Registered<T> {
    id: u64,
    callback: Callback<T>,
    calls: Mutex<Calls>,
    idle: Condvar,
}

thread_local! {
    /// The listeners (by address) whose call this thread is inside: removing one of them from
    /// inside it must not wait for that call.
    static INSIDE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl<T> Registered<T> {
    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Calls the listener unless it was removed; a panic is returned as `Err` (the caller logs).
    fn call(&self, event: &T) -> std::thread::Result<()> {
        {
            let mut c = self.calls();
            if c.removed {
                return Ok(());
            }
            c.running += 1;
        }
        let _ = INSIDE.try_with(|v| v.borrow_mut().push(self.addr()));
        let result = catch_unwind(AssertUnwindSafe(|| (self.callback)(event)));
        let _ = INSIDE.try_with(|v| v.borrow_mut().pop());
        let mut c = self.calls();
        c.running -= 1;
        if c.running == 0 {
            self.idle.notify_all();
        }
        result
    }

    /// Refuses further calls, then waits for the calls in progress on other threads.
    fn shut(&self) {
        let mine = INSIDE.try_with(|v| v.borrow().iter().filter(|a| **a == self.addr()).count()).unwrap_or(0);
        let mut c = self.calls();
        c.removed = true;
        while c.running > mine {
            c = self.idle.wait(c).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The listeners of one client, called with events of type `T`.
pub(crate) struct Listeners<T> {
    list: ArcSwap<Vec<Arc<Registered<T>>>>,
    next_id: AtomicU64,
}

impl<T> Default for Listeners<T> {
    fn default() -> Self {
        Listeners { list: ArcSwap::from_pointee(Vec::new()), next_id: AtomicU64::new(0) }
    }
}

impl<T> Listeners<T> {
    /// Registers `callback`; returns its id.
    pub(crate) fn add(&self, callback: impl Fn(&T) + Send + Sync + 'static) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let added = Arc::new(Registered {
            id,
            callback: Box::new(callback),
            calls: Mutex::default(),
            idle: Condvar::new(),
        });
        self.list.rcu(|old| {
            let mut v = Vec::clone(old);
            v.push(added.clone());
            v
        });
        id
    }

    /// Unregisters listener `id` and waits until no call of it runs on another thread. Whether it
    /// was registered.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut gone = None;
        self.list.rcu(|old| {
            gone = old.iter().find(|r| r.id == id).cloned();
            old.iter().filter(|r| r.id != id).cloned().collect::<Vec<_>>()
        });
        match gone {
            Some(r) => {
                r.shut();
                true
            }
            None => false,
        }
    }

    /// Unregisters every listener, waiting as [`Listeners::remove`] does (a closed client
    /// delivers nothing more).
    pub(crate) fn clear(&self) {
        for r in self.list.swap(Arc::new(Vec::new())).iter() {
            r.shut();
        }
    }

    /// Calls every registered listener with `event`; `on_panic` is told about each that panicked
    /// (it is ignored otherwise).
    pub(crate) fn notify(&self, event: &T, on_panic: impl Fn()) {
        for r in self.list.load().iter() {
            if r.call(event).is_err() {
                on_panic();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_listener_removing_itself_from_its_own_call_does_not_wait_for_itself() {
        let listeners: Arc<Listeners<u32>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let (l, n) = (Arc::downgrade(&listeners), calls.clone());
        let id = Arc::new(AtomicU64::new(u64::MAX));
        let my_id = id.clone();
        id.store(
            listeners.add(move |_| {
                n.fetch_add(1, Ordering::SeqCst);
                assert!(l.upgrade().unwrap().remove(my_id.load(Ordering::SeqCst)));
            }),
            Ordering::SeqCst,
        );
        listeners.notify(&1, || {});
        listeners.notify(&2, || {});
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!listeners.remove(id.load(Ordering::SeqCst)), "already removed");
    }

    #[test]
    fn a_panicking_listener_is_reported_and_the_others_still_run() {
        let listeners: Listeners<u32> = Listeners::default();
        let calls = Arc::new(AtomicUsize::new(0));
        listeners.add(|_| panic!("listener bug"));
        let n = calls.clone();
        listeners.add(move |_| {
            n.fetch_add(1, Ordering::SeqCst);
        });
        let panics = AtomicUsize::new(0);
        listeners.notify(&1, || {
            panics.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!((panics.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)), (1, 1));
    }
}
