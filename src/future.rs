//! §8 of the article: the `Future`, a handle to one task's outcome, and the
//! five states it moves through.
//!
//! `cancel` lives in `cancel.rs` and `add_done_callback` in `callbacks.rs`, each
//! beside its chapter; this file holds the state machine they share.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::thread::{self, Thread};
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
    /// out by `into_result` or `.await` leaves `Slot::MovedOut`).
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

// ANCHOR: layout
/// What one task's future holds, in one allocation (`Arc<Inner<T, Slot<T, F>>>`,
/// the job `F` inside it): the task's state, its job until a worker takes it,
/// and its outcome share one enum (`Slot`), since no task has two of them at
/// once; everything a future only sometimes needs lives in `Extra`, allocated
/// the first time it is needed. For `T = u64` and a job holding a `u64`
/// (checked by the test at the end of this file):
///
/// | part | bytes | why it is there |
/// |---|---|---|
/// | `Arc`'s two counts | 16 | clones and the queue share the allocation |
/// | `id` | 8 | the future's [`FutureId`], given when it is made |
/// | `Mutex` (lock word and poison flag) | 8 | every change below happens under it |
/// | `Cell::extra` | 8 | `None` until a thread blocks in `result()`, a callback, waiter, waker or kill hook is added |
/// | `Cell::slot` | 16 | `Pending(job)`, `Running`, `Value(T)`, `Failed(Box<Error>)`...: tag and the largest of job and `T` |
/// | total | 56 | one 64-byte block from the allocator |
///
/// An error is boxed because it is rare and three times the size of a `u64`;
/// a thread blocked in `result()` waits with `thread::park`, registered in
/// `Extra`, instead of on a condition variable every future would carry.
pub(crate) struct Inner<T, S: ?Sized = dyn Outcome<T>> {
    id: FutureId,
    pub(crate) cell: Mutex<Cell<T, S>>,
}
// ANCHOR_END: layout

/// What a future's lock protects. The handles see the slot as `dyn Outcome<T>`,
/// whatever job it holds; a pool's worker sees its concrete `Slot<T, F>`.
pub(crate) struct Cell<T, S: ?Sized = dyn Outcome<T>> {
    extra: Option<Box<Extra<T>>>,
    pub(crate) slot: S,
}

/// The parts of a future that most futures never need, allocated on first
/// use and taken whole when the future completes.
pub(crate) struct Extra<T> {
    /// Threads blocked in `result()` and friends, unparked on completion.
    parked: Vec<Thread>,
    /// `wait` and `as_completed` calls watching this future, with the index
    /// each of them knows it by.
    waiters: Vec<(Arc<Waiter>, usize)>,
    pub(crate) callbacks: Vec<Callback<T>>,
    /// One slot per `.await` in progress (see `awaiting.rs`): each holds the
    /// waker of its latest poll; `None` once that awaitable is dropped, so
    /// the slot can be reused.
    pub(crate) wakers: Vec<Option<Waker>>,
    /// How the executor running this task stops it (see `stopping.rs`);
    /// dropped when the future is done.
    kill_hook: Option<KillHook>,
}

/// An executor's way to stop a running task: `true` if it stopped it.
pub(crate) type KillHook = Box<dyn FnOnce() -> bool + Send + 'static>;

// ANCHOR: slot
/// The state, the job and the outcome in one place. `J` is the task a pool
/// put there (`()` for a future made with `new`); it is dropped as soon as
/// the future leaves the states that keep it.
pub(crate) enum Slot<T, J> {
    /// `State::Pending`, with the job still in it.
    Pending(J),
    Running,
    /// `State::Cancelled`: the job stays until the worker that pops the item
    /// takes it, and drops it without the lock (dropping may run user code).
    Cancelled(J),
    CancelledAndNotified,
    /// `State::Finished`, the value not yet moved out.
    Value(T),
    /// `State::Finished` with an error; every handle sees it.
    Failed(Box<Error>),
    /// `State::Finished`, the value moved out by `into_result` or `.await`.
    MovedOut,
}
// ANCHOR_END: slot

