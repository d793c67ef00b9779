//! §5 of the article: `map`, written once on top of a submit-like function so
//! that both pools share it, as Python's `Executor.map` is.
//!
//! The rules, Python's: every item is submitted before `map` returns (unless
//! `buffersize` says otherwise); results come back in input order; the
//! timeout counts from the `map` call; the first failure or timeout is yielded
//! once and ends the iteration, cancelling every task not yet started; so does
//! dropping the iterator once it has been read from. Dropping one never read
//! cancels nothing: Python's `map` returns a generator, whose cleanup only
//! runs once it has started, so there the tasks of an unread `map` run.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::future::{deadline_after, lock};
use crate::submit::submit;
use crate::{Error, Future, ThreadPoolExecutor};

/// Python's `map` keywords: `timeout`, `chunksize`, `buffersize`.
///
/// ```
/// use std::time::Duration;
/// use concurrent_futures::MapOptions;
/// let opts = MapOptions { timeout: Some(Duration::from_secs(5)), ..Default::default() };
/// assert_eq!(opts.chunksize, 0); // 0 means 1
/// ```
#[derive(Clone, Debug, Default)]
pub struct MapOptions {
    /// Give up once this much time has passed since the `map` call.
    pub timeout: Option<Duration>,
    /// Items sent to a process worker in one message; 0 means 1. Threads
    /// share memory, so they ignore it, as in Python.
    pub chunksize: usize,
    /// Keep at most this many items (chunks, for processes) submitted ahead
    /// of the consumer instead of submitting all at once; `Some(0)` is an
    /// error. Lets `map` consume an endless iterator.
    pub buffersize: Option<usize>,
    /// The most time each work item (a chunk counts as one) may run once
    /// started; see [`SubmitOptions`](crate::SubmitOptions). Process pools
    /// only: a thread pool's `map_with` refuses it (`InvalidArgument`).
    pub task_timeout: Option<Duration>,
}

/// One submitted unit of a `map`: a single call, or a chunk of calls whose
/// results come back together (process pools with `chunksize` > 1).
pub(crate) enum Pending<R> {
    One(Future<R>),
    Chunk(Future<Vec<R>>),
}

impl<R> Pending<R> {
    fn cancel(&self) {
        match self {
            Pending::One(f) => f.cancel(),
            Pending::Chunk(f) => f.cancel(),
        };
    }
}

type Refill<R> = Box<dyn FnMut() -> Option<Result<Pending<R>, Error>> + Send>;

/// The iterator `map` returns: results in input order, each an `Ok` or the
/// one `Err` that ends it.
///
/// ```
/// let pool = concurrent_futures::ThreadPoolExecutor::new(2).unwrap();
/// let squares = pool.map(|x: u32| x * x, 1..=4).unwrap();
/// assert_eq!(squares.collect::<Result<Vec<_>, _>>().unwrap(), [1, 4, 9, 16]);
/// ```
pub struct Map<R> {
    pending: VecDeque<Pending<R>>,
    /// The rest of a chunk already received.
    ready: std::vec::IntoIter<R>,
    deadline: Option<Instant>,
    /// With `buffersize`: submits the next unit of the input, if any.
    refill: Option<Refill<R>>,
    ended: bool,
    /// `next` was called: only then does dropping the map cancel its tasks.
    started: bool,
}

impl<R> Map<R> {
    // ANCHOR: start
    /// Submits `units` with `submit`, all now or, with `buffersize`, a window
    /// at a time. Any pool's `map` comes down to this.
    pub(crate) fn start<U, I, S>(
        units: I,
        opts: &MapOptions,
        mut submit: S,
    ) -> Result<Map<R>, Error>
    where
        I: Iterator<Item = U> + Send + 'static,
        S: FnMut(U) -> Result<Pending<R>, Error> + Send + 'static,
    {
        check_options(opts)?;
        match opts.buffersize {
            None => Map::eager(units, opts.timeout, submit),
            Some(n) => {
                let deadline = opts.timeout.and_then(deadline_after);
                let mut units = units;
                let mut map = Map::new(deadline);
                for unit in units.by_ref().take(n) {
                    map.push(submit(unit))?;
                }
                map.refill = Some(Box::new(move || units.next().map(&mut submit)));
                Ok(map)
            }
        }
    }

    /// Submits every unit before returning, as Python's `map` does.
    pub(crate) fn eager<U>(
        units: impl Iterator<Item = U>,
        timeout: Option<Duration>,
        mut submit: impl FnMut(U) -> Result<Pending<R>, Error>,
    ) -> Result<Map<R>, Error> {
        // The clock starts before the first submit, as in Python.
        let mut map = Map::new(timeout.and_then(deadline_after));
        for unit in units {
            map.push(submit(unit))?;
        }
        Ok(map)
    }
    // ANCHOR_END: start

    fn new(deadline: Option<Instant>) -> Map<R> {
        Map {
            pending: VecDeque::new(),
            ready: Vec::new().into_iter(),
            deadline,
            refill: None,
            ended: false,
            started: false,
        }
    }

    /// Keeps a submitted unit. On a failed submit, the map is dropped
    /// unread, so what it had submitted so far still runs, as in Python,
    /// where the submits before the failing one stand.
    fn push(&mut self, submitted: Result<Pending<R>, Error>) -> Result<(), Error> {
        self.pending.push_back(submitted?);
        Ok(())
    }

    fn fail(&mut self, error: Error) -> Option<Result<R, Error>> {
        self.ended = true;
        self.refill = None;
        for p in self.pending.drain(..) {
            p.cancel();
        }
        Some(Err(error))
    }
}

