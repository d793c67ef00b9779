//! The parent's bookkeeping: the queue of work items, one slot per worker
//! process (its life as a table on [`Phase`]), the pool's threads, and the
//! two ways a pool stops taking work (shut down, broken).

use std::collections::VecDeque;
use std::io;
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::child::Forwarded;
use super::conn::{random_hex, Conn};
use super::wire::{encoding, from_bytes, Wire};
use crate::future::lock;
use crate::{Error, Future};

/// Items a worker may hold at once while its tasks are short.
///
/// Normally one: an item handed to a busy worker would wait there while
/// another worker might be free sooner (ten tasks of 1..10 s on five workers
/// would take 19 s instead of Python's 15), and it could no longer be
/// cancelled. But when tasks take microseconds, the round trip per item is
/// most of the cost; then a worker whose last task came back within
/// [`SHORT_TASK`] gets up to this many, so it never waits for the next one.
///
/// Why eight and not four: on a busy machine the thread that refills a
/// worker (its receiver, after reading a result) is often not running when
/// the worker finishes; a worker holding four then ran dry and slept in a
/// read, and both ends paid a wake-up. Holding eight, a worker sleeps half
/// as often (300 `map`s of 100,000 no-op calls in chunks of 100: 40,000
/// voluntary context switches per worker, then 20,000), and bulk `submit`
/// and `map` on two workers (`cargo bench --bench process`) took from 15%
/// (chunksize 1000) to 45% (`submit`) less time. More costs more: each
/// item held is one that `cancel` can no longer reach, and one that may
/// wait behind a long task until a `Recall` brings it back.
pub(crate) const MAX_IN_FLIGHT: usize = 8;

/// A task that came back faster than this is "short" (see [`MAX_IN_FLIGHT`]).
pub(crate) const SHORT_TASK: Duration = Duration::from_millis(1);

/// The future of a work item, its result type erased so one queue holds
/// items of every type.
pub(crate) trait Reply: Send {
    /// `set_running_or_notify_cancel`: false if the item was cancelled.
    fn start(&self) -> bool;
    /// Decodes the worker's bytes (in the parent: a failure here fails this
    /// future only) and completes the future.
    fn finish(self: Box<Self>, outcome: Result<Vec<u8>, Error>);
    fn cancel(&self);
    /// Lets `Future::kill` reach the worker running it (`set_kill_hook`).
    fn arm(&self, target: KillTarget);
}

/// What `Future::kill` must stop: item `id` in worker `index`, by calling
/// `stop` (`stop::stop`, passed in so that this file imports nothing
/// above it). The pool is weak: a future may outlive it.
pub(crate) struct KillTarget {
    pub(crate) pool: Weak<Shared>,
    pub(crate) index: usize,
    pub(crate) id: u64,
    pub(crate) stop: fn(&Shared, usize, u64) -> bool,
}

impl<T: Wire + Send + 'static> Reply for Future<T> {
    fn start(&self) -> bool {
        self.set_running_or_notify_cancel()
    }

    fn finish(self: Box<Self>, outcome: Result<Vec<u8>, Error>) {
        // A user's `Wire` impl runs here, in a thread of the pool: its
        // panic must fail this future, not kill the thread.
        let decoded = outcome.and_then(|bytes| {
            crate::error::catch_panic(|| from_bytes(&bytes))
                .and_then(|r| r)
                .map_err(|e| encoding(format!("could not decode the result: {e}")))
        });
        // Cannot fail: the future was running, so nobody else finished it.
        let _ = match decoded {
            Ok(value) => self.set_result(value),
            Err(e) => self.set_exception(e),
        };
    }

    fn cancel(&self) {
        Future::cancel(self);
    }

    fn arm(&self, t: KillTarget) {
        // Built here, in one allocation (the hook's box), for every item.
        self.set_kill_hook(move || {
            t.pool
                .upgrade()
                .is_some_and(|pool| (t.stop)(&pool, t.index, t.id))
        });
    }
}

/// A submitted call waiting for a worker.
pub(crate) struct Item {
    pub(crate) id: u64,
    pub(crate) task: &'static str,
    pub(crate) chunk: bool,
    pub(crate) payload: Vec<u8>,
    pub(crate) reply: Box<dyn Reply>,
    /// Its future is RUNNING already: a worker gave it back unstarted
    /// (see `schedule::recall_if_idle`). It is not cancelled by
    /// `shutdown(cancel_futures)`, only run elsewhere.
    pub(crate) started: bool,
    /// Its time limit once running (`submit_with`, `map_with`'s
    /// `task_timeout`); the clock starts when it is handed to a worker.
    pub(crate) timeout: Option<Duration>,
}