/// A `Slot` seen without its job's type.
pub(crate) trait Outcome<T>: Send {
    fn state(&self) -> State;
    fn value(&self) -> Option<&T>;
    fn error(&self) -> Option<&Error>;
    /// The handshake's move: `Pending -> Running` (`true`), or
    /// `Cancelled -> CancelledAndNotified` (`false`).
    fn start(&mut self) -> bool;
    /// `Pending -> Cancelled`; `false` from any other state.
    fn cancel(&mut self) -> bool;
    /// Stores the outcome: the future is finished.
    fn store(&mut self, outcome: Result<T, Error>);
    /// Moves a stored value out, leaving `MovedOut`.
    fn take_value(&mut self) -> Option<T>;
}

impl<T: Send, J: Send> Outcome<T> for Slot<T, J> {
    fn state(&self) -> State {
        match self {
            Slot::Pending(_) => State::Pending,
            Slot::Running => State::Running,
            Slot::Cancelled(_) => State::Cancelled,
            Slot::CancelledAndNotified => State::CancelledAndNotified,
            Slot::Value(_) | Slot::Failed(_) | Slot::MovedOut => State::Finished,
        }
    }

    fn value(&self) -> Option<&T> {
        match self {
            Slot::Value(v) => Some(v),
            _ => None,
        }
    }

    fn error(&self) -> Option<&Error> {
        match self {
            Slot::Failed(e) => Some(e),
            _ => None,
        }
    }

    // ANCHOR: start
    fn start(&mut self) -> bool {
        match self {
            Slot::Pending(_) => {
                *self = Slot::Running;
                true
            }
            Slot::Cancelled(_) => {
                *self = Slot::CancelledAndNotified;
                false
            }
            _ => false,
        }
    }
    // ANCHOR_END: start

    fn cancel(&mut self) -> bool {
        match std::mem::replace(self, Slot::Running) {
            Slot::Pending(job) => {
                *self = Slot::Cancelled(job);
                true
            }
            other => {
                *self = other;
                false
            }
        }
    }

    fn store(&mut self, outcome: Result<T, Error>) {
        *self = match outcome {
            Ok(value) => Slot::Value(value),
            Err(e) => Slot::Failed(Box::new(e)),
        };
    }

    fn take_value(&mut self) -> Option<T> {
        match std::mem::replace(self, Slot::MovedOut) {
            Slot::Value(value) => Some(value),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl<T, S: ?Sized + Outcome<T>> Cell<T, S> {
    pub(crate) fn state(&self) -> State {
        self.slot.state()
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state().is_done()
    }
}

impl<T, S: ?Sized> Cell<T, S> {
    /// The rarely used parts, allocated now if this is their first use.
    pub(crate) fn extra(&mut self) -> &mut Extra<T> {
        self.extra.get_or_insert_with(|| {
            Box::new(Extra {
                parked: Vec::new(),
                waiters: Vec::new(),
                callbacks: Vec::new(),
                wakers: Vec::new(),
                kill_hook: None,
            })
        })
    }

    fn has_callbacks(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| !e.callbacks.is_empty())
    }

    pub(crate) fn take_kill_hook(&mut self) -> Option<KillHook> {
        self.extra.as_mut().and_then(|e| e.kill_hook.take())
    }

    pub(crate) fn replace_kill_hook(&mut self, hook: KillHook) -> Option<KillHook> {
        self.extra().kill_hook.replace(hook)
    }
}

impl<T, J> Inner<T, Slot<T, J>> {
    /// The shared state of a pending future, holding `job`.
    pub(crate) fn pending(job: J) -> Inner<T, Slot<T, J>> {
        Inner {
            id: FutureId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            cell: Mutex::new(Cell {
                extra: None,
                slot: Slot::Pending(job),
            }),
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
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `now + timeout`, or `None` (wait for ever) when that overflows.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T: Send + 'static> Future<T> {
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
    pub(crate) fn from_inner<J: Send + 'static>(inner: Arc<Inner<T, Slot<T, J>>>) -> Future<T> {
        Future { inner }
    }
}

impl<T> Future<T> {
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
        self.cell().state() == State::Running
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
        self.cell().is_done()
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
        match (cell.slot.value(), cell.slot.error()) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err(absent(&cell)),
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
        match cell.slot.error() {
            Some(e) => Ok(Some(e.clone())),
            // A value, or a value moved out: the task succeeded.
            None if cell.state() == State::Finished => Ok(None),
            None => Err(Error::Cancelled),
        }
    }

    /// Blocks until the future is done or `deadline` passes. A blocked
    /// thread parks, listed in `Extra::parked` for `complete` to unpark; a
    /// wake-up with the future not done (parking may end spuriously) leaves
    /// it listed, so it parks again without listing itself twice.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<MutexGuard<'_, Cell<T>>, Error> {
        let mut cell = self.cell();
        let mut listed = false;
        while !cell.is_done() {
            if !listed {
                cell.extra().parked.push(thread::current());
                listed = true;
            }
            drop(cell);
            match deadline {
                None => thread::park(),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => thread::park_timeout(left),
                    None => return self.give_up(),
                },
            }
            cell = self.cell();
        }
        Ok(cell)
    }

