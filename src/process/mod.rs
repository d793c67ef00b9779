//! §3, §5.4, §7 and §10-§12 of the article on processes: a pool of worker
//! processes, Python's `ProcessPoolExecutor`.
//!
//! # How to use it
//!
//! A closure cannot cross a process boundary, so a process task is a named
//! function ([`Task`]) listed in a table (`TASKS`) that the pool and its
//! workers share: a worker is this very program, started again, and its
//! first line, [`serve_if_worker`], makes it serve tasks from the table
//! instead of running `main`. Arguments and results travel as bytes
//! ([`Wire`]).
//!
//! ```
//! use concurrent_futures::process::{serve_if_worker, Registered, Task};
//! use concurrent_futures::ProcessPoolExecutor;
//!
//! fn hello(name: String) -> String {
//!     format!("Hello, {name}, from process {}", std::process::id())
//! }
//! const HELLO: Task<String, String> = Task::new("hello", hello);
//! const TASKS: &[&dyn Registered] = &[&HELLO];
//!
//! fn main() {
//!     serve_if_worker(TASKS); // in a worker, serves and never returns
//!     let pool = ProcessPoolExecutor::new(2).unwrap();
//!     let future = pool.submit(&HELLO, "world".to_string()).unwrap();
//!     assert!(future.result().unwrap().starts_with("Hello, world"));
//! } // dropping the pool waits for its work, as leaving `with` does
//! ```
//!
//! Under `cargo test`, put [`worker_test!`](crate::worker_test)`(TASKS)` in
//! the test file instead of calling `serve_if_worker` from a `main`.
//!
//! # Implementation
//!
//! Files, top to bottom; each imports only from those below it:
//!
//! | file | what it is |
//! |---|---|
//! | `mod.rs`, `map.rs` | the pool's public face: `submit`, `map`, `shutdown` |
//! | `serve.rs` | one worker seen from the parent: start, its two threads, its end; killing workers |
//! | `schedule.rs` | which worker gets which queued item, and handing it over |
//! | `stop.rs` | stopping one running item: its kill hook, the deadline watcher |
//! | `state.rs` | the queue, one `Slot` per worker (its life: the table on `Phase`), the pool's threads |
//! | `child.rs`, `status.rs` | the worker's process: spawn, reap, an exit status in words |
//! | `conn.rs` | the connection: private, and the same type on every platform |
//! | `frame.rs` | the messages on the connection |
//! | `wire.rs`, `task.rs` | values as bytes; tasks by name |
//! | `worker.rs` | the worker process's own loop |
//!
#![doc = include_str!("diagram.md")]
//!
//! ## Threads
//!
//! Each worker costs two threads in the parent and two in the worker:
//! - parent, the **receiver**: accepts the worker's connection, then blocks
//!   reading results, and reaps the process when its stream ends (no
//!   thread ever blocks in `Child::wait`, so any thread may kill a worker;
//!   on Windows it also looks at the process once a second while it waits,
//!   because under Wine a dead worker's stream may never end);
//! - parent, the **sender**: sleeps on its worker's own condition variable;
//!   it writes what no other thread may (the initializer, frames too big to
//!   write without blocking, the `Close` that retires the worker), so a
//!   thread that others wait for never blocks in a write;
//! - parent, in a test binary only, a **stdout** and a **stderr** thread
//!   that pass on what the worker prints, minus libtest's header (see
//!   `child.rs`); a program's workers share its stdout and stderr;
//! - worker, a **reader** and a **runner** that swap roles: whichever
//!   reads a call while no task runs runs it itself, and once that task
//!   has run 10 ms the other takes over reading. A call so reaches its
//!   task with no hop between threads, short tasks cost no wake-up of the
//!   other thread, and while a longer task runs the connection is still
//!   read, so a `Recall` is answered, and a stop frame or the parent's end
//!   (end of stream) ends the worker, within about 10 ms.
//!
//! A pool given a timed task (`submit_with`, `task_timeout`) has one more
//! thread, the deadline watcher (`stop.rs`): one per pool, not per task.
//!
//! A task costs three wake-ups in all: the worker's, the receiver's and
//! the caller's. Items pass to a worker from a thread that is running
//! anyway, never through a thread woken only to pass them on; and only the
//! thread that set `writing` writes to a worker, so frames never
//! interleave and a death report knows what was delivered.
//!
//! ## The connection
//!
//! One private connection per worker (see `conn.rs`): an abstract Unix
//! socket on Linux, loopback TCP elsewhere (Windows has no Unix sockets in
//! std). Neither has a path, so `$TMPDIR` plays no part; either may be
//! reached by another local process, so the first frame must carry the
//! pool's 128-bit token and the pid of the child we started. Sockets are
//! close-on-exec, so a task's subprocesses never inherit it; the worker's
//! stdin is empty.

