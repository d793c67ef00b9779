//! The obvious version is wrong: calling a future's callbacks while still
//! holding the future's lock.
//!
//! `NaiveFuture` keeps its value and its callbacks behind one mutex and runs
//! the callbacks before unlocking it. The first callback that asks the
//! future anything (`done()`, `result()`) needs that same lock, held by its
//! own thread. std's `Mutex` is not re-entrant: locking it again from the
//! thread that holds it never returns (or panics). So that this file shows
//! the problem instead of hanging, the callback asks with `try_lock`, which
//! answers "would block" where `lock` would wait for ever.
//!
//! The crate's `Future` takes the callbacks out of the cell, unlocks, and only
//! then runs them (`Future::complete` in `src/future.rs`), so the same
//! callback works there.
//!
//! Run it with `cargo run --example wrong_callback_under_lock`.

use std::sync::{Arc, Mutex, TryLockError};

use concurrent_futures::Future;

type NaiveCallback = Box<dyn FnOnce(&NaiveFuture) + Send>;

/// What the naive future's one lock protects.
struct NaiveCell {
    value: Option<u64>,
    callbacks: Vec<NaiveCallback>,
}

#[derive(Clone)]
struct NaiveFuture {
    cell: Arc<Mutex<NaiveCell>>,
}

impl NaiveFuture {
    fn new() -> NaiveFuture {
        NaiveFuture {
            cell: Arc::new(Mutex::new(NaiveCell {
                value: None,
                callbacks: Vec::new(),
            })),
        }
    }

    fn add_done_callback(&self, f: impl FnOnce(&NaiveFuture) + Send + 'static) {
        self.cell.lock().unwrap().callbacks.push(Box::new(f));
    }

    /// `done()` as a callback would call it, but reporting the deadlock
    /// (`try_lock` says "would block") instead of hanging in `lock()`.
    fn done_or_deadlock(&self) -> Result<bool, String> {
        match self.cell.try_lock() {
            Ok(cell) => Ok(cell.value.is_some()),
            Err(TryLockError::WouldBlock) => {
                Err("its lock is held by this very thread, so lock() would never return".into())
            }
            Err(TryLockError::Poisoned(e)) => Err(format!("poisoned: {e}")),
        }
    }
}

// ANCHOR: wrong
impl NaiveFuture {
    fn set_result(&self, value: u64) {
        let mut cell = self.cell.lock().unwrap();
        cell.value = Some(value);
        // Wrong: `cell` still holds the lock while user code runs.
        for callback in std::mem::take(&mut cell.callbacks) {
            callback(self);
        }
    }
}
// ANCHOR_END: wrong

// ANCHOR: main
fn main() {
    // The naive future: the callback runs inside set_result, under the lock.
    let naive = NaiveFuture::new();
    naive.add_done_callback(|f| match f.done_or_deadlock() {
        Ok(done) => println!("naive future   : the callback sees done() = {done}"),
        Err(why) => println!("naive future   : the callback cannot call done(): {why}"),
    });
    naive.set_result(27);

    // The crate's future: the same callback, run after the lock is released.
    let future = Future::new();
    future.add_done_callback(|f: &Future<u64>| {
        println!(
            "crate's Future : the callback sees done() = {}, result() = {:?}",
            f.done(),
            f.result()
        );
    });
    future.set_result(27).unwrap();
}
// ANCHOR_END: main
