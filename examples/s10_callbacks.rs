//! Twin of the article's §10: a callback on each future that prints when
//! its task completed. Callbacks run in the parent process, as soon as the
//! result arrives from the worker.
//!
//! Run it with `cargo run --example s10_callbacks` (about 15 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).
//!
//! The article prints the date and time; std has no calendar clock, so the
//! twin prints article seconds since the example started: F-1 at t=1, F-6
//! (which waited one second for a free worker) at t=7.
//!
//! F-10's line often comes after the results: its result wakes the main
//! thread, which prints them, while the pool's thread that set the result
//! goes on to run the callback, and on two cores both run at once. (The
//! article shows it before; Python's interpreter lock usually lets the
//! callback finish first.)

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::ProcessPoolExecutor;

mod common;
use common::{name, Clock, CUBE, TASKS};

// ANCHOR: callback
/// Python's callback reads `future.name`; a Rust callback captures the
/// name instead, along with the clock it reads the time from.
fn done_callback(name: &str, clock: Clock) {
    println!("{name} completed at {}", clock.stamp());
}
// ANCHOR_END: callback

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    let mut futures = Vec::new();

    {
        let process_pool = ProcessPoolExecutor::new(5).unwrap();
        for i in 1..=10 {
            let f = process_pool.submit(&CUBE, i).unwrap();
            let name = name(i);
            f.add_done_callback(move |_| done_callback(&name, clock));
            futures.push(f);
        }

        let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
        println!("\nResults : {results:?}\n");
    }
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
