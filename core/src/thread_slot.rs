//! Per-thread slots for the warm read.
//!
//! A thread that reads claims one index in `0..count()` for its lifetime and gives it back when it
//! exits. Only the thread holding an index ever touches what a [`Slots`] stores at that index, so
//! per-thread data (a thread's copy of a payload, its view of the key map, its stripe of a
//! counter) is read and written with plain loads and stores: no locked instruction and no cache
//! line written by two readers. That is what lets one hot key scale across cores: the reference
//! count a read bumps is its own thread's.
//!
//! `count()` is twice the available parallelism, between 16 and 64, so the memory per slotted
//! structure stays bounded by the machine, not by the number of threads. Threads beyond it (more
//! readers at once than slots) get `None` and take the shared path, which is correct, only
//! contended. A thread's slot contents outlive it until the next owner of the index replaces them
//! or the structure holding them is dropped.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Bit `i` set: index `i` is held by a live thread.
static TAKEN: AtomicU64 = AtomicU64::new(0);
static COUNT: OnceLock<usize> = OnceLock::new();

/// How many indices exist (the length of every [`Slots`]).
pub(crate) fn count() -> usize {
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (2 * cores).clamp(16, 64)
    })
}

const UNCLAIMED: usize = usize::MAX;

/// This thread's index; gives it back when the thread exits.
struct Claim(Cell<usize>);

impl Drop for Claim {
    fn drop(&mut self) {
        let i = self.0.replace(UNCLAIMED);
        if i != UNCLAIMED {
            // Release: the next owner sees every write this thread made to its slots.
            TAKEN.fetch_and(!(1u64 << i), Ordering::Release);
        }
    }
}

thread_local! {
    static CLAIM: Claim = const { Claim(Cell::new(UNCLAIMED)) };
}

/// Proof that this thread holds index `.0`. Not `Send`: it cannot reach another thread.
#[derive(Clone, Copy)]
pub(crate) struct Mine(usize, PhantomData<*const ()>);

impl Mine {
    #[inline]
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

/// This thread's index, claimed on first use; `None` when every index is held or the thread is
/// exiting (its thread-locals are gone).
#[inline]
pub(crate) fn mine() -> Option<Mine> {
    CLAIM
        .try_with(|c| {
            let i = c.0.get();
            if i != UNCLAIMED {
                Some(Mine(i, PhantomData))
            } else {
                claim(c)
            }
        })
        .ok()
        .flatten()
}

/// This thread's index if it already holds one; never claims (threads that only count things,
/// such as refresh workers, must not take the readers' indices).
#[inline]
pub(crate) fn held() -> Option<Mine> {
    CLAIM.try_with(|c| c.0.get()).ok().filter(|&i| i != UNCLAIMED).map(|i| Mine(i, PhantomData))
}

#[cold]
fn claim(c: &Claim) -> Option<Mine> {
    let n = count();
    let mut taken = TAKEN.load(Ordering::Relaxed);
    loop {
        let free = (!taken).trailing_zeros() as usize;
        if free >= n {
            return None;
        }
        // Acquire: pairs with the previous owner's release at its exit.
        match TAKEN.compare_exchange_weak(taken, taken | (1 << free), Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => {
                c.0.set(free);
                return Some(Mine(free, PhantomData));
            }
            Err(now) => taken = now,
        }
    }
}

/// One `T` per index, each touched only by the thread holding that index.
pub(crate) struct Slots<T> {
    cells: Box<[UnsafeCell<T>]>,
}

// SAFETY: a cell is only reached through `with`, which needs the `Mine` of its index; an index is
// held by one thread at a time, and handing it over goes through `TAKEN` (release at exit,
// acquire at claim). `T: Send` because a cell's contents may be dropped by another thread later.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T: Default> Default for Slots<T> {
    fn default() -> Self {
        Slots { cells: (0..count()).map(|_| UnsafeCell::new(T::default())).collect() }
    }
}

impl<T> Slots<T> {
    /// Runs `f` on this thread's `T`. `f` must not reach this same `Slots` again (the read path's
    /// closures only touch other structures), or it would hold two `&mut` to one cell.
    #[inline]
    pub(crate) fn with<R>(&self, me: Mine, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: see the `Sync` impl; `me.0 < count()` by construction, and `f` does not
        // re-enter this `Slots`, so this is the only reference to the cell.
        f(unsafe { &mut *self.cells[me.0].get() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_alive_together_never_share_an_index() {
        let n = count() + 2;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || {
                    let i = mine().map(Mine::index);
                    b.wait();
                    i
                })
            })
            .collect();
        let got: Vec<Option<usize>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut held: Vec<usize> = got.iter().flatten().copied().collect();
        held.sort_unstable();
        let before = held.len();
        held.dedup();
        assert_eq!(held.len(), before, "two live threads held one index: {got:?}");
        assert!(held.iter().all(|&i| i < count()));
        // More threads than indices: some read on the shared path.
        assert!(got.iter().any(Option::is_none), "{got:?}");
    }
}
