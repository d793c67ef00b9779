//! Twin of the article's §2: ten tasks submitted one by one to a pool of
//! five threads, then their results collected in submission order.
//!
//! Run it with `cargo run --example s02_submit_threads` (about 15 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! Five threads share ten tasks of 1 to 10 seconds; run one after another
//! they would take 55 s. Each thread picks up a second task as soon as its
//! first is done, so the names repeat: `Thread_0` runs tasks 1 and 6.

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{cube, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    let thread_pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();

    let mut futures = Vec::new();
    for i in 1..=10 {
        futures.push(thread_pool.submit(move || cube(i)).unwrap());
    }

    let results: Vec<(String, u64)> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("Results : {results:?}\n");

    // Python's code needs this call; in Rust dropping the pool would do it too.
    thread_pool.shutdown();
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
