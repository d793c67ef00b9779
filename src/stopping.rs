//! Stopping running work: [`Future::kill`], the hook through which an
//! executor lets `kill` reach the task it runs, and [`SubmitOptions`] (a
//! per-task time limit).
//!
//! `cancel` stops a task that has not started. Once it runs, only its
//! executor can stop it, and only if it runs somewhere that can be stopped
//! from outside: a worker process can be killed (the pool then starts a
//! fresh one); a thread cannot, since killing it would leave whatever it
//! locked or half-wrote as it was. The future itself stays the generic
//! five-state machine; an executor that can stop a task installs a hook.
//!
//! | state when `kill` is called | what happens | answer |
//! |---|---|---|
//! | pending | cancelled, as by `cancel` | `true` |
//! | cancelled | nothing | `true`, as `cancel` answers |
//! | running, with a kill hook | the hook runs (once) | what the hook answers |
//! | running, no hook (a thread task) | nothing | `false` |
//! | finished | nothing | `false` |

use std::time::Duration;

use crate::future::State;
use crate::Future;

// ANCHOR: submit_options
/// Per-task keywords for a process pool's `submit_with`: pebble's
/// `schedule(timeout=)`.
///
/// `timeout` counts from when the task starts running, not from when it was
/// queued; when it runs out, the worker is killed and the future fails with
/// `Error::Killed`. `Some(Duration::ZERO)` is `Error::InvalidArgument`.
/// A thread pool has no `submit_with`: a running thread cannot be stopped.
///
/// ```
/// use std::time::Duration;
/// use concurrent_futures::SubmitOptions;
///
/// let opts = SubmitOptions { timeout: Some(Duration::from_secs(30)) };
/// assert_eq!(SubmitOptions::default().timeout, None); // no limit
/// # drop(opts);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SubmitOptions {
    /// The most time the task may run; `None`: no limit.
    pub timeout: Option<Duration>,
}
// ANCHOR_END: submit_options

impl<T> Future<T> {
    // ANCHOR: kill
    /// Stops the task, if anything can: a pending task is cancelled (`true`,
    /// like [`cancel`](Future::cancel)); a running task is stopped by its
    /// executor's kill hook, if it installed one (`true` if the hook stopped
    /// it, and the future then fails with `Error::Killed`). A task running on
    /// a thread, or a future that is done, is left as it is: `false`.
    ///
    /// ```
    /// use concurrent_futures::{Error, Future, ThreadPoolExecutor};
    ///
    /// let pending = Future::<u8>::new();
    /// assert!(pending.kill());
    /// assert!(pending.cancelled());
    ///
    /// // A thread cannot be stopped from outside: `kill` says so.
    /// let pool = ThreadPoolExecutor::new(1).unwrap();
    /// let (started, wait_started) = std::sync::mpsc::channel();
    /// let (release, wait_release) = std::sync::mpsc::channel::<()>();
    /// let f = pool.submit(move || { started.send(()).unwrap(); wait_release.recv().ok(); 7 }).unwrap();
    /// wait_started.recv().unwrap();
    /// assert!(!f.kill());
    /// release.send(()).unwrap();
    /// assert_eq!(f.result(), Ok(7));
    /// ```
    pub fn kill(&self) -> bool {
        loop {
            let mut cell = self.cell();
            match cell.state() {
                State::Running => {
                    // Taken, so that of two racing kills only one calls it.
                    let hook = cell.take_kill_hook();
                    drop(cell);
                    // Unlocked: the hook fails the future, which locks it.
                    return hook.is_some_and(|hook| hook());
                }
                State::Finished => return false,
                State::Pending | State::Cancelled | State::CancelledAndNotified => {
                    drop(cell);
                    if self.cancel() {
                        return true;
                    }
                    // A worker started it in between: look again.
                }
            }
        }
    }
    // ANCHOR_END: kill

    // ANCHOR: set_kill_hook
    /// For executor authors: how [`kill`](Future::kill) stops this task once
    /// it runs. Returns `false`, dropping `hook`, if the future is already
    /// done; a second call replaces the first hook.
    ///
    /// The contract, which is what keeps a kill racing the task's own end
    /// down to exactly one outcome:
    /// - `kill` calls the hook at most once, only while the future is
    ///   running, in the thread that called `kill`, with no lock held;
    /// - the hook stops the task, fails the future with
    ///   `set_exception(Error::Killed { .. })`, and answers whether that
    ///   call succeeded: `false` if the task's own outcome got there first
    ///   (the task was not stopped, as far as the future's user can tell);
    /// - the future drops the hook, unused, once it is done, so a hook may
    ///   own what it needs (a handle to the worker, say).
    ///
    /// ```
    /// use concurrent_futures::{Error, Future};
    ///
    /// let f = Future::<u8>::new();
    /// assert!(f.set_running_or_notify_cancel()); // an executor starts it
    /// let handle = f.clone();
    /// f.set_kill_hook(move || {
    ///     // (stop the worker here)
    ///     let why = Error::Killed { message: "kill() was called".into() };
    ///     handle.set_exception(why).is_ok()
    /// });
    /// assert!(f.kill());
    /// assert!(matches!(f.result(), Err(Error::Killed { .. })));
    /// ```
    pub fn set_kill_hook<F>(&self, hook: F) -> bool
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        let mut cell = self.cell();
        if cell.is_done() {
            drop(cell);
            return false;
        }
        let old = cell.replace_kill_hook(Box::new(hook));
        drop(cell);
        // A replaced hook may own anything: dropped without the lock.
        drop(old);
        true
    }
    // ANCHOR_END: set_kill_hook
}