/// A call handed to a worker: its future is running.
pub(crate) struct InFlight {
    pub(crate) id: u64,
    pub(crate) task: &'static str,
    pub(crate) reply: Box<dyn Reply>,
    /// False if writing it failed: the worker was already dead, so a death
    /// report must not say it was running this.
    pub(crate) delivered: bool,
    /// When it was handed over.
    pub(crate) sent: Instant,
    /// Its frame was at most [`SMALL_FRAME`] bytes.
    pub(crate) small: bool,
    /// Its call, kept once written: if its worker is killed to stop
    /// another item, this one goes back to the queue (`serve::end`).
    pub(crate) chunk: bool,
    pub(crate) payload: Vec<u8>,
    /// Its time limit, and when that runs out (see `stop.rs`). A timed
    /// item is only handed to a worker holding nothing, so it starts when
    /// it is handed over (after the initializer, for a new worker's first).
    pub(crate) timeout: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
}

/// Payloads up to this size may be written by a thread that must not block
/// (a submitter, a receiver): with at most [`MAX_IN_FLIGHT`] such frames
/// unread (64 KiB in all), they fit in the socket's buffer, so the write
/// returns at once even while the worker is busy. Bigger ones are the
/// sender's job.
pub(crate) const SMALL_FRAME: usize = 8 << 10;

// ANCHOR: phase
/// Where a worker process is in its life, with the slot fields that matter
/// in each phase. Every worker goes down this table; none goes back.
///
/// | phase | how it got here | counts against `max_workers` | who may write to it | ends when |
/// |---|---|---|---|---|
/// | `Starting` | `start_worker` spawned it | yes | nobody | its hello arrives (`Serving`), or it exits or fails to connect (`Gone`, the pool breaks) |
/// | `Serving` | its hello carried the token and its pid | yes | its sender first (the initializer: then `ready`), then whoever sets `writing` | it is retired (`Closing`), its stream ends (`Gone`) |
/// | `Closing` | `max_tasks_per_child` reached, or shut down / broken: its sender wrote `Close` | no | nobody | its stream ends: it exited after its last result (`Gone`) |
/// | `Gone` | its stream ended; it has been reaped (`status`) | no | nobody | never |
///
/// A worker killed on purpose to stop one running item (`stop.rs`)
/// carries the reason in `killed`: that item's future has already failed
/// with it; its stream's end is then neither a retirement nor a break: the
/// items it still held go back to the queue and the pool goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Starting,
    Serving,
    Closing,
    Gone,
}
// ANCHOR_END: phase

/// The parent's view of one worker process.
pub(crate) struct Slot {
    pub(crate) pid: u32,
    pub(crate) phase: Phase,
    /// The process, so any thread can kill it; `None` once reaped.
    pub(crate) child: Option<Child>,
    /// How it ended, once reaped.
    pub(crate) status: Option<io::Result<ExitStatus>>,
    pub(crate) in_flight: VecDeque<InFlight>,
    /// Items handed over so far, for `max_tasks_per_child`.
    pub(crate) sent: usize,
    /// The connection, for whichever thread writes to this worker.
    pub(crate) writer: Option<Arc<Conn>>,
    /// The initializer has been sent: others may write to it now.
    pub(crate) ready: bool,
    /// Some thread is writing to the process, without the lock: nobody
    /// else may write to it (frames would interleave).
    pub(crate) writing: bool,
    /// Its sender thread sleeps here until there is something only it may
    /// do (see [`State::sender_wanted`]): one condition variable per worker,
    /// so a change in one worker wakes nobody else's sender.
    pub(crate) wake: Arc<Condvar>,
    pub(crate) sender_waiting: bool,
    /// The receiver waits for `writing` to clear before reporting a death;
    /// whoever clears it then signals `changed`.
    pub(crate) death_pending: bool,
    /// Its last task came back within `SHORT_TASK`, and when that was.
    pub(crate) short: bool,
    pub(crate) last_done: Option<Instant>,
    /// It was killed on purpose (`stop.rs`): why.
    pub(crate) killed: Option<Error>,
    /// It was asked to give back its unstarted items, and has not answered.
    pub(crate) recalling: bool,
    /// Its stdout, when it comes through us (a test binary).
    pub(crate) stdout: Option<Forwarded>,
}

impl Slot {
    pub(crate) fn new(child: Child) -> Slot {
        Slot {
            pid: child.id(),
            phase: Phase::Starting,
            child: Some(child),
            status: None,
            in_flight: VecDeque::new(),
            sent: 0,
            writer: None,
            ready: false,
            writing: false,
            wake: Default::default(),
            sender_waiting: false,
            death_pending: false,
            short: false,
            last_done: None,
            killed: None,
            recalling: false,
            stdout: None,
        }
    }

