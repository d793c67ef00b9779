//! §8 of the article: the `Future`, a handle to one task's outcome, and the
//! five states it moves through.
//!
//! `cancel` lives in `cancel.rs` and `add_done_callback` in `callbacks.rs`, each
//! beside its chapter; this file holds the state machine they share.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::callbacks::Callback;
use crate::waiter::Waiter;
use crate::Error;

// ANCHOR: states
/// Where a future is in its life. Moves only forward:
/// `Pending -> Running -> Finished`, or `Pending -> Cancelled -> CancelledAndNotified`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Submitted, waiting in a queue; the only state `cancel()` can leave.
    Pending,
    /// A worker called `set_running_or_notify_cancel()` and is running it.
    Running,
    /// `cancel()` succeeded; no worker has looked at it yet.
    Cancelled,
    /// A worker took it from the queue, saw it was cancelled and skipped it.
    CancelledAndNotified,
    /// The task returned or panicked; the outcome is stored.
    Finished,
}
// ANCHOR_END: states

impl State {
    fn is_done(self) -> bool {
        matches!(
            self,
            State::Cancelled | State::CancelledAndNotified | State::Finished
        )
    }

    /// The word Python's repr uses for the state.
    fn describe(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Cancelled | State::CancelledAndNotified => "cancelled",
            State::Finished => "finished",
        }
    }
}

/// What a future's lock protects.
pub(crate) struct Cell<T> {
    pub(crate) state: State,
    outcome: Option<Result<T, Error>>,
    pub(crate) callbacks: Vec<Callback<T>>,
    /// `wait` and `as_completed` calls watching this future, with the index
    /// each of them knows it by.
    waiters: Vec<(Arc<Waiter>, usize)>,
    /// Threads blocked in `changed.wait`: lets `finish` skip the wake-up
    /// system call in the common case where nobody is waiting yet.
    sleepers: usize,
}

impl<T> Cell<T> {
    pub(crate) fn is_done(&self) -> bool {
        self.state.is_done()
    }
}

/// What a future's handles share. A pool puts the task itself in `job`, so
/// that one allocation holds both (see `submit.rs`); the handles see it as
/// `dyn Send + Sync`, which they never touch. A future made with `new` has
/// `()` there.
pub(crate) struct Inner<T, J: ?Sized = dyn Send + Sync> {
    cell: Mutex<Cell<T>>,
    changed: Condvar,
    pub(crate) job: J,
}

impl<T, J> Inner<T, J> {
    /// The shared state of a pending future, holding `job`.
    pub(crate) fn pending(job: J) -> Inner<T, J> {
        Inner {
            cell: Mutex::new(Cell {
                state: State::Pending,
                outcome: None,
                callbacks: Vec::new(),
                waiters: Vec::new(),
                sleepers: 0,
            }),
            changed: Condvar::new(),
            job,
        }
    }
}

/// A handle to the outcome of one task: Python's `concurrent.futures.Future`.
///
/// Clones are cheap and refer to the same task. Two handles compare equal
/// (and hash alike) when they refer to the same task, so a future can key a
/// `HashMap`, as Python code keys a dict with futures.
///
/// ```
/// use concurrent_futures::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let f = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(f.result(), Ok(42));
/// assert!(f.done() && !f.running() && !f.cancelled());
/// ```
pub struct Future<T> {
    inner: Arc<Inner<T>>,
}