mod child;
mod conn;
mod frame;
mod map;
mod schedule;
mod serve;
mod state;
mod status;
mod stop;
mod task;
mod wire;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use task::{Registered, Task};
pub use wire::Wire;
pub use worker::serve_if_worker;

use crate::future::lock;
use crate::{Error, Future, Shutdown, SubmitOptions};
use state::{Item, Phase, Pool, Shared};

/// A pool of worker processes: Python's `ProcessPoolExecutor`.
///
/// Workers start lazily, one per `submit` at most and only while none is
/// free, up to `max_workers`; dropping the pool is `shutdown()`. Tasks are
/// [`Task`]s listed in the table given to [`serve_if_worker`].
///
/// ```
/// use concurrent_futures::process::{serve_if_worker, Registered, Task};
/// use concurrent_futures::{MapOptions, ProcessPoolExecutor};
///
/// fn cube(x: u64) -> u64 { x.pow(3) }
/// const CUBE: Task<u64, u64> = Task::new("cube", cube);
/// const TASKS: &[&dyn Registered] = &[&CUBE];
///
/// fn main() {
///     serve_if_worker(TASKS);
///     let pool = ProcessPoolExecutor::new(2).unwrap();
///     let f = pool.submit(&CUBE, 3).unwrap();
///     assert_eq!(f.result(), Ok(27));
///     let opts = MapOptions { chunksize: 2, ..Default::default() };
///     let cubes: Vec<u64> = pool.map_with(&CUBE, 1..=4, opts).unwrap().map(Result::unwrap).collect();
///     assert_eq!(cubes, [1, 8, 27, 64]);
/// }
/// ```
pub struct ProcessPoolExecutor {
    pool: Pool,
}

/// Options for a [`ProcessPoolExecutor`], Python's keyword arguments.
///
/// ```
/// use concurrent_futures::ProcessPoolExecutor;
/// let pool = ProcessPoolExecutor::builder().max_workers(2).max_tasks_per_child(10).build().unwrap();
/// assert_eq!(pool.max_workers(), 2);
/// ```
#[derive(Default)]
pub struct Builder {
    max_workers: Option<usize>,
    max_tasks_per_child: Option<usize>,
    initializer: Option<(&'static str, Result<Vec<u8>, Error>)>,
}

impl Builder {
    /// The most worker processes; the default is the number of CPUs.
    ///
    /// ```
    /// let b = concurrent_futures::ProcessPoolExecutor::builder().max_workers(0);
    /// assert!(b.build().is_err()); // InvalidArgument, Python's ValueError
    /// ```
    pub fn max_workers(mut self, n: usize) -> Builder {
        self.max_workers = Some(n);
        self
    }

