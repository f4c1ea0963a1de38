//! The background machinery of one client: a timer thread (refresh-ahead and backoff retries)
//! and a small pool of refresh workers, so one slow key never delays the others. Threads hold only
//! a weak reference to the client, start lazily on first use, and stop on `close()`.

use crate::entry::{lock, Entry};
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why a timer was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Refresh ahead of expiry if the key is in use.
    Ahead,
    /// Retry after a failed fetch (backoff).
    Retry,
}

pub(crate) struct Timer {
    pub due: Instant,
    order: u64,
    /// The entry's `fetch_seq` when set; a newer fetch makes the timer moot.
    pub seq: u64,
    pub kind: TimerKind,
    pub entry: Arc<Entry>,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.order == other.order
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    // Reversed: BinaryHeap is a max-heap and the earliest timer must come out first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.due.cmp(&self.due).then(other.order.cmp(&self.order))
    }
}

/// What the runtime calls back into (the client's shared state).
pub(crate) trait Handler: Send + Sync + 'static {
    fn refresh(&self, entry: &Arc<Entry>);
    fn timer_fired(&self, timer: Timer);
}

pub(crate) struct Runtime {
    stop: AtomicBool,
    jobs: Mutex<VecDeque<Arc<Entry>>>,
    jobs_ready: Condvar,
    timers: Mutex<BinaryHeap<Timer>>,
    timers_changed: Condvar,
    next_order: AtomicU64,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Runtime {
    /// Starts the timer thread and `workers` refresh workers.
    pub(crate) fn start<H: Handler>(handler: Weak<H>, workers: usize) -> std::io::Result<Arc<Runtime>> {
        let rt = Arc::new(Runtime {
            stop: AtomicBool::new(false),
            jobs: Mutex::new(VecDeque::new()),
            jobs_ready: Condvar::new(),
            timers: Mutex::new(BinaryHeap::new()),
            timers_changed: Condvar::new(),
            next_order: AtomicU64::new(0),
            handles: Mutex::new(Vec::new()),
        });
        let mut handles = Vec::with_capacity(workers + 1);
        let (r, h) = (rt.clone(), handler.clone());
        handles.push(
            std::thread::Builder::new().name("failsoft-refresh".into()).spawn(move || r.timer_loop(h))?,
        );
        for i in 0..workers {
            let (r, h) = (rt.clone(), handler.clone());
            let name = format!("failsoft-worker-{i}");
            handles.push(std::thread::Builder::new().name(name).spawn(move || r.worker_loop(h))?);
        }
        *lock(&rt.handles) = handles;
        Ok(rt)
    }

    pub(crate) fn enqueue(&self, entry: Arc<Entry>) {
        lock(&self.jobs).push_back(entry);
        self.jobs_ready.notify_one();
    }

    pub(crate) fn schedule(&self, due: Instant, kind: TimerKind, entry: Arc<Entry>, seq: u64) {
        let order = self.next_order.fetch_add(1, Ordering::Relaxed);
        let mut timers = lock(&self.timers);
        let earliest = timers.peek().map(|t| t.due);
        timers.push(Timer { due, order, seq, kind, entry });
        if earliest.is_none_or(|e| due < e) {
            self.timers_changed.notify_one();
        }
    }

    /// Stops every thread; waits for them at most `bound` (a thread inside a hung request is
    /// left to finish on its own: it holds no lock and only a weak reference to the client).
    pub(crate) fn stop(&self, bound: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        {
            // Take each lock so a thread between its check and its wait cannot miss the wake-up.
            let _j = lock(&self.jobs);
            self.jobs_ready.notify_all();
        }
        {
            let _t = lock(&self.timers);
            self.timers_changed.notify_all();
        }
        let handles = std::mem::take(&mut *lock(&self.handles));
        let until = Instant::now() + bound;
        for h in handles {
            while !h.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
        lock(&self.timers).clear();
        lock(&self.jobs).clear();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn worker_loop<H: Handler>(&self, handler: Weak<H>) {
        loop {
            let job = {
                let mut jobs = lock(&self.jobs);
                loop {
                    if self.stopped() {
                        return;
                    }
                    if let Some(j) = jobs.pop_front() {
                        break j;
                    }
                    jobs = self.jobs_ready.wait(jobs).unwrap_or_else(|p| p.into_inner());
                }
            };
            match handler.upgrade() {
                Some(h) => h.refresh(&job),
                None => return,
            }
        }
    }

    fn timer_loop<H: Handler>(&self, handler: Weak<H>) {
        loop {
            let fired = {
                let mut timers = lock(&self.timers);
                loop {
                    if self.stopped() {
                        return;
                    }
                    let now = Instant::now();
                    match timers.peek().map(|t| t.due) {
                        Some(due) if due <= now => break timers.pop(),
                        Some(due) => {
                            timers = self
                                .timers_changed
                                .wait_timeout(timers, due - now)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                        None => timers = self.timers_changed.wait(timers).unwrap_or_else(|p| p.into_inner()),
                    }
                }
            };
            if let Some(t) = fired {
                match handler.upgrade() {
                    Some(h) => h.timer_fired(t),
                    None => return,
                }
            }
        }
    }
}
