//! Stopping a task that is already running on a thread: nothing can do it
//! from outside (`kill()` answers `false`), so the task stops itself. It
//! works in steps and, between two steps, looks at a flag the caller sets.
//!
//! Run it with `cargo run --example stop_thread_task` (about 3 s).
//! `CONCURRENT_FUTURES_CLOCK=0.01` scales the clock (see `common/mod.rs`).
//!
//! The task asked to stop at 2.5 s is in the middle of its third step; it
//! finishes that step, sees the flag, and returns at 3 s what it has done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{sleep, Clock};

// ANCHOR: task
/// Ten steps of one second each. Between two steps it looks at `stop`:
/// `Err(n)` says it stopped after `n` steps, `Ok(n)` that it did them all.
fn ten_steps(stop: &AtomicBool) -> Result<u64, u64> {
    for done in 0..10 {
        // Relaxed is enough: the flag only says "stop"; it guards no data.
        if stop.load(Ordering::Relaxed) {
            return Err(done);
        }
        sleep(1.0);
    }
    Ok(10)
}
// ANCHOR_END: task

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let future = pool.submit(move || ten_steps(&flag)).unwrap();

    sleep(2.5);
    println!(
        "{} kill() on the running task: {}",
        clock.stamp(),
        future.kill()
    );
    stop.store(true, Ordering::Relaxed);
    println!("{} stop flag set", clock.stamp());

    match future.result().unwrap() {
        Ok(n) => println!("{} it did all {n} steps", clock.stamp()),
        Err(n) => println!("{} it stopped itself after {n} of 10 steps", clock.stamp()),
    }
    println!("\n{}", clock.wall_time());
}
// ANCHOR_END: main