    /// The deadline passed: unlist this thread, unless the future got done
    /// meanwhile (then `complete` took the list, and the outcome is here).
    fn give_up(&self) -> Result<MutexGuard<'_, Cell<T>>, Error> {
        let mut cell = self.cell();
        if cell.is_done() {
            return Ok(cell);
        }
        let me = thread::current().id();
        if let Some(extra) = cell.extra.as_mut() {
            extra.parked.retain(|t| t.id() != me);
        }
        Err(Error::timeout())
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
        // From `Cancelled`, `cancel()` already woke every waiter: a cancelled
        // future counts as done at once there (see `wait.rs`).
        self.cell().slot.start()
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
        if cell.is_done() {
            return Err(Error::InvalidState {
                message: format!("cannot set the outcome: {}", Describe(&cell)),
            });
        }
        cell.slot.store(outcome);
        before_visible(cell.has_callbacks());
        self.complete(cell);
        Ok(())
    }

    /// The last step of finishing or cancelling: wake whoever waits, then
    /// run the callbacks with the lock released, so that a callback may call
    /// `result()` or `add_done_callback()` on this very future.
    pub(crate) fn complete(&self, mut cell: MutexGuard<'_, Cell<T>>) {
        // Taken under the lock that `poll`, `wait_until` and `add_waiter`
        // register under: a listener is either here, or it comes later and
        // finds the future done.
        let extra = cell.extra.take();
        drop(cell);
        // Nobody listened (the common case): nothing to wake, no callback.
        let Some(extra) = extra else { return };
        let Extra {
            parked,
            waiters,
            callbacks,
            wakers,
            kill_hook,
        } = *extra;
        // After unlocking: a thread woken while we still held the lock
        // would only go back to sleep on the lock itself.
        for thread in parked {
            thread.unpark();
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
        if cell.is_done() {
            return false;
        }
        cell.extra().waiters.push((Arc::clone(waiter), index));
        true
    }

    pub(crate) fn remove_waiter(&self, waiter: &Arc<Waiter>) {
        if let Some(extra) = self.cell().extra.as_mut() {
            extra.waiters.retain(|(w, _)| !Arc::ptr_eq(w, waiter));
        }
    }

    /// True if the task finished with an error (not if it was cancelled).
    pub(crate) fn failed(&self) -> bool {
        self.cell().slot.error().is_some()
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

impl<T: Send + 'static> Default for Future<T> {
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
    if let Some(value) = cell.slot.take_value() {
        return Ok(value);
    }
    match cell.slot.error() {
        Some(e) => Err(e.clone()),
        None => Err(absent(cell)),
    }
}

/// Why a done future holds no outcome: it was cancelled, or its value was
/// moved out.
fn absent<T>(cell: &Cell<T>) -> Error {
    match cell.state() {
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
        let state = self.0.state();
        write!(f, "Future {{ state: {}", state.describe())?;
        match (self.0.slot.value(), self.0.slot.error()) {
            (Some(_), _) => write!(f, ", returned: {}", std::any::type_name::<T>())?,
            (None, Some(e)) => write!(f, ", raised: {}", e.python_name())?,
            (None, None) if state == State::Finished => {
                write!(f, ", returned: {} (moved out)", std::any::type_name::<T>())?
            }
            (None, None) => {}
        }
        f.write_str(" }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_task_with_its_job_takes_56_bytes() {
        let n = 7_u64;
        let inner = Inner::<u64, _>::pending(move || n);
        // `Arc`'s two counts come on top.
        assert_eq!(std::mem::size_of_val(&inner) + 16, 56);
        assert_eq!(std::mem::size_of::<Slot<u64, u64>>(), 16);
    }
}