    /// Replaces each worker with a fresh process after it has run `n` work
    /// items (a chunk counts as one, as in Python).
    ///
    /// ```
    /// let b = concurrent_futures::ProcessPoolExecutor::builder().max_tasks_per_child(0);
    /// assert!(b.build().is_err());
    /// ```
    pub fn max_tasks_per_child(mut self, n: usize) -> Builder {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// Runs `task(args)` once in each worker before its first task. If it
    /// panics, the pool is broken: every pending and later future fails
    /// with `Error::BrokenPool`. Its result is ignored.
    ///
    /// ```
    /// use concurrent_futures::process::Task;
    /// const GREET: Task<String, ()> = Task::new("greet", |who| eprintln!("hello {who}"));
    /// let b = concurrent_futures::ProcessPoolExecutor::builder().initializer(&GREET, "pool".to_string());
    /// # drop(b);
    /// ```
    pub fn initializer<A: Wire, R: Wire>(mut self, task: &Task<A, R>, args: A) -> Builder {
        self.initializer = Some((task.name(), wire::to_bytes(&args)));
        self
    }

    /// Checks the options and makes the pool. No process starts yet.
    ///
    /// ```
    /// let pool = concurrent_futures::ProcessPoolExecutor::builder().build().unwrap();
    /// assert!(pool.max_workers() >= 1);
    /// ```
    pub fn build(self) -> Result<ProcessPoolExecutor, Error> {
        if let Some(why) = worker::refused() {
            return Err(Error::invalid_argument(why));
        }
        let max_workers = self.max_workers.unwrap_or_else(default_max_workers);
        if max_workers == 0 {
            return Err(Error::invalid_argument(
                "max_workers must be greater than 0",
            ));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(Error::invalid_argument("max_tasks_per_child must be >= 1"));
        }
        let initializer = match self.initializer {
            None => None,
            Some((name, Ok(args))) => Some((name, args)),
            Some((name, Err(e))) => {
                return Err(wire::encoding(format!(
                    "could not encode the arguments of the initializer `{name}`: {e}"
                )))
            }
        };
        let tasks_per_child = self.max_tasks_per_child;
        let pool = Arc::new_cyclic(|me| {
            Shared::new(max_workers, tasks_per_child, initializer, me.clone())
        });
        Ok(ProcessPoolExecutor { pool })
    }
}

/// Python's default for process pools: the number of CPUs this process may use.
fn default_max_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl ProcessPoolExecutor {
    /// A pool of at most `max_workers` processes; `Error::InvalidArgument` for 0.
    ///
    /// ```
    /// let pool = concurrent_futures::ProcessPoolExecutor::new(5).unwrap();
    /// assert_eq!(pool.max_workers(), 5);
    /// assert!(concurrent_futures::ProcessPoolExecutor::new(0).is_err());
    /// ```
    pub fn new(max_workers: usize) -> Result<ProcessPoolExecutor, Error> {
        Builder::default().max_workers(max_workers).build()
    }

    /// Starts the options of a pool; see [`Builder`].
    ///
    /// ```
    /// let pool = concurrent_futures::ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
    /// # drop(pool);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The most worker processes this pool will run at once.
    ///
    /// ```
    /// assert_eq!(concurrent_futures::ProcessPoolExecutor::new(3).unwrap().max_workers(), 3);
    /// ```
    pub fn max_workers(&self) -> usize {
        self.pool.max_workers
    }

    /// The process ids of the workers started so far, in order, retired
    /// and dead ones included (Python's `executor._processes`, roughly).
    ///
    /// ```
    /// let pool = concurrent_futures::ProcessPoolExecutor::new(2).unwrap();
    /// assert!(pool.worker_pids().is_empty()); // lazily, on the first submit
    /// ```
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.pool.state)
            .workers
            .iter()
            .map(|w| w.pid)
            .collect()
    }

    // ANCHOR: submit
    /// Schedules `task(arg)` in a worker process and returns its [`Future`]
    /// at once.
    ///
    /// If `arg` fails to encode, only this future fails (`Error::Encoding`).
    /// A panic in the task becomes `Error::Panicked` with its message and
    /// location; the worker lives on. `Error::Shutdown` after `shutdown`,
    /// `Error::BrokenPool` once a worker has died.
    ///
    /// ```
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// const ADD: Task<(u64, u64), u64> = Task::new("add", |(a, b)| a + b);
    /// const TASKS: &[&dyn Registered] = &[&ADD];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = concurrent_futures::ProcessPoolExecutor::new(1).unwrap();
    ///     assert_eq!(pool.submit(&ADD, (2, 3)).unwrap().result(), Ok(5));
    /// }
    /// ```
    pub fn submit<A, R>(&self, task: &Task<A, R>, arg: A) -> Result<Future<R>, Error>
    where
        A: Wire,
        R: Wire + Send + 'static,
    {
        submit(&self.pool, task.name(), false, wire::to_bytes(&arg), None)
    }
    // ANCHOR_END: submit

