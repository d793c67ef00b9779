//! §7 of the article: a function each worker runs once before its first
//! task, and what happens when it fails.
//!
//! A failed initializer breaks the whole pool, as in Python: every task still
//! queued fails with `Error::BrokenPool` and so does every later `submit`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::panic_message;
use crate::future::lock;
use crate::pool::{Builder, Shared};
use crate::Error;

/// The message of Python's `BrokenThreadPool` for this case.
pub(crate) const BROKEN: &str =
    "A thread initializer failed, the thread pool is not usable anymore";

impl Builder {
    /// Runs `init()` once in each worker thread as it starts, before any task.
    /// Python's `initargs` are whatever the closure captures. A panic in
    /// `init` breaks the pool.
    ///
    /// ```
    /// use concurrent_futures::ThreadPoolExecutor;
    /// let pool = ThreadPoolExecutor::builder()
    ///     .max_workers(2)
    ///     .thread_name_prefix("Thread")
    ///     .initializer(|| eprintln!("starting {}", std::thread::current().name().unwrap()))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.submit(|| 1).unwrap().result(), Ok(1));
    /// ```
    pub fn initializer<F>(mut self, init: F) -> Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.initializer = Some(Arc::new(init));
        self
    }
}

// ANCHOR: run
/// Runs the pool's initializer in the current worker; `false` if it
/// panicked, in which case the pool is now broken and the worker must exit.
pub(crate) fn run(shared: &Shared) -> bool {
    let Some(init) = &shared.initializer else {
        return true;
    };
    let Err(payload) = catch_unwind(AssertUnwindSafe(|| init())) else {
        return true;
    };
    eprintln!("Exception in initializer: {}", panic_message(&*payload));
    let queued: Vec<_> = {
        let mut q = lock(&shared.queue);
        q.broken = Some(BROKEN.to_owned());
        shared.work_ready.notify_all();
        shared.queued.store(0, Ordering::Relaxed);
        q.items.drain(..).collect()
    };
    for item in queued {
        item.fail(broken());
    }
    false
}

/// The error every task of a broken thread pool fails with.
pub(crate) fn broken() -> Error {
    Error::BrokenPool {
        message: BROKEN.to_owned(),
    }
}
// ANCHOR_END: run
