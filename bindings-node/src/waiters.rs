//! Threads for work that waits on the core (cold reads, prefetch, close), never libuv's
//! 4-thread pool: 100 reads hung on a dead backend would fill it and stall every `fs` call.
//!
//! Each job gets a thread of its own at once (a wait is bounded by the cold deadline, and jobs
//! must never queue behind each other). Threads are reused: an idle one takes the next job and
//! exits after a minute without work. Starting threads is the spawner thread's business, so a
//! read on the JS thread only sends a message.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, SendError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

/// Waiter threads only block on the core and convert results: small stacks.
const STACK: usize = 256 * 1024;
const IDLE_EXIT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
}

struct Pool {
    queue: Mutex<Queue>,
    ready: Condvar,
}

static POOL: Pool =
    Pool { queue: Mutex::new(Queue { jobs: VecDeque::new(), idle: 0 }), ready: Condvar::new() };
static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn worker(first: Job) {
    let mut job = Some(first);
    loop {
        if let Some(j) = job.take() {
            // A job converts its own panics into a rejected Promise; this only keeps the thread.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(j));
        }
        let mut q = lock(&POOL.queue);
        q.idle += 1;
        loop {
            if let Some(j) = q.jobs.pop_front() {
                job = Some(j);
                break;
            }
            let (guard, timeout) = POOL.ready.wait_timeout(q, IDLE_EXIT).unwrap_or_else(|p| p.into_inner());
            q = guard;
            if timeout.timed_out() && q.jobs.is_empty() {
                q.idle -= 1;
                return;
            }
        }
        q.idle -= 1;
    }
}

/// Hands a job to an idle waiter thread, or to a new one.
fn dispatch(job: Job) {
    let mut q = lock(&POOL.queue);
    if q.idle > q.jobs.len() {
        q.jobs.push_back(job);
        drop(q);
        POOL.ready.notify_one();
        return;
    }
    drop(q);
    let slot = Arc::new(Mutex::new(Some(job)));
    let mine = slot.clone();
    let spawned =
        std::thread::Builder::new().name("failsoft-node-wait".into()).stack_size(STACK).spawn(move || {
            let job = mine.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(job) = job {
                worker(job);
            }
        });
    if let Err(e) = spawned {
        // Out of threads: run it here rather than lose it (its Promise must settle).
        log::error!("could not start a waiter thread ({e}); running the job on the spawner");
        let job = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(job) = job {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
    }
}

fn spawner() -> &'static Mutex<Sender<Job>> {
    SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let started = std::thread::Builder::new()
            .name("failsoft-node-spawner".into())
            .stack_size(STACK)
            .spawn(move || {
                for job in rx {
                    dispatch(job);
                }
            });
        if let Err(e) = started {
            log::error!("could not start the waiter spawner thread: {e}");
        }
        Mutex::new(tx)
    })
}

/// Runs `job` on a waiter thread of its own (a new one or an idle one), soon.
pub(crate) fn run(job: impl FnOnce() + Send + 'static) {
    let sent = spawner().lock().unwrap_or_else(|p| p.into_inner()).send(Box::new(job));
    if let Err(SendError(job)) = sent {
        // The spawner thread could not start: start the thread from here.
        dispatch(job);
    }
}