    // ANCHOR: submit_with
    /// [`submit`](ProcessPoolExecutor::submit) with per-task options: with
    /// `timeout: Some(d)`, if the task still runs `d` after it started (not
    /// after it was queued), its worker is killed, the future fails with
    /// `Error::Killed`, and a fresh worker (its initializer run again) takes
    /// its place. The pool goes on; no other future fails. Items the killed
    /// worker held but had not finished go back to the queue and run in
    /// another worker. `Some(Duration::ZERO)` is `Error::InvalidArgument`.
    ///
    /// The clock starts when the task is handed to a worker, and a timed
    /// task is only handed to a worker holding nothing else, so it starts
    /// at once (a new worker runs its initializer first, within the limit).
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// use concurrent_futures::{Error, ProcessPoolExecutor, SubmitOptions};
    /// const NAP: Task<u64, u64> = Task::new("nap", |ms| {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// });
    /// const TASKS: &[&dyn Registered] = &[&NAP];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = ProcessPoolExecutor::new(1).unwrap();
    ///     let opts = SubmitOptions { timeout: Some(Duration::from_millis(50)) };
    ///     let stuck = pool.submit_with(&NAP, 60_000, opts).unwrap();
    ///     assert!(matches!(stuck.result(), Err(Error::Killed { .. })));
    ///     assert_eq!(pool.submit(&NAP, 1).unwrap().result(), Ok(1)); // a fresh worker
    /// }
    /// ```
    pub fn submit_with<A, R>(
        &self,
        task: &Task<A, R>,
        arg: A,
        opts: SubmitOptions,
    ) -> Result<Future<R>, Error>
    where
        A: Wire,
        R: Wire + Send + 'static,
    {
        check_timeout(opts.timeout, "timeout")?;
        let payload = wire::to_bytes(&arg);
        submit(&self.pool, task.name(), false, payload, opts.timeout)
    }
    // ANCHOR_END: submit_with

    // ANCHOR: terminate_workers
    /// CPython 3.14's `terminate_workers()`: `shutdown(wait: false,
    /// cancel_futures: true)`, then asks every live worker to exit (its
    /// connection is closed, which ends a worker at once) and kills any
    /// still running a second later. Returns at once. Futures still
    /// running fail with `Error::BrokenPool` saying the workers were
    /// terminated; later `submit`s fail. Calling it again, or on a pool
    /// that never started a worker, is fine.
    ///
    /// ```
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// use concurrent_futures::{Error, ProcessPoolExecutor};
    /// const HANG: Task<(), ()> = Task::new("hang", |()| std::thread::sleep(std::time::Duration::from_secs(60)));
    /// const TASKS: &[&dyn Registered] = &[&HANG];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = ProcessPoolExecutor::new(1).unwrap();
    ///     let f = pool.submit(&HANG, ()).unwrap();
    ///     while !f.running() { std::thread::yield_now(); }
    ///     pool.terminate_workers();
    ///     assert!(matches!(f.result(), Err(Error::BrokenPool { .. })));
    ///     assert!(pool.submit(&HANG, ()).is_err());
    /// }
    /// ```
    pub fn terminate_workers(&self) {
        self.stop_workers(false)
    }

    /// CPython 3.14's `kill_workers()`: as
    /// [`terminate_workers`](ProcessPoolExecutor::terminate_workers), but
    /// every live worker is killed at once (std's `Child::kill`).
    ///
    /// ```
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// use concurrent_futures::{Error, ProcessPoolExecutor};
    /// const HANG: Task<(), ()> = Task::new("hang", |()| std::thread::sleep(std::time::Duration::from_secs(60)));
    /// const TASKS: &[&dyn Registered] = &[&HANG];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = ProcessPoolExecutor::new(1).unwrap();
    ///     let f = pool.submit(&HANG, ()).unwrap();
    ///     while !f.running() { std::thread::yield_now(); }
    ///     pool.kill_workers();
    ///     pool.kill_workers(); // again: nothing more happens
    ///     assert!(matches!(f.result(), Err(Error::BrokenPool { .. })));
    /// }
    /// ```
    pub fn kill_workers(&self) {
        self.stop_workers(true)
    }

    fn stop_workers(&self, kill: bool) {
        self.shutdown_with(Shutdown {
            wait: false,
            cancel_futures: true,
        });
        let mut st = lock(&self.pool.state);
        // Python: nothing more to do for a pool without processes, which
        // is then merely shut down, not broken.
        if st.workers.iter().all(|w| w.phase == Phase::Gone) {
            return;
        }
        let how = if kill {
            "killed by kill_workers()"
        } else {
            "terminated by terminate_workers()"
        };
        let owed = st.take_owed(format!(
            "the pool's workers were {how}; the process pool is not usable anymore"
        ));
        for w in st.workers.iter_mut().filter(|w| w.phase != Phase::Gone) {
            match &w.writer {
                // The end of its connection makes a worker exit at once;
                // its receiver kills it if it has not within `EXIT_GRACE`.
                Some(conn) if !kill => conn.close(),
                _ => w.kill(),
            }
        }
        self.pool.wake_all_senders(&st);
        drop(st);
        owed.fail();
    }
    // ANCHOR_END: terminate_workers

