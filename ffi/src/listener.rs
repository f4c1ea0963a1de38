//! C change callbacks. Core's listener registry gives the lifetime the C contract promises (once
//! removal or `failsoft_client_free` returns, the callback is not running and never runs again),
//! so this only adapts the call.

use crate::error::lossy_cstring;
use crate::value::NO_VERSION;
use std::ffi::{c_char, c_void};

/// A change callback: `key` (borrowed for the call), the old and new versions
/// (`FAILSOFT_NO_VERSION` when none) and the `user_data` given at registration.
pub type ChangeCallback = Option<
    unsafe extern "C" fn(key: *const c_char, old_version: i64, new_version: i64, user_data: *mut c_void),
>;

type Callback = unsafe extern "C" fn(*const c_char, i64, i64, *mut c_void);

/// A C callback and its user data, as a core listener.
pub(crate) struct CListener {
    pub(crate) callback: Callback,
    pub(crate) user_data: *mut c_void,
}

// SAFETY: the caller promises (in `failsoft_client_on_change`'s contract) that the callback may
// be called with `user_data` from any thread.
unsafe impl Send for CListener {}
// SAFETY: as above.
unsafe impl Sync for CListener {}

impl CListener {
    pub(crate) fn call(&self, change: &failsoft::Change) {
        let key = lossy_cstring(change.key.canonical());
        let (old, new) = (change.old_version.unwrap_or(NO_VERSION), change.new_version.unwrap_or(NO_VERSION));
        // SAFETY: a C function pointer and the user data it was registered with.
        unsafe { (self.callback)(key.as_ptr(), old, new, self.user_data) };
    }
}
