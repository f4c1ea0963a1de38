//! Exports for the C test suite only, left out of the header: a host cannot trigger a panic
//! inside failsoft otherwise, and the landing pad's panic path must be proven too.

use crate::args::str_arg;
use crate::error::{landing_pad, landing_pad_or};
use std::ffi::c_char;

/// Panics inside the landing pad; returns `FAILSOFT_PANIC` with `message` in the last error.
/// With `in_accessor`, panics in an accessor-style export instead and returns -1.
///
/// # Safety
/// `message` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn failsoft_debug_panic(message: *const c_char, in_accessor: bool) -> i32 {
    // SAFETY: forwarded contract.
    let text = || unsafe { str_arg(message, "message") }.map(str::to_string);
    if in_accessor {
        landing_pad_or(-1, || panic!("{}", text()?))
    } else {
        landing_pad(|| panic!("{}", text()?)) as i32
    }
}
