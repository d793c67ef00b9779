//! §2 of the article: `submit`, the work item it queues, and the loop each
//! worker thread runs.

use std::hint::spin_loop;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;

use crate::future::{lock, Inner, Slot};
use crate::pool::{Shared, Work};
use crate::{Error, Future, ThreadPoolExecutor};

// ANCHOR: work_item
/// The task lives in its future's own allocation, in the future's `Slot`
/// (one allocation per task; see `Inner` in `future.rs`).
impl<T, F> Work for Inner<T, Slot<T, F>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    fn run(self: Arc<Self>, before_visible: &mut dyn FnMut(bool)) {
        // The handshake with `cancel()` (`set_running_or_notify_cancel`),
        // taking the job out as the state moves on.
        let mut cell = lock(&self.cell);
        let job = match std::mem::replace(&mut cell.slot, Slot::Running) {
            Slot::Pending(f) => Ok(f),
            Slot::Cancelled(f) => {
                cell.slot = Slot::CancelledAndNotified;
                Err(Some(f))
            }
            // Started or finished through the public API: not ours to run.
            other => {
                cell.slot = other;
                Err(None)
            }
        };
        drop(cell);
        // A skipped job is dropped unlocked: dropping may run user code.
        let Ok(f) = job else { return };
        let future = Future::from_inner(self);
        let outcome = crate::error::catch_panic(f);
        // Cannot fail: the future was running, so nobody else finished it.
        let _ = future.finish_then(outcome, before_visible);
    }
    // ANCHOR_END: work_item

    fn cancel(self: Arc<Self>) {
        Future::from_inner(self).cancel();
    }

    fn fail(self: Arc<Self>, error: Error) {
        let _ = Future::from_inner(self).set_exception(error);
    }
}

impl ThreadPoolExecutor {
    // ANCHOR: submit
    /// Schedules `f()` on a worker thread and returns its [`Future`] at once.
    ///
    /// A panic in `f` becomes the future's `Error::Panicked`; the worker lives
    /// on. `Error::BrokenPool` if an initializer failed, `Error::Shutdown`
    /// after `shutdown`.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(5).unwrap();
    /// let futures: Vec<_> = (1..=10_u64).map(|i| pool.submit(move || i.pow(3)).unwrap()).collect();
    /// let cubes: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    /// assert_eq!(cubes[9], 1000);
    /// ```
    pub fn submit<T, F>(&self, f: F) -> Result<Future<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        submit(&self.shared, f)
    }
    // ANCHOR_END: submit
}

/// `submit` on the shared state, so that a buffered `Map` can keep
/// submitting without borrowing the pool.
pub(crate) fn submit<T, F>(shared: &Arc<Shared>, f: F) -> Result<Future<T>, Error>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // One allocation for the future and its task.
    let inner = Arc::new(Inner::<T, Slot<T, F>>::pending(f));
    let future = Future::from_inner(Arc::clone(&inner));
    let job: Arc<dyn Work> = inner;
    let mut q = lock(&shared.queue);
    q.check_open()?;
    q.items.push_back(job);
    if q.items.len() == 1 {
        shared.queued.store(1, Ordering::Release);
    }
    // ANCHOR: adjust_thread_count
    // Python's `_adjust_thread_count`: an idle worker will take the item;
    // otherwise start one more thread, if the pool may. Either way the item
    // waits in the queue, for whichever thread is ready first.
    if q.idle > 0 {
        q.idle -= 1;
    } else if q.started < shared.max_workers {
        let worker_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("{}_{}", shared.prefix, q.started))
            .spawn(move || worker(worker_shared));
        match spawned {
            Ok(handle) => {
                q.started += 1;
                q.alive += 1;
                q.handles.push(handle);
                return Ok(future);
            }
            // With no thread at all, nobody would ever run the item.
            Err(e) if q.started == 0 => {
                q.items.pop_back();
                shared.queued.store(q.items.len(), Ordering::Relaxed);
                return Err(Error::BrokenPool {
                    message: format!("could not start a worker thread: {e}"),
                });
            }
            // The threads already running will get to it.
            Err(_) => {}
        }
    }
    // ANCHOR_END: adjust_thread_count
    let wake = q.sleeping > q.wakes_pending;
    if wake {
        q.wakes_pending += 1;
    }
    drop(q);
    // Woken after the unlock: a worker woken while we still held the lock
    // would only block on it again (one more sleep and wake-up).
    if wake {
        shared.work_ready.notify_one();
    }
    Ok(future)
}

