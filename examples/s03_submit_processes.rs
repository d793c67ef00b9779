//! Twin of the article's §3: §2's ten tasks, submitted to a pool of five
//! processes instead of threads. Same results, same 15 seconds.
//!
//! Run it with `cargo run --example s03_submit_processes` (about 15 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! The workers are this very binary, started again: `serve_if_worker` on the
//! first line of `main` is where they turn into workers and run the tasks of
//! `common::TASKS` by name.

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::ProcessPoolExecutor;

mod common;
use common::{Clock, CUBE, TASKS};

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    let process_pool = ProcessPoolExecutor::new(5).unwrap();

    let mut futures = Vec::new();
    for i in 1..=10 {
        futures.push(process_pool.submit(&CUBE, i).unwrap());
    }

    let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("Results : {results:?}\n");

    process_pool.shutdown();
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
