//! Twin of the article's §11.1: `as_completed` hands back each future as
//! its task completes, whatever the order they were submitted in.
//!
//! Run it with `cargo run --example s11_1_as_completed` (about 15 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! Task i sleeps i seconds, so completion order happens to be submission
//! order here; nothing else makes it so.

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{as_completed, ProcessPoolExecutor};

mod common;
use common::{Clock, CUBE, TASKS};

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    let mut futures = Vec::new();

    {
        let process_pool = ProcessPoolExecutor::new(5).unwrap();
        for i in 1..=10 {
            futures.push(process_pool.submit(&CUBE, i).unwrap());
        }

        for future in as_completed(&futures) {
            println!("{}", future.unwrap().result().unwrap());
        }
    }

    println!();
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
