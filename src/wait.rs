//! §12 of the article: `wait`, which blocks until some or all of a set of
//! futures are done, sleeping on a [`Waiter`] as `as_completed` does.
//!
//! One deliberate difference from CPython: a future cancelled with
//! `cancel()` counts as done here at once. CPython only moves it to its
//! waiters once an executor notices the cancellation, so `wait` can block on
//! a future whose `done()` already answers `true`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::future::deadline_after;
use crate::waiter::Waiter;
use crate::Future;

/// The distinct futures of `fs`, first occurrence first: duplicates count once.
// A future hashes and compares by the address of its shared state, which
// never changes, so the lock inside it cannot move it within the set.
#[allow(clippy::mutable_key_type)]
pub(crate) fn distinct<T>(fs: &[Future<T>]) -> Vec<Future<T>> {
    let mut seen = HashSet::with_capacity(fs.len());
    fs.iter().filter(|f| seen.insert(*f)).cloned().collect()
}

/// When `wait` returns (Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// ```
/// use concurrent_futures::{wait, Future, ReturnWhen};
/// let f = Future::new();
/// f.set_result(1).unwrap();
/// let r = wait(&[f, Future::new()], ReturnWhen::FirstCompleted);
/// assert_eq!((r.done.len(), r.not_done.len()), (1, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReturnWhen {
    /// As soon as any future is done (finished or cancelled).
    FirstCompleted,
    /// As soon as any future fails, or when all are done. A cancelled future
    /// is not a failure.
    FirstException,
    /// When every future is done. Python's default.
    #[default]
    AllCompleted,
}

/// What `wait` returns: Python's `DoneAndNotDoneFutures` named tuple. Each
/// list keeps the order of the input, with duplicates once.
///
/// ```
/// use concurrent_futures::{wait, Future, ReturnWhen};
/// let (a, b) = (Future::new(), Future::new());
/// b.set_result("b").unwrap();
/// let r = wait(&[a.clone(), b.clone(), b.clone()], ReturnWhen::FirstCompleted);
/// assert_eq!(r.done, vec![b]);
/// assert_eq!(r.not_done, vec![a]);
/// ```
#[derive(Debug)]
pub struct DoneAndNotDone<T> {
    /// The futures that finished or were cancelled.
    pub done: Vec<Future<T>>,
    /// The rest.
    pub not_done: Vec<Future<T>>,
}

/// Blocks until `return_when` holds for the futures in `fs`.
///
/// ```
/// use concurrent_futures::{wait, ReturnWhen, ThreadPoolExecutor};
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let fs: Vec<_> = (1..=4_u64).map(|x| pool.submit(move || x * x).unwrap()).collect();
/// let r = wait(&fs, ReturnWhen::AllCompleted);
/// assert_eq!(r.done.len(), 4);
/// assert!(r.not_done.is_empty());
/// ```
pub fn wait<T>(fs: &[Future<T>], return_when: ReturnWhen) -> DoneAndNotDone<T> {
    wait_until(fs, return_when, None)
}

/// Like [`wait`], but returns after `timeout` whatever the state; the futures
/// not done by then are in `not_done`, still running. Nothing is cancelled.
///
/// ```
/// use std::time::Duration;
/// use concurrent_futures::{wait_timeout, Future, ReturnWhen};
/// let never = Future::<()>::new();
/// let r = wait_timeout(&[never], ReturnWhen::AllCompleted, Duration::from_millis(10));
/// assert_eq!(r.not_done.len(), 1);
/// ```
pub fn wait_timeout<T>(
    fs: &[Future<T>],
    return_when: ReturnWhen,
    timeout: Duration,
) -> DoneAndNotDone<T> {
    wait_until(fs, return_when, deadline_after(timeout))
}

// ANCHOR: wait_until
fn wait_until<T>(
    fs: &[Future<T>],
    return_when: ReturnWhen,
    deadline: Option<Instant>,
) -> DoneAndNotDone<T> {
    let fs = distinct(fs);
    let waiter = Waiter::new();
    let mut done = 0;
    let mut failed = false;
    for (i, f) in fs.iter().enumerate() {
        if !f.add_waiter(&waiter, i) {
            done += 1;
            failed |= f.failed();
        }
    }
    // All done always satisfies, which also covers an empty `fs`.
    let satisfied = |done: usize, failed: bool| {
        done == fs.len()
            || match return_when {
                ReturnWhen::FirstCompleted => done > 0,
                ReturnWhen::FirstException => failed,
                ReturnWhen::AllCompleted => false,
            }
    };
    while !satisfied(done, failed) {
        let batch = waiter.next_batch(deadline);
        if batch.is_empty() {
            break; // timed out
        }
        done += batch.len();
        failed |= batch.iter().any(|&i| fs[i].failed());
    }
    for f in &fs {
        f.remove_waiter(&waiter);
    }
    let (done, not_done) = fs.into_iter().partition(|f| f.done());
    DoneAndNotDone { done, not_done }
}
// ANCHOR_END: wait_until