// ANCHOR: worker
/// The body of every worker thread.
fn worker(shared: Arc<Shared>) {
    if !crate::initializer::run(&shared) {
        return exit(&shared);
    }
    let mut counted_idle = false;
    while let Some(item) = next_item(&shared, counted_idle) {
        counted_idle = false;
        item.run(&mut |has_callbacks| {
            // Count this worker idle *before* the outcome becomes visible: a
            // caller woken by `result()` that submits again then finds it
            // idle, so ten submit-then-result calls use one thread. Not when
            // callbacks run next: a callback may block, and a task submitted
            // meanwhile must get another thread (Python counts idle after
            // the callbacks). Nor when the queue is not empty: this worker
            // takes the next item then, and nobody must count on it.
            if !has_callbacks && shared.queued.load(Ordering::Relaxed) == 0 {
                let mut q = lock(&shared.queue);
                if q.items.is_empty() {
                    q.idle += 1;
                    counted_idle = true;
                }
            }
        });
    }
    exit(&shared)
}
// ANCHOR_END: worker

impl crate::pool::Queue {
    /// See [`Error::if_closed`].
    fn check_open(&self) -> Result<(), Error> {
        Error::if_closed(self.broken.as_ref(), self.shutdown)
    }
}

/// Takes the next item from the queue, sleeping until there is one; `None`
/// once the pool is shut down (or broken) and nothing is left, which is when
/// a worker exits. A worker that finds the queue empty counts itself idle,
/// unless it already did before publishing its last outcome.
fn next_item(shared: &Shared, mut counted_idle: bool) -> Option<Arc<dyn Work>> {
    let mut spun = !shared.spin;
    let mut q = lock(&shared.queue);
    loop {
        if let Some(item) = q.items.pop_front() {
            if q.items.is_empty() {
                shared.queued.store(0, Ordering::Relaxed);
            }
            return Some(item);
        }
        if q.shutdown || q.broken.is_some() {
            return None;
        }
        if !counted_idle {
            q.idle += 1;
            counted_idle = true;
        }
        if !spun {
            // Tasks often come in bursts: a worker that watches the queue
            // for a few microseconds before sleeping is found by the next
            // submit without a wake-up call, and sleeps no less for it when
            // no task comes. Counted idle meanwhile, as a sleeper is.
            drop(q);
            spun = true;
            spin_for_work(shared);
            q = lock(&shared.queue);
            continue;
        }
        q.sleeping += 1;
        q = shared
            .work_ready
            .wait(q)
            .unwrap_or_else(PoisonError::into_inner);
        q.sleeping -= 1;
        q.wakes_pending = q.wakes_pending.saturating_sub(1);
        spun = !shared.spin;
    }
}

/// Watches `queued` for a bounded time: spins doubling its pauses, then
/// yields its CPU a few times (to the thread that may be about to submit),
/// then gives up. Some 20 microseconds at most on an idle machine.
fn spin_for_work(shared: &Shared) {
    for step in 0..SPIN_STEPS + YIELD_STEPS {
        if shared.queued.load(Ordering::Acquire) > 0 {
            return;
        }
        if step < SPIN_STEPS {
            for _ in 0..1 << step {
                spin_loop();
            }
        } else {
            thread::yield_now();
        }
    }
}

/// Spins of 1, 2, 4 ... 64 pauses: the wait of a lock hand-off.
const SPIN_STEPS: u32 = 7;
/// Then this many `yield_now` calls before the worker sleeps.
const YIELD_STEPS: u32 = 4;

fn exit(shared: &Shared) {
    lock(&shared.queue).alive -= 1;
    shared.workers_gone.notify_all();
}
