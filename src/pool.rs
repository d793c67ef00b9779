//! §1.1 of the article: creating a pool of threads — its options, their
//! defaults and their validation — and the state the pool's threads share.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::future::lock;
use crate::Error;

/// A pool of worker threads: Python's `ThreadPoolExecutor`.
///
/// Threads start lazily, one per `submit` at most and only while no worker is
/// idle, up to `max_workers`. Dropping the pool is `shutdown()`: it waits for
/// every task already submitted, which makes a scope the twin of Python's
/// `with` block.
///
/// ```
/// use concurrent_futures::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(5)
///     .thread_name_prefix("Thread")
///     .build()
///     .unwrap();
/// let f = pool.submit(|| std::thread::current().name().unwrap().to_string()).unwrap();
/// assert_eq!(f.result().unwrap(), "Thread_0");
/// ```
pub struct ThreadPoolExecutor {
    pub(crate) shared: Arc<Shared>,
}

/// A queued task with its future, its result type erased so one queue holds
/// tasks of every type. `submit.rs` makes them; defined here, with the queue
/// that holds them, so that the pool depends on nothing that uses it.
pub(crate) trait Work: Send + Sync {
    /// Runs the task unless it was cancelled. `before_visible` is called at
    /// most once, with the future's lock held, after the outcome is stored
    /// and before anyone can see it; its argument says whether callbacks
    /// will run next (see `worker` in `submit.rs` for why).
    fn run(self: Arc<Self>, before_visible: &mut dyn FnMut(bool));
    /// Cancels the future: `shutdown_with(cancel_futures)` dropped the item.
    fn cancel(self: Arc<Self>);
    /// Fails the future: the pool broke before the item could run.
    fn fail(self: Arc<Self>, error: Error);
}

/// The initializer as the workers share it (set by `Builder::initializer`,
/// run by `initializer.rs`).
pub(crate) type Initializer = Arc<dyn Fn() + Send + Sync + 'static>;

/// Everything the pool's handle, its workers and its `Map`s share.
pub(crate) struct Shared {
    pub(crate) queue: Mutex<Queue>,
    /// Zero exactly when `queue.items` is empty, readable without the lock:
    /// a worker about to go idle or spinning for work looks here first, so
    /// that it takes the lock only when there is something to take. Written
    /// only when the queue turns empty or non-empty, not on every push and
    /// pop: each write takes the cache line away from the workers reading
    /// it, which cost the submitting thread a cache miss per task.
    pub(crate) queued: AtomicUsize,
    /// More than one CPU: only then may an idle worker spin briefly before it
    /// sleeps (with one CPU, spinning only delays the thread it waits for).
    pub(crate) spin: bool,
    /// Idle workers sleep here until an item is queued or the pool closes.
    pub(crate) work_ready: Condvar,
    /// `shutdown` sleeps here until the workers have exited.
    pub(crate) workers_gone: Condvar,
    pub(crate) max_workers: usize,
    pub(crate) prefix: String,
    pub(crate) initializer: Option<Initializer>,
}

/// What the queue's lock protects.
pub(crate) struct Queue {
    /// Every task not yet taken by a worker, as in Python's one work queue:
    /// a new thread's first task waits here too, so whichever thread is
    /// ready first runs it, and shutdown or a broken pool reaches it.
    pub(crate) items: VecDeque<Arc<dyn Work>>,
    /// Python's `_idle_semaphore`: a worker adds one when it finds the queue
    /// empty (or is about to, see `worker`), `submit` takes one instead of
    /// starting a thread.
    pub(crate) idle: usize,
    /// Workers blocked on `work_ready`; nobody to wake means no system call.
    pub(crate) sleeping: usize,
    /// Wake-ups sent that no worker has taken yet: a sleeper already on its
    /// way needs no second system call. If a spurious wake-up takes one,
    /// the count only runs low, which costs a call and loses nothing.
    pub(crate) wakes_pending: usize,
    /// Threads started so far; also the number in the next thread's name.
    pub(crate) started: usize,
    /// Threads that have not exited yet.
    pub(crate) alive: usize,
    pub(crate) handles: Vec<JoinHandle<()>>,
    pub(crate) shutdown: bool,
    /// Why the pool is broken, once an initializer has failed.
    pub(crate) broken: Option<String>,
}

