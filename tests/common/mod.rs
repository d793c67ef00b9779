//! What the chapter tests share: a [`Gate`] to hold tasks back (and its
//! twin for worker processes, [`remote::RemoteGate`]), a [`Rendezvous`] to
//! prove tasks run at the same time, and [`BOUND`], the longest any test
//! waits for anything.
//!
//! Every wait here gives up after `BOUND` with a panic, so that a bug in the
//! pool makes a test fail instead of hanging the whole run. Inside a task
//! that panic becomes the task's `Error::Panicked`, which the test then sees.
//! [`AbandonOnPanic`] covers the one wait a test cannot bound itself: the
//! pool's own `Drop`.

// Each chapter uses only some of these helpers.
#![allow(dead_code)]

pub mod remote;

use std::ops::Deref;
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};

use concurrent_futures::{Future, ThreadPoolExecutor};
use std::time::{Duration, Instant};

/// How long any test waits for a thing that should happen almost at once.
pub const BOUND: Duration = Duration::from_secs(10);

/// A door that starts shut and, once opened, stays open: tasks wait at it
/// until the test lets them through.
///
/// The bound counts from the gate's creation, not from each wait, so that
/// sixty tasks queued behind a gate that a failing test never opens give up
/// together after `BOUND`, not one after another.
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    expires: Instant,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            open: Mutex::new(false),
            opened: Condvar::new(),
            expires: Instant::now() + BOUND,
        })
    }

    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.opened.notify_all();
    }

    /// Blocks until the gate is open; panics if it stays shut past its bound.
    pub fn wait(&self) {
        // A waiter that gave up panicked holding the lock; the others must
        // still give up with the same clear message, not a `PoisonError`.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while !*open {
            let Some(left) = self.expires.checked_duration_since(Instant::now()) else {
                drop(open);
                panic!("a gate stayed shut for the whole bound");
            };
            open = self
                .opened
                .wait_timeout(open, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// `std::sync::Barrier` with a bound: `n` threads meet, or each panics after
/// `BOUND`. Tasks that all pass one prove that `n` of them ran at once.
pub struct Rendezvous {
    arrived: Mutex<usize>,
    all_here: Condvar,
    n: usize,
}

impl Rendezvous {
    pub fn new(n: usize) -> Arc<Rendezvous> {
        Arc::new(Rendezvous {
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
            n,
        })
    }

    pub fn wait(&self) {
        let mut arrived = self.arrived.lock().unwrap_or_else(PoisonError::into_inner);
        *arrived += 1;
        self.all_here.notify_all();
        let (arrived, timeout) = self
            .all_here
            .wait_timeout_while(arrived, BOUND, |a| *a < self.n)
            .unwrap_or_else(PoisonError::into_inner);
        let met = *arrived;
        drop(arrived); // panic, if at all, without poisoning the others' lock
        assert!(!timeout.timed_out(), "only {met} of {} threads met", self.n);
    }
}

/// A pool that a failing test abandons instead of shutting down.
///
/// Dropping a pool waits for its threads. When the bug a test reports has
/// left one of them stuck (a callback run under a lock deadlocks its own
/// thread), that wait would hang the run instead of showing the failure; so
/// while the test is panicking, the guard forgets the pool and leaves its
/// threads to the end of the process. A passing test drops it as usual.
pub struct AbandonOnPanic<P>(Option<P>);

impl<P> AbandonOnPanic<P> {
    pub fn new(pool: P) -> AbandonOnPanic<P> {
        AbandonOnPanic(Some(pool))
    }
}

impl<P> Deref for AbandonOnPanic<P> {
    type Target = P;

    fn deref(&self) -> &P {
        self.0.as_ref().expect("present until dropped")
    }
}

impl<P> Drop for AbandonOnPanic<P> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::mem::forget(self.0.take());
        }
    }
}

/// The name of the thread this runs on.
pub fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_owned()
}

/// A one-worker pool whose worker is held at `gate` by a first task, so that
/// everything submitted after it waits in the queue (pending, cancellable).
/// Returns once that first task is running.
pub fn held_pool(gate: &Arc<Gate>) -> (ThreadPoolExecutor, Future<()>) {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let gate = Arc::clone(gate);
    let blocker = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            gate.wait();
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    (pool, blocker)
}

/// Runs the test `name` of this very binary in a fresh process (a "copy")
/// with `env` added, and returns its stdout once it has exited; panics if
/// it failed. The copy tells the tests apart by the variables it finds.
/// Tests use it to change what is process-wide (the environment, limits)
/// or to watch a whole process (its maps, its death).
pub fn run_copy(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    run_to_end(copy_command(name, env), name)
}

/// Runs a copy's command (from `copy_command`, perhaps wrapped in another
/// program) as `run_copy` does.
pub fn run_to_end(mut cmd: std::process::Command, name: &str) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the copy running {name} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The command `run_copy` runs, to spawn it another way.
pub fn copy_command(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The value after `KEY: ` on a line of a copy's output.
pub fn reported<'a>(stdout: &'a str, key: &str) -> &'a str {
    let key = format!("{key}: ");
    stdout
        .lines()
        .find_map(|l| l.split_once(key.as_str()).map(|(_, v)| v))
        .unwrap_or_else(|| panic!("no {key} in {stdout}"))
}
