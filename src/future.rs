//! §8 of the article: the `Future`, a handle to one task's outcome, and the
//! five states it moves through.
//!
//! `cancel` lives in `cancel.rs` and `add_done_callback` in `callbacks.rs`, each
//! beside its chapter; this file holds the state machine they share.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
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
    /// The task returned or panicked; the outcome is stored (a value moved
    /// out by `into_result` or `.await` leaves `outcome` empty).
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
    /// One slot per `.await` in progress (see `awaiting.rs`): each holds the
    /// waker of its latest poll; `None` once that awaitable is dropped, so
    /// the slot can be reused.
    pub(crate) wakers: Vec<Option<Waker>>,
    /// How the executor running this task stops it (see `stopping.rs`);
    /// dropped when the future is done.
    pub(crate) kill_hook: Option<KillHook>,
}

/// An executor's way to stop a running task: `true` if it stopped it.
pub(crate) type KillHook = Box<dyn FnOnce() -> bool + Send + 'static>;

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
    id: FutureId,
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
                wakers: Vec::new(),
                kill_hook: None,
            }),
            changed: Condvar::new(),
            id: FutureId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            job,
        }
    }
}

// ANCHOR: future_id
/// A future's identity: a plain number, `Copy + Eq + Hash + Ord`, to key a
/// map by future (Python's dict of futures) without clippy's
/// `mutable_key_type` objecting to a key that holds a lock.
///
/// Every future gets its own when it is made, and keeps it: clones share it,
/// and no later future reuses it, even after this one is dropped. Ids grow in
/// the order futures were made, so sorting by id is submission order.
///
/// ```
/// use std::collections::HashMap;
/// use concurrent_futures::{as_completed, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let futures: Vec<_> = (1..=3_u64).map(|i| pool.submit(move || i * 10).unwrap()).collect();
/// let names: HashMap<_, _> = futures.iter().zip(["a", "b", "c"]).map(|(f, n)| (f.id(), n)).collect();
/// for f in as_completed(&futures) {
///     let f = f.unwrap();
///     let value = f.result().unwrap();
///     assert_eq!(names[&f.id()], ["a", "b", "c"][(value / 10 - 1) as usize]);
/// }
/// assert!(futures[0].id() < futures[1].id());
/// assert_eq!(futures[0].id(), futures[0].clone().id());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FutureId(u64);
// ANCHOR_END: future_id

/// The next future's id. Relaxed is enough: ids need to be distinct, and
/// a future reaches another thread only through a lock or a channel.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A handle to the outcome of one task: Python's `concurrent.futures.Future`.
///
/// Clones are cheap and refer to the same task. Two handles compare equal
/// (and hash alike) when they refer to the same task, so a future can key a
/// `HashMap`, as Python code keys a dict with futures; [`Future::id`] is a
/// plain `Copy` key for the same purpose.
///
/// Async code `.await`s a future instead of blocking in `result()` (see
/// [`Awaitable`](crate::Awaitable)); a value that is not `Clone` is moved out
/// with [`into_result`](Future::into_result).
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

    /// This future's identity, shared by its clones: a key for maps and
    /// sets of futures (see [`FutureId`]).
    ///
    /// ```
    /// use concurrent_futures::Future;
    /// let (a, b) = (Future::<u8>::new(), Future::<u8>::new());
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> FutureId {
        self.inner.id
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
            None => Err(absent(&cell)),
        }
    }

    // ANCHOR: into_result
    /// The task's return value, moved out of the future instead of cloned:
    /// for a `T` that is not `Clone`, such as `std::io::Result<File>`. Waits
    /// as long as it takes, like [`result`](Future::result).
    ///
    /// The value can be moved out once. If other handles to this future
    /// exist (clones, or the ones `wait` and `as_completed` hand back), they
    /// still see the future finished and `exception()` still says it
    /// succeeded, but their `result()` and `into_result()` answer
    /// `Err(Error::InvalidState)`: the value is gone. An error is not moved
    /// (errors are `Clone`): every handle sees it. Awaiting a future
    /// (`.await`) moves the value out in the same way.
    ///
    /// ```
    /// use std::io;
    /// use concurrent_futures::{Error, ThreadPoolExecutor};
    ///
    /// let pool = ThreadPoolExecutor::new(1).unwrap();
    /// // `io::Error` is not `Clone`, so `result()` is not available here.
    /// let f = pool.submit(|| -> io::Result<String> { Ok("read".into()) }).unwrap();
    /// let other = f.clone();
    /// assert_eq!(f.into_result().unwrap().unwrap(), "read");
    /// assert!(matches!(other.into_result(), Err(Error::InvalidState { .. })));
    /// ```
    pub fn into_result(self) -> Result<T, Error> {
        self.take_until(None)
    }
    // ANCHOR_END: into_result

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
            // Only a value is ever moved out: the task succeeded.
            None if cell.state == State::Finished => Ok(None),
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

    /// Waits like `result_timeout`, then moves the value out instead of
    /// cloning it (`into_result`, and `Map`, the sole owner of its futures).
    pub(crate) fn take_until(&self, deadline: Option<Instant>) -> Result<T, Error> {
        let mut cell = self.wait_until(deadline)?;
        take(&mut cell)
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
        // Taken under the lock that `poll` registers under: a waker is
        // either here, or its poll comes later and finds the future done.
        let wakers = std::mem::take(&mut cell.wakers);
        let kill_hook = cell.kill_hook.take();
        drop(cell);
        // After unlocking: a thread woken while we still held the lock
        // would only go back to sleep on the lock itself.
        if wake {
            self.inner.changed.notify_all();
        }
        for (waiter, index) in waiters {
            waiter.notify(index);
        }
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
        // The executor's hook may own anything; it is dropped unlocked too.
        drop(kill_hook);
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

/// Moves the value out of a done future; an error stays for the other
/// handles, since only a value may be impossible to clone.
pub(crate) fn take<T>(cell: &mut Cell<T>) -> Result<T, Error> {
    match cell.outcome.take() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => {
            cell.outcome = Some(Err(e.clone()));
            Err(e)
        }
        None => Err(absent(cell)),
    }
}

/// Why a done future holds no outcome: it was cancelled, or its value was
/// moved out.
fn absent<T>(cell: &Cell<T>) -> Error {
    match cell.state {
        State::Finished => Error::InvalidState {
            message: "the result was already moved out (by `into_result` or `.await`)".into(),
        },
        _ => Error::Cancelled,
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
            None if self.0.state == State::Finished => {
                write!(f, ", returned: {} (moved out)", std::any::type_name::<T>())?
            }
            None => {}
        }
        f.write_str(" }")
    }
}
