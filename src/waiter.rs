//! The [`Waiter`] that `wait` (§12) and `as_completed` (§11) sleep on, and
//! that futures notify as they complete.
//!
//! It sits below both `future.rs` and `wait.rs` and uses neither, so imports
//! run one way: a future knows how to notify a waiter, not what waits.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

// ANCHOR: waiter
/// What one `wait` or `as_completed` call sleeps on: the futures it watches
/// push their index here when they complete. Type-erased, so a future of any
/// `T` can notify it.
pub(crate) struct Waiter {
    finished: Mutex<Vec<usize>>,
    wake: Condvar,
}

impl Waiter {
    pub(crate) fn new() -> Arc<Waiter> {
        Arc::new(Waiter {
            finished: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        })
    }

    /// Called by a future as it completes, after it released its own lock.
    pub(crate) fn notify(&self, index: usize) {
        lock(&self.finished).push(index);
        // Woken after the lock is released, so it does not wake to a taken lock.
        self.wake.notify_one();
    }

    /// The indices that completed since the last call, in completion order,
    /// waiting until there is at least one. Empty means `deadline` passed.
    pub(crate) fn next_batch(&self, deadline: Option<Instant>) -> Vec<usize> {
        let mut finished = lock(&self.finished);
        while finished.is_empty() {
            finished = match deadline {
                None => self
                    .wake
                    .wait(finished)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => {
                        let woken = self.wake.wait_timeout(finished, left);
                        woken.unwrap_or_else(PoisonError::into_inner).0
                    }
                    None => break,
                },
            };
        }
        std::mem::take(&mut *finished)
    }
}
// ANCHOR_END: waiter

/// `future::lock`, repeated so that this module depends on nothing: no user
/// code runs while this lock is held, so a poisoned lock is still sound.
fn lock(m: &Mutex<Vec<usize>>) -> MutexGuard<'_, Vec<usize>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
