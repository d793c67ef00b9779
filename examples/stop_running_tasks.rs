//! Stopping tasks that run in worker processes: a task that hangs, stopped
//! by its time limit; then a batch where `kill()` stops the slow one. Each
//! time the pool kills that task's worker, starts a fresh one, and goes on.
//!
//! Run it with `cargo run --example stop_running_tasks` (about 7 s).
//! `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock (see `common/mod.rs`).

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{Error, ProcessPoolExecutor, SubmitOptions};

mod common;
use common::{secs, Clock, NAP, TASKS};

pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    hung_task(&clock);
    println!();
    batch(&clock);
    println!("\n{}", clock.wall_time());
}

/// An error's message broken after each `: `, so it fits a page.
fn lines(e: &Error) -> String {
    e.to_string().replace(": ", ":\n      ")
}

// ANCHOR: timeout
/// A task that would sleep 1000 s, allowed 2 s once it runs.
fn hung_task(clock: &Clock) {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let opts = SubmitOptions {
        timeout: Some(secs(2.0)),
    };
    let hung = pool.submit_with(&NAP, 1000, opts).unwrap();
    match hung.result() {
        Ok(x) => println!("{} it finished: {x}", clock.stamp()),
        Err(e) => println!("{} {}", clock.stamp(), lines(&e)),
    }
    // The pool is not broken: a fresh worker runs the next task.
    let next = pool.submit(&NAP, 1).unwrap().result();
    println!("{} the next task: {next:?}", clock.stamp());
}
// ANCHOR_END: timeout

// ANCHOR: kill
/// Four tasks on two workers; the one of 30 s is stopped once the others
/// are done.
fn batch(clock: &Clock) {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let futures: Vec<_> = [1, 2, 30, 2]
        .into_iter()
        .map(|x| pool.submit(&NAP, x).unwrap())
        .collect();
    for (i, f) in futures.iter().enumerate().filter(|(i, _)| *i != 2) {
        let result = f.result();
        println!("{} task {i}: {result:?}", clock.stamp());
    }
    let slow = &futures[2];
    println!("{} the slow one runs: {}", clock.stamp(), slow.running());
    println!("{} kill(): {}", clock.stamp(), slow.kill());
    match slow.result() {
        Ok(x) => println!("{} it finished: {x}", clock.stamp()),
        Err(e) => println!("{} {}", clock.stamp(), lines(&e)),
    }
}
// ANCHOR_END: kill
