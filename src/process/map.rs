//! §5.4 of the article: `map` on processes, the thread pool's `Map` fed
//! with work items of one call each, or of `chunksize` calls.

use std::sync::Arc;
use std::time::Duration;

use super::{submit, wire, ProcessPoolExecutor, Task, Wire};
use crate::future::lock;
use crate::map::{Map, Pending};
use crate::{Error, MapOptions};

/// Cuts an iterator into `Vec`s of `size` items (the last may be shorter).
struct Chunks<I> {
    items: I,
    size: usize,
}

impl<I: Iterator> Iterator for Chunks<I> {
    type Item = Vec<I::Item>;

    fn next(&mut self) -> Option<Vec<I::Item>> {
        let chunk: Vec<_> = self.items.by_ref().take(self.size).collect();
        (!chunk.is_empty()).then_some(chunk)
    }
}

impl ProcessPoolExecutor {
    // ANCHOR: map
    /// Runs `task` on every item in the worker processes and yields the
    /// results in input order. Every item is submitted before this returns.
    ///
    /// ```
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// const CUBE: Task<u64, u64> = Task::new("cube", |x| x.pow(3));
    /// const TASKS: &[&dyn Registered] = &[&CUBE];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = concurrent_futures::ProcessPoolExecutor::new(2).unwrap();
    ///     let cubes: Result<Vec<u64>, _> = pool.map(&CUBE, 1..=5).unwrap().collect();
    ///     assert_eq!(cubes.unwrap(), [1, 8, 27, 64, 125]);
    /// }
    /// ```
    pub fn map<A, R, I>(&self, task: &Task<A, R>, items: I) -> Result<Map<R>, Error>
    where
        A: Wire,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        let units = Chunks {
            items: items.into_iter(),
            size: 1,
        };
        Map::eager(units, None, self.submitter(task, 1, None)?)
    }
    // ANCHOR_END: map

    // ANCHOR: map_with
    /// [`map`](ProcessPoolExecutor::map) with Python's keywords. With
    /// `chunksize: n`, each work item carries `n` calls and their results
    /// come back together; if one call in a chunk panics, the whole chunk
    /// fails and the iterator ends there, as in Python. `buffersize` counts
    /// chunks. With `task_timeout: Some(d)`, a work item (a whole chunk)
    /// still running `d` after it started is stopped as by
    /// [`submit_with`](ProcessPoolExecutor::submit_with): the iterator
    /// yields its `Error::Killed` and ends there, as with any failure.
    ///
    /// ```
    /// use concurrent_futures::process::{serve_if_worker, Registered, Task};
    /// use concurrent_futures::MapOptions;
    /// const CUBE: Task<u64, u64> = Task::new("cube", |x| x.pow(3));
    /// const TASKS: &[&dyn Registered] = &[&CUBE];
    /// fn main() {
    ///     serve_if_worker(TASKS);
    ///     let pool = concurrent_futures::ProcessPoolExecutor::new(2).unwrap();
    ///     let opts = MapOptions { chunksize: 3, ..Default::default() };
    ///     let cubes: Result<Vec<u64>, _> = pool.map_with(&CUBE, 1..=5, opts).unwrap().collect();
    ///     assert_eq!(cubes.unwrap(), [1, 8, 27, 64, 125]);
    /// }
    /// ```
    pub fn map_with<A, R, I>(
        &self,
        task: &Task<A, R>,
        items: I,
        opts: MapOptions,
    ) -> Result<Map<R>, Error>
    where
        A: Wire,
        R: Wire + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        crate::map::check_options(&opts)?;
        super::check_timeout(opts.task_timeout, "task_timeout")?;
        let size = opts.chunksize.max(1);
        let units = Chunks {
            items: items.into_iter(),
            size,
        };
        Map::start(units, &opts, self.submitter(task, size, opts.task_timeout)?)
    }

    /// The submit-like function `Map` drives: one work item per unit.
    /// Checks first that the pool is open, so even an empty `map` after
    /// `shutdown` is an error.
    fn submitter<A, R>(
        &self,
        task: &Task<A, R>,
        chunksize: usize,
        timeout: Option<Duration>,
    ) -> Result<impl FnMut(Vec<A>) -> Result<Pending<R>, Error> + Send + 'static, Error>
    where
        A: Wire,
        R: Wire + Send + 'static,
    {
        lock(&self.pool.state).check_open()?;
        let pool = Arc::clone(&self.pool);
        let name = task.name();
        Ok(move |mut unit: Vec<A>| {
            if chunksize == 1 {
                let arg = unit.pop().expect("chunks are never empty");
                submit(&pool, name, false, wire::to_bytes(&arg), timeout).map(Pending::One)
            } else {
                submit(&pool, name, true, wire::to_bytes(&unit), timeout).map(Pending::Chunk)
            }
        })
    }
    // ANCHOR_END: map_with
}
