//! §2 of the article: `submit`, the work item it queues, and the loop each
//! worker thread runs.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crate::future::lock;
use crate::pool::Shared;
use crate::{Error, Future, ThreadPoolExecutor};

/// A queued task with its future, its result type erased so one queue holds
/// tasks of every type.
pub(crate) trait Work: Send {
    /// Runs the task unless it was cancelled. `before_publish` is called
    /// exactly once, after the task returned and before anyone can see its
    /// outcome (see `worker` for why).
    fn run(self: Box<Self>, before_publish: &mut dyn FnMut());
    /// Cancels the future: `shutdown_with(cancel_futures)` dropped the item.
    fn cancel(&self);
    /// Fails the future: the pool broke before the item could run.
    fn fail(&self, error: Error);
}

struct Job<T, F> {
    future: Future<T>,
    f: F,
}

// ANCHOR: work_item
impl<T: Send, F: FnOnce() -> T + Send> Work for Job<T, F> {
    fn run(self: Box<Self>, before_publish: &mut dyn FnMut()) {
        let Job { future, f } = *self;
        // The handshake with `cancel()`: a cancelled item is skipped here.
        if !future.set_running_or_notify_cancel() {
            return before_publish();
        }
        let outcome = crate::error::catch_panic(f);
        before_publish();
        // Cannot fail: the future was running, so nobody else finished it.
        let _ = match outcome {
            Ok(value) => future.set_result(value),
            Err(error) => future.set_exception(error),
        };
    }
    // ANCHOR_END: work_item

    fn cancel(&self) {
        self.future.cancel();
    }

    fn fail(&self, error: Error) {
        let _ = self.future.set_exception(error);
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
    let future = Future::new();
    let mut job: Box<dyn Work> = Box::new(Job {
        future: future.clone(),
        f,
    });
    let mut q = lock(&shared.queue);
    q.check_open()?;
    // ANCHOR: adjust_thread_count
    // Python's `_adjust_thread_count`: an idle worker will take the item;
    // otherwise start one more thread, if the pool may.
    if q.idle > 0 {
        q.idle -= 1;
    } else if q.started < shared.max_workers {
        // The new thread gets this item as its first: Python's `start()`
        // waits for the thread to run, so there task 1 lands on `_0`, task 2
        // on `_1`...; handing it over directly gives the same order.
        let first = Arc::new(Mutex::new(Some(job)));
        let (worker_shared, worker_first) = (Arc::clone(shared), Arc::clone(&first));
        let spawned = thread::Builder::new()
            .name(format!("{}_{}", shared.prefix, q.started))
            .spawn(move || worker(worker_shared, lock(&worker_first).take()));
        match spawned {
            Ok(handle) => {
                q.started += 1;
                q.alive += 1;
                q.handles.push(handle);
                return Ok(future);
            }
            // With no thread at all, nobody would ever run the item.
            Err(e) if q.started == 0 => {
                return Err(Error::BrokenPool {
                    message: format!("could not start a worker thread: {e}"),
                });
            }
            // The threads already running will get to it. (A failed spawn
            // never ran the closure, so the item is still in `first`.)
            Err(_) => match lock(&first).take() {
                Some(unclaimed) => job = unclaimed,
                None => return Ok(future),
            },
        }
    }
    // ANCHOR_END: adjust_thread_count
    q.items.push_back(job);
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
/// The body of every worker thread; `first` is the item it was started for.
fn worker(shared: Arc<Shared>, first: Option<Box<dyn Work>>) {
    if !crate::initializer::run(&shared) {
        if let Some(item) = first {
            item.fail(crate::initializer::broken());
        }
        return exit(&shared);
    }
    let mut next = first.or_else(|| take_or_idle(&shared));
    loop {
        let item = match next.take() {
            Some(item) => item,
            None => match wait_for_item(&shared) {
                Some(item) => item,
                None => return exit(&shared),
            },
        };
        // Look at the queue *before* the outcome becomes visible: a caller
        // woken by `result()` that submits again then finds this worker
        // counted as idle, so ten submit-then-result calls use one thread.
        item.run(&mut || next = take_or_idle(&shared));
    }
}
// ANCHOR_END: worker

/// `Err` if the pool takes no more work.
pub(crate) fn check_open(shared: &Shared) -> Result<(), Error> {
    lock(&shared.queue).check_open()
}

impl crate::pool::Queue {
    /// Broken is checked first, then shut down, in Python's order.
    fn check_open(&self) -> Result<(), Error> {
        if let Some(why) = &self.broken {
            return Err(Error::BrokenPool {
                message: why.clone(),
            });
        }
        if self.shutdown {
            return Err(Error::Shutdown);
        }
        Ok(())
    }
}

/// Takes the next item without blocking, or counts this worker as idle.
fn take_or_idle(shared: &Shared) -> Option<Box<dyn Work>> {
    let mut q = lock(&shared.queue);
    let item = q.items.pop_front();
    if item.is_none() {
        q.idle += 1;
    }
    item
}

/// Sleeps until an item is queued; `None` once the pool is shut down (or
/// broken) and nothing is left, which is when a worker exits.
fn wait_for_item(shared: &Shared) -> Option<Box<dyn Work>> {
    let mut q = lock(&shared.queue);
    loop {
        if let Some(item) = q.items.pop_front() {
            return Some(item);
        }
        if q.shutdown || q.broken.is_some() {
            return None;
        }
        q.sleeping += 1;
        q = shared
            .work_ready
            .wait(q)
            .unwrap_or_else(PoisonError::into_inner);
        q.sleeping -= 1;
        q.wakes_pending = q.wakes_pending.saturating_sub(1);
    }
}

fn exit(shared: &Shared) {
    lock(&shared.queue).alive -= 1;
    shared.workers_gone.notify_all();
}