/// Locks a mutex of ours. No user code ever runs while one is held, so a
/// poisoned lock can only come from a bug here; carrying on beats panicking.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `now + timeout`, or `None` (wait for ever) when that overflows.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T> Future<T> {
    /// A pending future that no executor owns, for executor authors and tests
    /// (Python allows `Future()` for the same reason).
    ///
    /// ```
    /// let f = concurrent_futures::Future::new();
    /// f.set_result("hello").unwrap();
    /// assert_eq!(f.result(), Ok("hello"));
    /// ```
    pub fn new() -> Future<T> {
        Future::from_inner(Arc::new(Inner::pending(())))
    }

    /// A handle to `inner`, whatever job it holds.
    pub(crate) fn from_inner<J: Send + Sync + 'static>(inner: Arc<Inner<T, J>>) -> Future<T> {
        Future { inner }
    }

    pub(crate) fn cell(&self) -> MutexGuard<'_, Cell<T>> {
        lock(&self.inner.cell)
    }

    /// True while a worker runs the task.
    ///
    /// ```
    /// let f = concurrent_futures::Future::<()>::new();
    /// assert!(!f.running());
    /// assert!(f.set_running_or_notify_cancel());
    /// assert!(f.running());
    /// ```
    pub fn running(&self) -> bool {
        self.cell().state == State::Running
    }

    /// True once the task finished or was cancelled.
    ///
    /// ```
    /// let f = concurrent_futures::Future::new();
    /// assert!(!f.done());
    /// f.set_result(1).unwrap();
    /// assert!(f.done());
    /// ```
    pub fn done(&self) -> bool {
        self.cell().state.is_done()
    }

    /// The task's return value, waiting for it as long as it takes.
    ///
    /// `Err(Error::Cancelled)` if the future was cancelled; the task's own
    /// failure (say `Error::Panicked`) if it failed.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(1).unwrap();
    /// let f = pool.submit(|| "done".to_string()).unwrap();
    /// assert_eq!(f.result().unwrap(), "done");
    /// ```
    pub fn result(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.result_until(None)
    }

    /// Like [`result`](Future::result), but gives up with `Error::Timeout`
    /// after `timeout`. The task goes on running.
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurrent_futures::{Error, Future};
    ///
    /// let f = Future::<u8>::new();
    /// let e = f.result_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(matches!(e, Error::Timeout { .. }));
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, Error>
    where
        T: Clone,
    {
        self.result_until(deadline_after(timeout))
    }

    fn result_until(&self, deadline: Option<Instant>) -> Result<T, Error>
    where
        T: Clone,
    {
        let cell = self.wait_until(deadline)?;
        match &cell.outcome {
            Some(outcome) => outcome.clone(),
            None => Err(Error::Cancelled),
        }
    }

    /// The error the task failed with: `Ok(None)` if it succeeded,
    /// `Ok(Some(e))` if it failed, `Err(Error::Cancelled)` if it was cancelled.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(1).unwrap();
    /// let f = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
    /// let e = f.exception().unwrap().unwrap();
    /// assert!(e.to_string().contains("boom"));
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.exception_until(None)
    }

    /// Like [`exception`](Future::exception), but gives up with
    /// `Error::Timeout` after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let f = concurrent_futures::Future::<u8>::new();
    /// assert!(f.exception_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<Error>, Error> {
        self.exception_until(deadline_after(timeout))
    }

    fn exception_until(&self, deadline: Option<Instant>) -> Result<Option<Error>, Error> {
        let cell = self.wait_until(deadline)?;
        match &cell.outcome {
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => Ok(Some(e.clone())),
            None => Err(Error::Cancelled),
        }
    }

    /// Blocks until the future is done or `deadline` passes.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<MutexGuard<'_, Cell<T>>, Error> {
        let mut cell = self.cell();
        while !cell.state.is_done() {
            cell.sleepers += 1;
            let woken = match deadline {
                None => Ok(self.inner.changed.wait(cell)),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => Err(self.inner.changed.wait_timeout(cell, left)),
                    None => {
                        cell.sleepers -= 1;
                        return Err(Error::timeout());
                    }
                },
            };
            cell = match woken {
                Ok(guard) => guard.unwrap_or_else(PoisonError::into_inner),
                Err(timed) => timed.unwrap_or_else(PoisonError::into_inner).0,
            };
            cell.sleepers -= 1;
        }
        Ok(cell)
    }

    /// Waits like `result_timeout`, then moves the outcome out instead of
    /// cloning it. Only `Map`, the sole owner of its futures, calls this.
    pub(crate) fn take_until(&self, deadline: Option<Instant>) -> Result<T, Error> {
        let mut cell = self.wait_until(deadline)?;
        match cell.outcome.take() {
            Some(outcome) => outcome,
            None if cell.state == State::Finished => Err(Error::InvalidState {
                message: "the result was already taken".into(),
            }),
            None => Err(Error::Cancelled),
        }
    }

    // ---- For executors and tests only, as Python fences these off too. ----

    // ANCHOR: handshake
    /// Called by a worker just before it runs the task: `true` means run it
    /// (the future is now running); `false` means it was cancelled, so skip it.
    ///
    /// This one handshake is what makes `cancel()` race-free: whichever of
    /// the worker and the canceller takes the lock first decides.
    /// A future that is already running or finished also answers `false`
    /// (Python raises `RuntimeError` there).
    ///
    /// ```
    /// let f = concurrent_futures::Future::<()>::new();
    /// assert!(f.cancel());
    /// assert!(!f.set_running_or_notify_cancel()); // a worker skips it
    /// ```
    pub fn set_running_or_notify_cancel(&self) -> bool {
        let mut cell = self.cell();
        match cell.state {
            State::Pending => {
                cell.state = State::Running;
                true
            }
            State::Cancelled => {
                // `cancel()` already woke every waiter: a cancelled future
                // counts as done at once here (see `wait.rs`).
                cell.state = State::CancelledAndNotified;
                false
            }
            _ => false,
        }
    }
    // ANCHOR_END: handshake

    /// Stores the task's value, wakes every waiter and runs the callbacks.
    /// `Err(Error::InvalidState)` if the future is already done.
    ///
    /// ```
    /// let f = concurrent_futures::Future::new();
    /// f.set_result(5).unwrap();
    /// assert!(f.set_result(6).is_err());
    /// assert_eq!(f.result(), Ok(5));
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), Error> {
        self.finish(Ok(value))
    }

    /// Stores a failure, wakes every waiter and runs the callbacks.
    /// `Err(Error::InvalidState)` if the future is already done.
    ///
    /// ```
    /// use concurrent_futures::{Error, Future};
    /// let f = Future::<u8>::new();
    /// f.set_exception(Error::Shutdown).unwrap();
    /// assert_eq!(f.result(), Err(Error::Shutdown));
    /// ```
    pub fn set_exception(&self, error: Error) -> Result<(), Error> {
        self.finish(Err(error))
    }

    // ANCHOR: finish
    fn finish(&self, outcome: Result<T, Error>) -> Result<(), Error> {
        self.finish_then(outcome, |_| ())
    }

    /// `finish` for a pool's worker: `before_visible(has_callbacks)` runs
    /// with the lock held, once the outcome is stored and before any waiter
    /// can see it. Lock order: a future's lock, then the pool's.
    pub(crate) fn finish_then(
        &self,
        outcome: Result<T, Error>,
        before_visible: impl FnOnce(bool),
    ) -> Result<(), Error> {
        let mut cell = self.cell();
        if cell.state.is_done() {
            return Err(Error::InvalidState {
                message: format!("cannot set the outcome: {}", Describe(&cell)),
            });
        }
        cell.state = State::Finished;
        cell.outcome = Some(outcome);
        before_visible(!cell.callbacks.is_empty());
        self.complete(cell);
        Ok(())
    }

    /// The last step of finishing or cancelling: wake whoever waits, then
    /// run the callbacks with the lock released, so that a callback may call
    /// `result()` or `add_done_callback()` on this very future.
    pub(crate) fn complete(&self, mut cell: MutexGuard<'_, Cell<T>>) {
        let wake = cell.sleepers > 0;
        let waiters = std::mem::take(&mut cell.waiters);
        let callbacks = std::mem::take(&mut cell.callbacks);
        drop(cell);
        // After unlocking: a thread woken while we still held the lock
        // would only go back to sleep on the lock itself.
        if wake {
            self.inner.changed.notify_all();
        }
        for (waiter, index) in waiters {
            waiter.notify(index);
        }
        crate::callbacks::run(self, callbacks);
    }
    // ANCHOR_END: finish

    /// Registers a `wait`/`as_completed` waiter. Returns `false`, registering
    /// nothing, if the future is already done: checking and registering under
    /// one lock is what keeps a completion from slipping between the two.
    pub(crate) fn add_waiter(&self, waiter: &Arc<Waiter>, index: usize) -> bool {
        let mut cell = self.cell();
        if cell.state.is_done() {
            return false;
        }
        cell.waiters.push((Arc::clone(waiter), index));
        true
    }

    pub(crate) fn remove_waiter(&self, waiter: &Arc<Waiter>) {
        self.cell().waiters.retain(|(w, _)| !Arc::ptr_eq(w, waiter));
    }

    /// True if the task finished with an error (not if it was cancelled).
    pub(crate) fn failed(&self) -> bool {
        matches!(self.cell().outcome, Some(Err(_)))
    }

    pub(crate) fn same(&self, other: &Future<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Default for Future<T> {
    fn default() -> Self {
        Future::new()
    }
}

impl<T> PartialEq for Future<T> {
    fn eq(&self, other: &Self) -> bool {
        self.same(other)
    }
}

impl<T> Eq for Future<T> {}

impl<T> Hash for Future<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.inner).cast::<()>().hash(state)
    }
}

/// Reads like Python's repr: `Future { state: finished, returned: u64 }`.
impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Describe(&self.cell()), f)
    }
}

/// The repr of a future whose lock the caller already holds.
struct Describe<'a, T>(&'a Cell<T>);

impl<T> fmt::Display for Describe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Future {{ state: {}", self.0.state.describe())?;
        match &self.0.outcome {
            Some(Ok(_)) => write!(f, ", returned: {}", std::any::type_name::<T>())?,
            Some(Err(e)) => write!(f, ", raised: {}", e.python_name())?,
            None => {}
        }
        f.write_str(" }")
    }
}