    /// Stops accepting work and waits until every task already submitted
    /// has run, then until every worker process has exited and been reaped.
    ///
    /// ```
    /// use concurrent_futures::{Error, ProcessPoolExecutor};
    /// let pool = ProcessPoolExecutor::new(2).unwrap();
    /// pool.shutdown();
    /// const NOP: concurrent_futures::process::Task<(), ()> = concurrent_futures::process::Task::new("nop", |()| ());
    /// assert_eq!(pool.submit(&NOP, ()).unwrap_err(), Error::Shutdown);
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_with(Shutdown::default())
    }

    /// Shuts down as `how` says: with `cancel_futures`, every task not yet
    /// handed to a worker is cancelled; without `wait`, it returns at once
    /// while the workers finish in the background (dropping the pool still
    /// waits).
    ///
    /// ```
    /// use concurrent_futures::{ProcessPoolExecutor, Shutdown};
    /// let pool = ProcessPoolExecutor::new(1).unwrap();
    /// pool.shutdown_with(Shutdown { wait: false, cancel_futures: true });
    /// ```
    pub fn shutdown_with(&self, how: Shutdown) {
        let cancelled: Vec<Item> = {
            let mut st = lock(&self.pool.state);
            st.shutdown = true;
            self.pool.wake_all_senders(&st);
            // The deadline watcher, which ends once shut down and alone.
            self.pool.changed.notify_all();
            if how.cancel_futures {
                // Items given back by a worker are running: they stay.
                let (running, queued): (VecDeque<Item>, VecDeque<Item>) =
                    st.queue.drain(..).partition(|i| i.started);
                st.queue = running;
                queued.into()
            } else {
                Vec::new()
            }
        };
        // Outside the lock: cancelling runs the futures' callbacks.
        for item in cancelled {
            item.reply.cancel();
        }
        if how.wait {
            self.pool.join();
        }
    }
}

/// Queues one work item; `payload` is the encoded argument(s).
fn submit<T: Wire + Send + 'static>(
    pool: &Pool,
    task: &'static str,
    chunk: bool,
    payload: Result<Vec<u8>, Error>,
    timeout: Option<Duration>,
) -> Result<Future<T>, Error> {
    let limit = frame::MAX_FRAME - 1024;
    let payload = payload.and_then(|bytes| match bytes.len() {
        n if n > limit => Err(wire::encoding(format!(
            "{n} bytes is over the limit of {limit}"
        ))),
        _ => Ok(bytes),
    });
    let future = Future::new();
    let mut st = lock(&pool.state);
    st.check_open()?;
    if timeout.is_some() {
        stop::start_watch(pool, &mut st)?;
    }
    let payload = match payload {
        Ok(bytes) => bytes,
        Err(e) => {
            drop(st);
            let why = format!("could not encode the argument of `{task}`: {e}");
            let _ = future.set_exception(wire::encoding(why));
            return Ok(future);
        }
    };
    let id = st.next_id;
    st.next_id += 1;
    st.queue.push_back(Item {
        id,
        task,
        chunk,
        payload,
        reply: Box::new(future.clone()),
        started: false,
        timeout,
    });
    // A free worker takes it from this very thread: no sender to wake.
    let mut st = schedule::feed(pool, st);
    if st.wants_worker(pool.max_workers) {
        if let Err(e) = serve::start_worker(pool, &mut st) {
            // With no worker at all, nobody would ever run the item.
            if st.live == 0 {
                st.queue.pop_back();
                return Err(e);
            }
        }
    }
    Ok(future)
}

/// A time limit of zero could never be met: Python's `ValueError`.
fn check_timeout(timeout: Option<Duration>, name: &str) -> Result<(), Error> {
    if timeout == Some(Duration::ZERO) {
        return Err(Error::invalid_argument(format!(
            "{name} must be None or greater than 0"
        )));
    }
    Ok(())
}

// ANCHOR: drop
/// The end of a scope shuts the pool down and waits, as leaving a `with`
/// block does in Python.
impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
// ANCHOR_END: drop

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.pool.state);
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.pool.max_workers)
            .field("workers", &st.workers.len())
            .field("queued", &st.queue.len())
            .field("shutdown", &st.shutdown)
            .field("broken", &st.broken.is_some())
            .finish()
    }
}