    /// Whether this worker may be handed work now.
    pub(crate) fn takes_work(&self) -> bool {
        self.phase == Phase::Serving && self.ready && !self.writing && self.killed.is_none()
    }

    /// Serving, ready and holding nothing.
    pub(crate) fn idle(&self) -> bool {
        self.takes_work() && self.in_flight.is_empty()
    }

    /// Kills the process if it still runs (it is reaped by its receiver).
    pub(crate) fn kill(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
        }
    }

    /// Whether this worker may be handed one more item.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight.is_empty() || (self.short && self.in_flight.len() < MAX_IN_FLIGHT)
    }

    /// Takes the finished item `id` off the list, noting whether it was short.
    pub(crate) fn complete(&mut self, id: u64) -> Option<InFlight> {
        // Normally the front: a worker answers in the order it was sent.
        // (Items given back and sent again keep that true; looking further
        // costs nothing when it is.)
        let at = self.in_flight.iter().position(|f| f.id == id)?;
        let done = self.in_flight.remove(at)?;
        let now = Instant::now();
        // It started when it was sent or when the one before it finished.
        let started = self.last_done.map_or(done.sent, |t| t.max(done.sent));
        self.short = now.duration_since(started) < SHORT_TASK;
        self.last_done = Some(now);
        Some(done)
    }
}

/// What the pool's lock protects.
pub(crate) struct State {
    pub(crate) queue: VecDeque<Item>,
    /// Every worker started, by index.
    pub(crate) workers: Vec<Slot>,
    /// Workers starting or serving: those `max_workers` limits.
    pub(crate) live: usize,
    pub(crate) next_id: u64,
    /// Threads of ours not yet finished, and their handles.
    pub(crate) threads: usize,
    pub(crate) handles: Vec<JoinHandle<()>>,
    pub(crate) shutdown: bool,
    pub(crate) broken: Option<String>,
    /// The deadline watcher (`stop::watch`) has been started.
    pub(crate) timer: bool,
}

/// Everything the pool's handle, its threads and its `Map`s share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Signalled when a write to a dying worker ends or a thread ends.
    pub(crate) changed: Condvar,
    pub(crate) max_workers: usize,
    pub(crate) max_tasks_per_child: Option<usize>,
    /// The initializer task's name and encoded arguments.
    pub(crate) initializer: Option<(&'static str, Vec<u8>)>,
    /// The secret every worker must present in its hello.
    pub(crate) token: String,
    /// This very value, for the kill hooks of its futures: weak, since a
    /// future may outlive the pool.
    pub(crate) me: Weak<Shared>,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            queue: VecDeque::new(),
            workers: Vec::new(),
            live: 0,
            next_id: 0,
            threads: 0,
            handles: Vec::new(),
            shutdown: false,
            broken: None,
            timer: false,
        }
    }

    /// See [`Error::if_closed`].
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        Error::if_closed(self.broken.as_ref(), self.shutdown)
    }

    // ANCHOR: wants_worker
    /// Python's `_adjust_process_count`, made lazy: one more process only if
    /// more items wait than there are workers with nothing to do.
    pub(crate) fn wants_worker(&self, max_workers: usize) -> bool {
        let free = self
            .workers
            .iter()
            .filter(|w| {
                matches!(w.phase, Phase::Starting | Phase::Serving) && w.in_flight.is_empty()
            })
            .count();
        self.broken.is_none() && self.live < max_workers && self.queue.len() > free
    }
    // ANCHOR_END: wants_worker

    /// Whether worker `index`'s sender must wake: to retire its worker
    /// (pool broken or shut down with nothing queued, `max_tasks_per_child`
    /// reached), or for an item it has room for that the submitting and
    /// receiving threads left to it (too big for them to write). Never
    /// while another thread writes: closing the socket would cut its frame.
    pub(crate) fn sender_wanted(&self, index: usize, max_tasks_per_child: Option<usize>) -> bool {
        let s = &self.workers[index];
        let retiring = max_tasks_per_child.is_some_and(|n| s.sent >= n);
        let work = s.ready && s.has_room() && !self.queue.is_empty();
        // While a `Recall` is unanswered, items may still come back: no
        // retirement for lack of work until they have.
        let leaving = retiring || (self.shutdown && self.queue.is_empty());
        !s.writing && (self.broken.is_some() || (leaving && !s.recalling) || work)
    }

    /// Breaks the pool with `why` (the first reason wins) and takes every
    /// future it still owes, queued or in flight. Drop the lock, then
    /// `fail` them: completing a future runs its callbacks.
    pub(crate) fn break_pool(&mut self, why: String) -> Owed {
        let first = self.broken.is_none();
        let owed = self.take_owed(why);
        // Python terminates the survivors of a broken pool: their work is
        // failed already, and nobody should wait for it to end. Only at the
        // first break: after `terminate_workers` the survivors get their
        // grace period.
        if first {
            self.kill_all();
        }
        owed
    }

    /// Marks the pool broken with `why` (the first reason wins) and takes
    /// every future it still owes, leaving its workers alone.
    pub(crate) fn take_owed(&mut self, why: String) -> Owed {
        let why = self.broken.get_or_insert(why).clone();
        let mut replies: Vec<Box<dyn Reply>> = self.queue.drain(..).map(|i| i.reply).collect();
        for w in &mut self.workers {
            replies.extend(w.in_flight.drain(..).map(|f| f.reply));
        }
        Owed { why, replies }
    }

    /// Kills every worker process still running; each one's receiver then
    /// reaps it and reports its end. With the pool broken first (as
    /// `break_pool` does), no future is left waiting on them: the primitive
    /// for stopping all running work (`terminate_workers`, `kill_workers`).
    pub(crate) fn kill_all(&mut self) {
        for w in &mut self.workers {
            if w.phase != Phase::Gone {
                w.kill();
            }
        }
    }
}

