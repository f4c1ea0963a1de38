//! C change callbacks behind a gate, so a caller may free its `user_data` once the listener is
//! removed or the client freed: closing the gate waits for calls in progress and refuses new
//! ones. (The core may still deliver a change afterwards from a fetch thread that outlived the
//! client; the gate turns that into nothing instead of a call on freed memory.)

use crate::error::lossy_cstring;
use crate::value::NO_VERSION;
use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::sync::{Condvar, Mutex};

/// A change callback: `key` (borrowed for the call), the old and new versions
/// (`FAILSOFT_NO_VERSION` when none) and the `user_data` given at registration.
pub type ChangeCallback = Option<
    unsafe extern "C" fn(key: *const c_char, old_version: i64, new_version: i64, user_data: *mut c_void),
>;

type Callback = unsafe extern "C" fn(*const c_char, i64, i64, *mut c_void);

struct State {
    open: bool,
    running: usize,
}

pub(crate) struct Gate {
    callback: Callback,
    user_data: *mut c_void,
    state: Mutex<State>,
    idle: Condvar,
}

// SAFETY: the caller promises (in `failsoft_client_on_change`'s contract) that the callback may
// be called with `user_data` from any thread.
unsafe impl Send for Gate {}
// SAFETY: as above; the gate's own state is behind a mutex.
unsafe impl Sync for Gate {}

thread_local! {
    /// The gates whose callback this thread is inside (a callback removing its own listener must
    /// not wait for itself).
    static INSIDE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl Gate {
    pub(crate) fn new(callback: Callback, user_data: *mut c_void) -> Gate {
        Gate {
            callback,
            user_data,
            state: Mutex::new(State { open: true, running: 0 }),
            idle: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id(&self) -> usize {
        self as *const Gate as usize
    }

    /// Calls the C callback for `change`, unless the gate is closed.
    pub(crate) fn call(&self, change: &failsoft::Change) {
        {
            let mut s = self.lock();
            if !s.open {
                return;
            }
            s.running += 1;
        }
        let key = lossy_cstring(change.key.canonical());
        let _ = INSIDE.try_with(|v| v.borrow_mut().push(self.id()));
        // SAFETY: a C function pointer and the user data it was registered with.
        unsafe {
            (self.callback)(
                key.as_ptr(),
                change.old_version.unwrap_or(NO_VERSION),
                change.new_version.unwrap_or(NO_VERSION),
                self.user_data,
            )
        };
        let _ = INSIDE.try_with(|v| v.borrow_mut().pop());
        let mut s = self.lock();
        s.running -= 1;
        if s.running == 0 {
            self.idle.notify_all();
        }
    }

    /// Refuses further calls and waits for the ones in progress on other threads.
    pub(crate) fn close(&self) {
        let mine = INSIDE.try_with(|v| v.borrow().iter().filter(|g| **g == self.id()).count()).unwrap_or(0);
        let mut s = self.lock();
        s.open = false;
        while s.running > mine {
            s = self.idle.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}
