//! The read function as a raw Node-API callback.
//!
//! A warm read is the hot path of the whole package (`getPromptSync` has a 300 ns budget).
//! napi-rs's generated glue costs ~150 ns per call that takes arguments (it sets up a borrow
//! scope for every call), more than the read itself; this callback reads its three numbers with
//! plain `napi_get_value_*` calls and returns one. The read itself is the caller's closure (this
//! module knows nothing of clients); it travels as the function's data pointer, freed by a
//! finalizer when the function is collected. Nothing here can unwind into Node: a panic becomes
//! the `BROKEN` code.

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// The read code of a call that could not run (an unknown slot, a panic): a bug, never an
/// answer about the key.
pub(crate) const BROKEN: u32 = 7;

/// A JS function `read(slot, flags, ttlSeconds)` that calls `read` (`BROKEN` when it panics).
pub(crate) fn reader<F>(env: &Env, read: F) -> napi::Result<Unknown<'_>>
where
    F: Fn(u32, u32, f64) -> u32 + 'static,
{
    let data = Box::into_raw(Box::new(read));
    let mut func = ptr::null_mut();
    let name = "read";
    // SAFETY: `env` is the live env of this call; `data` is a valid boxed `F` whose
    // ownership passes to the finalizer below (or is reclaimed here when that fails).
    unsafe {
        let mut status = sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(read_cb::<F>),
            data.cast(),
            &mut func,
        );
        if status == sys::Status::napi_ok {
            let free = Some(free_read::<F> as _);
            status =
                sys::napi_add_finalizer(env.raw(), func, data.cast(), free, ptr::null_mut(), ptr::null_mut());
        }
        if status != sys::Status::napi_ok {
            // A function made without its finalizer is dropped unused: nothing reads `data`.
            drop(Box::from_raw(data));
        }
        napi::check_status!(status, "could not make the read function")?;
        Ok(Unknown::from_raw_unchecked(env.raw(), func))
    }
}

unsafe extern "C" fn free_read<F>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<F>` leaked in `reader`; the function is gone, so nothing
    // reads it any more.
    drop(unsafe { Box::from_raw(data.cast::<F>()) });
}

unsafe extern "C" fn read_cb<F: Fn(u32, u32, f64) -> u32>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 3usize;
    let mut argv = [ptr::null_mut(); 3];
    let mut data = ptr::null_mut();
    let (mut slot, mut flags, mut ttl) = (u32::MAX, 0u32, f64::NAN);
    // SAFETY: called by Node with a live env and callback info; `argv` has room for `argc`
    // values; the data pointer is the `F` of `reader`, alive while this function is.
    // A value of the wrong type leaves its default (an unknown slot reads as `BROKEN`).
    let code = unsafe {
        if sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data)
            != sys::Status::napi_ok
            || data.is_null()
        {
            BROKEN
        } else {
            sys::napi_get_value_uint32(env, argv[0], &mut slot);
            sys::napi_get_value_uint32(env, argv[1], &mut flags);
            sys::napi_get_value_double(env, argv[2], &mut ttl);
            let read = &*data.cast::<F>();
            catch_unwind(AssertUnwindSafe(|| read(slot, flags, ttl))).unwrap_or(BROKEN)
        }
    };
    let mut out = ptr::null_mut();
    // SAFETY: a live env; on failure `out` stays null, which Node reads as `undefined`.
    unsafe { sys::napi_create_uint32(env, code, &mut out) };
    out
}