/// Options for a [`ThreadPoolExecutor`], Python's keyword arguments.
///
/// ```
/// let pool = concurrent_futures::ThreadPoolExecutor::builder().build().unwrap();
/// assert!(pool.max_workers() >= 5); // min(32, cpus + 4)
/// ```
#[derive(Default)]
pub struct Builder {
    max_workers: Option<usize>,
    prefix: Option<String>,
    pub(crate) initializer: Option<Initializer>,
}

/// Numbers the pools built without a name prefix, as Python's class counter does.
static UNNAMED_POOLS: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: defaults
/// Python's default: `min(32, os.cpu_count() + 4)`, enough threads to keep
/// the CPUs busy while some of them wait on I/O.
pub fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    32.min(cpus + 4)
}
// ANCHOR_END: defaults

impl Builder {
    /// How many threads the pool may start; must be at least 1.
    ///
    /// ```
    /// use concurrent_futures::{Error, ThreadPoolExecutor};
    /// let e = ThreadPoolExecutor::builder().max_workers(0).build().unwrap_err();
    /// assert!(matches!(e, Error::InvalidArgument { .. }));
    /// ```
    pub fn max_workers(mut self, n: usize) -> Builder {
        self.max_workers = Some(n);
        self
    }

    /// Names the threads `{prefix}_0`, `{prefix}_1`, ...; the default prefix
    /// is `ThreadPoolExecutor-{k}`, k counting such pools in this process.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::builder()
    ///     .thread_name_prefix("io").build().unwrap();
    /// let name = pool.submit(|| std::thread::current().name().map(String::from)).unwrap();
    /// assert_eq!(name.result().unwrap().as_deref(), Some("io_0"));
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.prefix = Some(prefix.into());
        self
    }

    // ANCHOR: build
    /// Checks the options and makes the pool. No thread starts yet.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::builder().max_workers(3).build().unwrap();
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    pub fn build(self) -> Result<ThreadPoolExecutor, Error> {
        let max_workers = self.max_workers.unwrap_or_else(default_max_workers);
        if max_workers == 0 {
            return Err(Error::invalid_argument(
                "max_workers must be greater than 0",
            ));
        }
        let prefix = self.prefix.unwrap_or_else(|| {
            let k = UNNAMED_POOLS.fetch_add(1, Ordering::Relaxed);
            format!("ThreadPoolExecutor-{k}")
        });
        Ok(ThreadPoolExecutor {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    items: VecDeque::new(),
                    idle: 0,
                    sleeping: 0,
                    wakes_pending: 0,
                    started: 0,
                    alive: 0,
                    handles: Vec::new(),
                    shutdown: false,
                    broken: None,
                }),
                queued: AtomicUsize::new(0),
                spin: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
                work_ready: Condvar::new(),
                workers_gone: Condvar::new(),
                max_workers,
                prefix,
                initializer: self.initializer,
            }),
        })
    }
    // ANCHOR_END: build
}

impl ThreadPoolExecutor {
    /// A pool of at most `max_workers` threads; `Error::InvalidArgument` for 0.
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(5).unwrap();
    /// assert_eq!(pool.max_workers(), 5);
    /// assert!(concurrent_futures::ThreadPoolExecutor::new(0).is_err());
    /// ```
    pub fn new(max_workers: usize) -> Result<ThreadPoolExecutor, Error> {
        Builder::default().max_workers(max_workers).build()
    }

    /// Starts the options of a pool; see [`Builder`].
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::builder().max_workers(2).build().unwrap();
    /// # drop(pool);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The most threads this pool will run.
    ///
    /// ```
    /// assert_eq!(concurrent_futures::ThreadPoolExecutor::new(7).unwrap().max_workers(), 7);
    /// ```
    pub fn max_workers(&self) -> usize {
        self.shared.max_workers
    }

    /// How many threads the pool has started so far (Python's
    /// `len(executor._threads)`).
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(4).unwrap();
    /// assert_eq!(pool.threads_started(), 0); // lazily, on the first submit
    /// pool.submit(|| ()).unwrap().result().unwrap();
    /// assert_eq!(pool.threads_started(), 1);
    /// ```
    pub fn threads_started(&self) -> usize {
        lock(&self.shared.queue).started
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = lock(&self.shared.queue);
        f.debug_struct("ThreadPoolExecutor")
            .field("prefix", &self.shared.prefix)
            .field("max_workers", &self.shared.max_workers)
            .field("threads", &q.started)
            .field("queued", &q.items.len())
            .field("shutdown", &q.shutdown)
            .field("broken", &q.broken.is_some())
            .finish()
    }
}
