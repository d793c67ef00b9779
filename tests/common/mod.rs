//! What the chapter tests share: a [`Gate`] to hold tasks back (and its
//! twin for worker processes, [`remote::RemoteGate`]), a [`Rendezvous`] to
//! prove tasks run at the same time, and [`BOUND`], the longest any test
//! waits for anything.
//!
//! Every wait here gives up after `BOUND` with a panic, so that a bug in the
//! pool makes a test fail instead of hanging the whole run. Inside a task
//! that panic becomes the task's `Error::Panicked`, which the test then sees.

// Each chapter uses only some of these helpers.
#![allow(dead_code)]

pub mod remote;

use std::sync::{Arc, Condvar, Mutex};
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
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    /// Blocks until the gate is open; panics if it stays shut past its bound.
    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            let left = self
                .expires
                .checked_duration_since(Instant::now())
                .expect("a gate stayed shut for the whole bound");
            open = self.opened.wait_timeout(open, left).unwrap().0;
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
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all_here.notify_all();
        let (arrived, timeout) = self
            .all_here
            .wait_timeout_while(arrived, BOUND, |a| *a < self.n)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "only {} of {} threads met",
            *arrived,
            self.n
        );
    }
}

/// The name of the thread this runs on.
pub fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_owned()
}
