//! Threads for work that waits on the core (cold reads, prefetch, close), never libuv's
//! 4-thread pool: 100 reads hung on a dead backend would fill it and stall every `fs` call.
//! Each job gets a thread of its own at once: a wait is bounded by the cold deadline, and jobs
//! must never queue behind each other. Starting one costs tens of microseconds, paid only by a
//! call that is about to wait for the network anyway (warm reads never come here).

use crate::convert::str_err;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::Env;
use std::sync::{Arc, Mutex};

/// Waiter threads only block on the core and convert results: small stacks.
const STACK: usize = 256 * 1024;

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Runs `job` on a thread of its own.
pub(crate) fn run<F: FnOnce() + Send + 'static>(job: F) {
    // Shared with the thread so that a thread that cannot start does not take the job with it.
    let slot = Arc::new(Mutex::new(Some(job)));
    let mine = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("failsoft-node-wait".into())
        .stack_size(STACK)
        .spawn(move || take(&mine).map(|job| job()));
    if let Err(e) = spawned {
        // Out of threads: run it here rather than lose it (its Promise must settle).
        log::error!("could not start a waiter thread ({e}); running the job on the calling thread");
        if let Some(job) = take(&slot) {
            job();
        }
    }
}

/// A Promise settled by `job`, run on a thread of its own: `settle` turns its result into the
/// Promise's value on the JS thread (where it may touch what only that thread touches).
pub(crate) fn promise<'env, R, T, J, S>(
    env: &'env Env,
    job: J,
    settle: S,
) -> napi::Result<Object<'env>, String>
where
    R: Send + 'static,
    T: ToNapiValue + 'static,
    J: FnOnce() -> R + Send + 'static,
    S: FnOnce(R) -> napi::Result<T> + Send + 'static,
{
    let (deferred, promise) =
        env.create_deferred::<T, Box<dyn FnOnce(Env) -> napi::Result<T> + Send>>().map_err(str_err)?;
    run(move || {
        let r = job();
        deferred.resolve(Box::new(move |_| settle(r)));
    });
    Ok(promise)
}
