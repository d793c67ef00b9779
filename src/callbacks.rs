//! §10 of the article: callbacks that run when a future is done.
//!
//! The rules, all Python's: callbacks run in the order they were added,
//! exactly once each; in the thread that completed the future, or at once in
//! the caller's thread if it is already done (cancelled included); and never
//! while a lock is held, so a callback may call back into the future. A
//! panicking callback is reported on stderr and the next one still runs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::panic_message;
use crate::Future;

/// A boxed done-callback, as stored in a future until it completes.
pub(crate) type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send + 'static>;

impl<T> Future<T> {
    // ANCHOR: add_done_callback
    /// Runs `f(&future)` once the future is done: now, in this thread, if it
    /// already is; otherwise later, in whichever thread finishes or cancels it.
    ///
    /// A panic in `f` is caught and printed to stderr as
    /// `exception calling callback for Future { .. }`; later callbacks still run.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(1).unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// let f = pool.submit(|| 3_u64.pow(3)).unwrap();
    /// f.add_done_callback(move |f| tx.send(f.result().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 27);
    /// ```
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
    {
        let mut cell = self.cell();
        if !cell.is_done() {
            cell.extra().callbacks.push(Box::new(f));
            return;
        }
        // Already done: run it here, but only after letting go of the lock.
        drop(cell);
        run(self, vec![Box::new(f)]);
    }
    // ANCHOR_END: add_done_callback
}

// ANCHOR: run
/// Runs callbacks in order. The caller must not hold the future's lock.
pub(crate) fn run<T>(future: &Future<T>, callbacks: Vec<Callback<T>>) {
    for callback in callbacks {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(future))) {
            eprintln!(
                "exception calling callback for {future:?}: {}",
                panic_message(&*payload)
            );
        }
    }
}
// ANCHOR_END: run
