//! §1.1 and §3 of the article: both pools are executors. Python's
//! `ThreadPoolExecutor` and `ProcessPoolExecutor` extend one abstract
//! `Executor`, so code written against it runs on either, and switching is
//! one word where the pool is made. Here that code runs a named [`Task`]:
//! the one kind of work both pools can run.
//!
//! The thread pool calls the task's function directly, with no encoding;
//! the process pool sends the task's name and the encoded argument to a
//! worker. Everything else (futures, `map`'s order and timeout, shutdown)
//! behaves the same, because it is the same code.

use crate::process::{Task, Wire};
use crate::{Error, Future, Map, MapOptions, ProcessPoolExecutor, Shutdown, ThreadPoolExecutor};

// ANCHOR: trait
/// What every pool can do with a named [`Task`]: Python's abstract
/// `Executor`, implemented by [`ThreadPoolExecutor`] and
/// [`ProcessPoolExecutor`].
///
/// A process task's argument and result must cross a process boundary, so
/// they are [`Wire`]; a thread pool calls the same function in one of its
/// threads. A program that also runs process tasks needs
/// `serve_if_worker(TASKS)` as the first line of `main`, whichever pool it
/// picks.
///
/// ```
/// use concurrent_futures::process::{serve_if_worker, Registered, Task};
/// use concurrent_futures::{Executor, ProcessPoolExecutor, ThreadPoolExecutor};
///
/// const CUBE: Task<u64, u64> = Task::new("cube", |x| x.pow(3));
/// const TASKS: &[&dyn Registered] = &[&CUBE];
///
/// fn cubes<E: Executor>(pool: &E) -> Vec<u64> {
///     let futures: Vec<_> = (1..=4).map(|i| pool.submit_task(&CUBE, i).unwrap()).collect();
///     futures.iter().map(|f| f.result().unwrap()).collect()
/// }
///
/// fn main() {
///     serve_if_worker(TASKS);
///     assert_eq!(cubes(&ThreadPoolExecutor::new(2).unwrap()), [1, 8, 27, 64]);
///     assert_eq!(cubes(&ProcessPoolExecutor::new(2).unwrap()), [1, 8, 27, 64]);
/// }
/// ```
pub trait Executor {
    /// Schedules `task(arg)` and returns its [`Future`] at once: the pool's
    /// `submit`.
    ///
    /// ```
    /// use concurrent_futures::{process::Task, Executor, ThreadPoolExecutor};
    /// const ADD: Task<(u8, u8), u8> = Task::new("add", |(a, b)| a + b);
    /// let pool = ThreadPoolExecutor::new(1).unwrap();
    /// assert_eq!(pool.submit_task(&ADD, (2, 3)).unwrap().result(), Ok(5));
    /// ```
    fn submit_task<A, R>(&self, task: &Task<A, R>, arg: A) -> Result<Future<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static;

    /// Runs `task` on every item and yields the results in input order:
    /// the pool's `map`.
    ///
    /// ```
    /// use concurrent_futures::{process::Task, Executor, ThreadPoolExecutor};
    /// const NEG: Task<i32, i32> = Task::new("neg", |x| -x);
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// let out: Result<Vec<i32>, _> = pool.map_task(&NEG, [1, 2, 3]).unwrap().collect();
    /// assert_eq!(out.unwrap(), [-1, -2, -3]);
    /// ```
    fn map_task<A, R, I>(&self, task: &Task<A, R>, items: I) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>;

    /// [`map_task`](Executor::map_task) with Python's keywords: the pool's
    /// `map_with`. A thread pool ignores `chunksize` and refuses
    /// `task_timeout` (`Error::InvalidArgument`), as its `map_with` does.
    ///
    /// ```
    /// use concurrent_futures::{process::Task, Executor, MapOptions, ThreadPoolExecutor};
    /// const NEG: Task<i32, i32> = Task::new("neg", |x| -x);
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// let opts = MapOptions { buffersize: Some(2), ..Default::default() };
    /// let out: Result<Vec<i32>, _> = pool.map_task_with(&NEG, vec![1, 2, 3], opts).unwrap().collect();
    /// assert_eq!(out.unwrap(), [-1, -2, -3]);
    /// ```
    fn map_task_with<A, R, I>(
        &self,
        task: &Task<A, R>,
        items: I,
        options: MapOptions,
    ) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static;

    /// Stops taking work and waits for what was submitted: the pool's
    /// `shutdown`.
    ///
    /// ```
    /// use concurrent_futures::{process::Task, Error, Executor, ThreadPoolExecutor};
    /// const NOP: Task<(), ()> = Task::new("nop", |()| ());
    /// fn close<E: Executor>(pool: &E) { pool.shutdown() }
    /// let pool = ThreadPoolExecutor::new(1).unwrap();
    /// close(&pool);
    /// assert_eq!(pool.submit_task(&NOP, ()).unwrap_err(), Error::Shutdown);
    /// ```
    fn shutdown(&self);

    /// Shuts down as `how` says: the pool's `shutdown_with`.
    ///
    /// ```
    /// use concurrent_futures::{Executor, Shutdown, ThreadPoolExecutor};
    /// fn close_now<E: Executor>(pool: &E) {
    ///     pool.shutdown_with(Shutdown { wait: false, cancel_futures: true })
    /// }
    /// close_now(&ThreadPoolExecutor::new(1).unwrap());
    /// ```
    fn shutdown_with(&self, how: Shutdown);
}
// ANCHOR_END: trait

/// Threads share memory: the task's function is called as it is.
impl Executor for ThreadPoolExecutor {
    // ANCHOR: thread_submit
    fn submit_task<A, R>(&self, task: &Task<A, R>, arg: A) -> Result<Future<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
    {
        let f = task.function();
        self.submit(move || f(arg))
    }
    // ANCHOR_END: thread_submit

    fn map_task<A, R, I>(&self, task: &Task<A, R>, items: I) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map(task.function(), items)
    }

    fn map_task_with<A, R, I>(
        &self,
        task: &Task<A, R>,
        items: I,
        options: MapOptions,
    ) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        self.map_with(task.function(), items, options)
    }

    fn shutdown(&self) {
        ThreadPoolExecutor::shutdown(self)
    }

    fn shutdown_with(&self, how: Shutdown) {
        ThreadPoolExecutor::shutdown_with(self, how)
    }
}

/// Processes share nothing: the task's name and encoded argument are sent.
impl Executor for ProcessPoolExecutor {
    fn submit_task<A, R>(&self, task: &Task<A, R>, arg: A) -> Result<Future<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
    {
        self.submit(task, arg)
    }

    fn map_task<A, R, I>(&self, task: &Task<A, R>, items: I) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map(task, items)
    }

    fn map_task_with<A, R, I>(
        &self,
        task: &Task<A, R>,
        items: I,
        options: MapOptions,
    ) -> Result<Map<R>, Error>
    where
        A: Wire + Send + 'static,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        self.map_with(task, items, options)
    }

    fn shutdown(&self) {
        ProcessPoolExecutor::shutdown(self)
    }

    fn shutdown_with(&self, how: Shutdown) {
        ProcessPoolExecutor::shutdown_with(self, how)
    }
}