/// The futures a broken pool still owes, and the reason it broke.
pub(crate) struct Owed {
    why: String,
    replies: Vec<Box<dyn Reply>>,
}

impl Owed {
    /// Fails every future with `BrokenPool`. Call without the pool's lock.
    pub(crate) fn fail(self) {
        for reply in self.replies {
            reply.finish(Err(Error::BrokenPool {
                message: self.why.clone(),
            }));
        }
    }
}

impl Shared {
    pub(crate) fn new(
        max_workers: usize,
        max_tasks_per_child: Option<usize>,
        initializer: Option<(&'static str, Vec<u8>)>,
        me: Weak<Shared>,
    ) -> Shared {
        Shared {
            state: Mutex::new(State::new()),
            changed: Condvar::new(),
            max_workers,
            max_tasks_per_child,
            initializer,
            token: random_hex(),
            me,
        }
    }

    /// Waits until every thread of the pool has finished (so every worker
    /// has exited and been reaped).
    ///
    /// Called from one of those threads (a done-callback that shuts the
    /// pool down or drops its last handle runs on a receiver), it returns
    /// at once instead, as `wait: false` would: the work it would wait for
    /// may need this very thread (its worker's results are read here), so
    /// waiting could never end. The threads finish the work on their own.
    /// (CPython raises "cannot join current thread" there.)
    pub(crate) fn join(&self) {
        let me = std::thread::current().id();
        let mut st = lock(&self.state);
        if st.handles.iter().any(|h| h.thread().id() == me) {
            return;
        }
        while st.threads > 0 {
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let ended: Vec<_> = st.handles.drain(..).collect();
        drop(st);
        for handle in ended {
            // Each has already counted itself out; this only reaps it.
            let _ = handle.join();
        }
    }

    /// Starts a thread of the pool's and counts it, so shutdown can wait for
    /// it; first joins the threads that have ended, so a pool that recycles
    /// workers for days keeps no dead thread's stack.
    ///
    /// The thread counts itself out when it ends, even by a panic (a bug of
    /// ours). Its guard is made inside the thread: if the spawn fails, the
    /// closure is dropped here, under the caller's lock, and must neither
    /// take that lock nor count out a thread that was never counted in.
    pub(crate) fn thread(
        self: &Arc<Self>,
        state: &mut State,
        name: String,
        body: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        let (ended, running): (Vec<_>, Vec<_>) =
            state.handles.drain(..).partition(|h| h.is_finished());
        state.handles = running;
        for handle in ended {
            let _ = handle.join();
        }
        let pool = Arc::clone(self);
        let handle = std::thread::Builder::new().name(name).spawn(move || {
            let _done = CountedOut(pool);
            body();
        })?;
        state.threads += 1;
        state.handles.push(handle);
        Ok(())
    }

    /// Wakes each sleeping sender that has something to do; in the steady
    /// state none has, and this makes no system call.
    pub(crate) fn wake_senders(&self, state: &State) {
        for (i, s) in state.workers.iter().enumerate() {
            if s.sender_waiting && state.sender_wanted(i, self.max_tasks_per_child) {
                s.wake.notify_one();
            }
        }
    }

    /// Wakes every sleeping sender: the pool shut down or broke.
    pub(crate) fn wake_all_senders(&self, state: &State) {
        for s in state.workers.iter().filter(|s| s.sender_waiting) {
            s.wake.notify_one();
        }
    }
}

/// Counts a thread out when it ends.
struct CountedOut(Pool);

impl Drop for CountedOut {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        st.threads -= 1;
        self.0.changed.notify_all();
    }
}

/// The pool's state, shared: what the pool handle and its threads hold.
pub(crate) type Pool = Arc<Shared>;