impl<R> Iterator for Map<R> {
    type Item = Result<R, Error>;

    // ANCHOR: next
    // Split in two so that the common case, the next value of a chunk that
    // came back whole, inlines into the caller's loop: as one call per value,
    // reading a `map` of 100,000 no-op calls in chunks of 1000 took a fifth
    // of its time (issue 8's `map_chunksize_1000`).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.ready.next() {
            Some(value) => Some(Ok(value)),
            None => self.next_unit(),
        }
    }
    // ANCHOR_END: next
}

impl<R> Map<R> {
    // ANCHOR: next_unit
    /// Waits for the oldest unit, once the values already received are used up.
    fn next_unit(&mut self) -> Option<Result<R, Error>> {
        // (Values in `ready` imply an earlier call, which set this.)
        self.started = true;
        loop {
            if let Some(value) = self.ready.next() {
                return Some(Ok(value));
            }
            if self.ended {
                return None;
            }
            // Keep the window full: one in, before one out (Python's order).
            if let Some(refill) = &mut self.refill {
                match refill() {
                    Some(Ok(p)) => self.pending.push_back(p),
                    Some(Err(e)) => return self.fail(e),
                    None => self.refill = None,
                }
            }
            let Some(unit) = self.pending.pop_front() else {
                self.ended = true;
                return None;
            };
            let outcome = match &unit {
                Pending::One(f) => f.take_until(self.deadline).map(|v| Some(Ok(v))),
                Pending::Chunk(f) => f.take_until(self.deadline).map(|vs| {
                    self.ready = vs.into_iter();
                    None
                }),
            };
            match outcome {
                Ok(Some(value)) => return Some(value),
                Ok(None) => continue,
                Err(e) => {
                    // Python's `_result_or_cancel`: the one that timed out too.
                    unit.cancel();
                    return self.fail(e);
                }
            }
        }
    }
    // ANCHOR_END: next_unit
}

impl<R> Drop for Map<R> {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        for p in self.pending.drain(..) {
            p.cancel();
        }
    }
}

/// Checks `map`'s options before anything else, the pool's state included,
/// as Python 3.14 does: `buffersize` must be `None` or at least 1.
pub(crate) fn check_options(opts: &MapOptions) -> Result<(), Error> {
    if opts.buffersize == Some(0) {
        return Err(Error::invalid_argument("buffersize must be None or > 0"));
    }
    Ok(())
}

impl<R> fmt::Debug for Map<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("pending", &self.pending.len())
            .field("ended", &self.ended)
            .finish()
    }
}

impl ThreadPoolExecutor {
    // ANCHOR: map
    /// Calls `f` on every item on the pool's threads and yields the results
    /// in input order. Every item is submitted before this returns; results
    /// are waited for as the iterator is consumed.
    ///
    /// Several iterables are one zipped iterator (§5.2).
    ///
    /// ```
    /// let pool = concurrent_futures::ThreadPoolExecutor::new(5).unwrap();
    /// let xs = 1..=10_u64;
    /// let sums = pool.map(|(a, b)| (a + b).pow(3), xs.clone().zip(xs)).unwrap();
    /// let sums: Vec<u64> = sums.map(Result::unwrap).collect();
    /// assert_eq!(sums[..3], [8, 64, 216]);
    /// ```
    pub fn map<A, R, F, I>(&self, f: F, items: I) -> Result<Map<R>, Error>
    where
        F: Fn(A) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
    {
        Map::eager(items.into_iter(), None, self.submitter(f)?)
    }
    // ANCHOR_END: map

    /// [`map`](ThreadPoolExecutor::map) with Python's keywords. The input must
    /// be `'static` here because with `buffersize` the iterator keeps it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurrent_futures::{MapOptions, ThreadPoolExecutor};
    /// let pool = ThreadPoolExecutor::new(2).unwrap();
    /// let opts = MapOptions { buffersize: Some(4), timeout: Some(Duration::from_secs(10)), ..Default::default() };
    /// let firsts: Vec<u64> = pool.map_with(|x: u64| x * 2, 0.., opts).unwrap()
    ///     .take(3).map(Result::unwrap).collect();
    /// assert_eq!(firsts, [0, 2, 4]); // an endless input works with buffersize
    /// ```
    pub fn map_with<A, R, F, I>(&self, f: F, items: I, opts: MapOptions) -> Result<Map<R>, Error>
    where
        F: Fn(A) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        check_options(&opts)?;
        if opts.task_timeout.is_some() {
            return Err(Error::invalid_argument(
                "task_timeout needs a process pool: nothing can stop a running thread",
            ));
        }
        Map::start(items.into_iter(), &opts, self.submitter(f)?)
    }

    /// The submit-like function `Map` drives: one call of `f` per item.
    /// Checks first that the pool was not shut down, so even an empty `map`
    /// after `shutdown` is an error (Python: only the first submit fails). A
    /// broken pool is left to that first submit, as in Python: an empty
    /// `map` there is an empty iterator.
    fn submitter<A, R, F>(
        &self,
        f: F,
    ) -> Result<impl FnMut(A) -> Result<Pending<R>, Error> + Send + 'static, Error>
    where
        F: Fn(A) -> R + Send + Sync + 'static,
        A: Send + 'static,
        R: Send + 'static,
    {
        let q = lock(&self.shared.queue);
        if q.shutdown && q.broken.is_none() {
            return Err(Error::Shutdown);
        }
        drop(q);
        let f = Arc::new(f);
        let shared = Arc::clone(&self.shared);
        Ok(move |a| {
            let f = Arc::clone(&f);
            submit(&shared, move || f(a)).map(Pending::One)
        })
    }
}
