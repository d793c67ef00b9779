//! §11 of the article: futures handed back one by one as they complete.
//!
//! The futures already done come first (in input order), then the rest in
//! the order they complete. As in `wait`, a future cancelled with `cancel()`
//! counts as completed at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::future::deadline_after;
use crate::wait::distinct;
use crate::waiter::Waiter;
use crate::{Error, Future};

/// An iterator over futures in the order they complete; see [`as_completed`].
///
/// Dropping it stops watching; it never cancels anything.
pub struct AsCompleted<T> {
    fs: Vec<Future<T>>,
    /// Indices into `fs` that are done but not yet handed out.
    ready: VecDeque<usize>,
    /// How many of `fs` are not done yet, as far as this iterator knows.
    unfinished: usize,
    waiter: Arc<Waiter>,
    deadline: Option<Instant>,
    timed_out: bool,
}

/// Yields each distinct future of `fs` once, as it completes, waiting as long
/// as it takes.
///
/// ```
/// use concurrent_futures::{as_completed, ThreadPoolExecutor};
/// let pool = ThreadPoolExecutor::new(4).unwrap();
/// let fs: Vec<_> = (1..=4_u64).map(|x| pool.submit(move || x.pow(3)).unwrap()).collect();
/// let mut cubes: Vec<u64> = as_completed(&fs).map(|f| f.unwrap().result().unwrap()).collect();
/// cubes.sort();
/// assert_eq!(cubes, [1, 8, 27, 64]);
/// ```
pub fn as_completed<T>(fs: &[Future<T>]) -> AsCompleted<T> {
    AsCompleted::new(fs, None)
}

/// Like [`as_completed`], but once `timeout` (counted from this call) has
/// passed it yields one `Err(Error::Timeout)`, whose message says how many
/// futures are unfinished, and ends. The unfinished futures keep running.
///
/// ```
/// use std::time::Duration;
/// use concurrent_futures::{as_completed_timeout, Future};
/// let (done, never) = (Future::new(), Future::new());
/// done.set_result(1).unwrap();
/// let mut it = as_completed_timeout(&[done, never], Duration::from_millis(10));
/// assert_eq!(it.next().unwrap().unwrap().result(), Ok(1));
/// let e = it.next().unwrap().unwrap_err();
/// assert_eq!(e.to_string(), "1 (of 2) futures unfinished");
/// assert!(it.next().is_none());
/// ```
pub fn as_completed_timeout<T>(fs: &[Future<T>], timeout: Duration) -> AsCompleted<T> {
    AsCompleted::new(fs, deadline_after(timeout))
}

impl<T> AsCompleted<T> {
    fn new(fs: &[Future<T>], deadline: Option<Instant>) -> AsCompleted<T> {
        let fs = distinct(fs);
        let waiter = Waiter::new();
        let mut ready = VecDeque::new();
        for (i, f) in fs.iter().enumerate() {
            if !f.add_waiter(&waiter, i) {
                ready.push_back(i);
            }
        }
        AsCompleted {
            unfinished: fs.len() - ready.len(),
            fs,
            ready,
            waiter,
            deadline,
            timed_out: false,
        }
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Result<Future<T>, Error>;

    // ANCHOR: next
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(i) = self.ready.pop_front() {
                return Some(Ok(self.fs[i].clone()));
            }
            if self.unfinished == 0 || self.timed_out {
                return None;
            }
            // Past the deadline, futures that finished meanwhile are not
            // handed out: Python checks the clock before it collects them.
            let expired = self.deadline.is_some_and(|d| Instant::now() >= d);
            let batch = match expired {
                true => Vec::new(),
                false => self.waiter.next_batch(self.deadline),
            };
            if batch.is_empty() {
                self.timed_out = true;
                return Some(Err(Error::Timeout {
                    message: format!(
                        "{} (of {}) futures unfinished",
                        self.unfinished,
                        self.fs.len()
                    ),
                }));
            }
            self.unfinished -= batch.len();
            self.ready.extend(batch);
        }
    }
    // ANCHOR_END: next
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        // Futures outlive this iterator; leave no dead waiter behind in them.
        if self.unfinished > 0 {
            for f in &self.fs {
                f.remove_waiter(&self.waiter);
            }
        }
    }
}
