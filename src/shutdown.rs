//! §1.4 and §4 of the article: shutting a pool down, by hand or at the end
//! of a scope (Rust's `Drop` plays the part of Python's `with` block).

use std::sync::atomic::Ordering;
use std::thread;

use crate::future::lock;
use crate::pool::Shared;
use crate::ThreadPoolExecutor;

/// How to shut a pool down: Python's `shutdown(wait=True, cancel_futures=False)`.
///
/// ```
/// use concurrent_futures::Shutdown;
/// let how = Shutdown::default();
/// assert!(how.wait && !how.cancel_futures);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shutdown {
    /// Block until every task already submitted has run and the workers
    /// have exited.
    pub wait: bool,
    /// Cancel the tasks that have not started; running ones finish anyway.
    pub cancel_futures: bool,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown {
            wait: true,
            cancel_futures: false,
        }
    }
}

impl ThreadPoolExecutor {
    /// Stops accepting work and waits until every task already submitted,
    /// queued ones included, has run. Calling it again does nothing more.
    ///
    /// Called from one of the pool's own tasks it cannot wait for its own
    /// thread, so it waits for the others only; that thread exits once the
    /// task returns and the queue is empty.
    ///
    /// ```
    /// use concurrent_futures::{Error, ThreadPoolExecutor};
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// let f = pool.submit(|| 1).unwrap();
    /// pool.shutdown();
    /// assert!(f.done());
    /// assert_eq!(pool.submit(|| 2).unwrap_err(), Error::Shutdown);
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_with(Shutdown::default())
    }

    // ANCHOR: shutdown_with
    /// Shuts down as `how` says: with `cancel_futures`, every task not yet
    /// started is cancelled; without `wait`, it returns at once while the
    /// workers finish in the background.
    ///
    /// ```
    /// use concurrent_futures::{Shutdown, ThreadPoolExecutor};
    /// use std::sync::mpsc::channel;
    /// let pool = ThreadPoolExecutor::new(1).unwrap();
    /// let (started_tx, started) = channel();
    /// let (tx, rx) = channel::<()>();
    /// let blocker = pool.submit(move || { started_tx.send(()).unwrap(); rx.recv().unwrap() }).unwrap();
    /// let queued = pool.submit(|| ()).unwrap();
    /// started.recv().unwrap(); // the blocker runs; `queued` waits behind it
    /// pool.shutdown_with(Shutdown { wait: false, cancel_futures: true });
    /// assert!(queued.cancelled());
    /// tx.send(()).unwrap();
    /// assert_eq!(blocker.result(), Ok(()));
    /// ```
    pub fn shutdown_with(&self, how: Shutdown) {
        let cancelled: Vec<_> = {
            let mut q = lock(&self.shared.queue);
            q.shutdown = true;
            self.shared.work_ready.notify_all();
            if how.cancel_futures {
                self.shared.queued.store(0, Ordering::Relaxed);
                q.items.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        // Outside the lock: cancelling runs the futures' callbacks.
        for item in cancelled {
            item.cancel();
        }
        if how.wait {
            join_workers(&self.shared);
        }
    }
    // ANCHOR_END: shutdown_with
}

/// Waits for every worker thread to exit, except the calling one when
/// `shutdown` runs inside a task of this very pool (joining yourself would
/// never return).
fn join_workers(shared: &Shared) {
    let me = thread::current().id();
    let mut q = lock(&shared.queue);
    let inside = q.handles.iter().any(|h| h.thread().id() == me);
    while q.alive > usize::from(inside) {
        q = shared
            .workers_gone
            .wait(q)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    let (mine, others): (Vec<_>, Vec<_>) = q.handles.drain(..).partition(|h| h.thread().id() == me);
    q.handles = mine;
    drop(q);
    for handle in others {
        // The thread has already said it is leaving; this only reaps it.
        let _ = handle.join();
    }
}

// ANCHOR: drop
/// The end of a scope shuts the pool down and waits, as leaving a `with`
/// block does in Python.
impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
// ANCHOR_END: drop
